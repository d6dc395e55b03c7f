/// The Lua half of kgate's PDK, run once in each thread's VM: it builds the `kong` and `ngx`
/// globals from the Swift functions (``LuaPDK``), Kong's sandbox environment, and the helpers
/// the runtime calls (``LuaRuntime``).
///
/// The chunk receives the table of Swift functions (keyed `kong.request.get_header`...), the
/// marker a Swift function returns first to raise an error, the value raised to end a phase
/// early (`kong.response.exit`, `ngx.exit`) and the message of `untrusted_lua = off`. It
/// returns the runtime's API table.
enum LuaPrelude {
    static let source = #"""
local raw, RAISE, EXIT, OFF_MESSAGE = ...
local api = {}
local type, error, pairs, ipairs, setmetatable, tostring, select = type, error, pairs, ipairs, setmetatable, tostring, select

-- OpenResty's table extensions, which Kong's sandbox lists.
if not table.new then table.new = function() return {} end end
if not table.clear then table.clear = function(t) for k in pairs(t) do t[k] = nil end end end
table.clone = table.clone or function(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
table.nkeys = table.nkeys or function(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
table.isempty = table.isempty or function(t) return next(t) == nil end
table.isarray = table.isarray or function(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
  end
  for i = 1, n do if t[i] == nil then return false end end
  return true
end
table.pack = table.pack or function(...) return { n = select("#", ...), ... } end
table.unpack = table.unpack or unpack

-- The Swift functions, raising their errors where the caller is.
local function checked(first, ...)
  if first == RAISE then error((...), 2) end
  return first, ...
end
local function wrap(f)
  return function(...) return checked(f(...)) end
end

kong = { ctx = {}, version = raw.version, version_num = raw.version_num }
ngx = { null = raw.null, arg = {}, req = {}, re = {}, worker = {}, config = { subsystem = "http" } }
for name, f in pairs(raw) do
  if type(f) == "function" then
    local t, last = _G, nil
    for part in name:gmatch("[^.]+") do
      if last then
        t[last] = t[last] or {}
        t = t[last]
      end
      last = part
    end
    t[last] = wrap(f)
  end
end

-- Request-scoped tables: kong.ctx.shared, kong.ctx.plugin, ngx.ctx.
local requests, current, current_plugin = {}, nil, nil
local function request()
  local r = requests[current]
  if not r then
    r = { shared = {}, ngx = {}, plugins = {} }
    if current then requests[current] = r end
  end
  return r
end
setmetatable(kong.ctx, { __index = function(_, k)
  local r = request()
  if k == "shared" then return r.shared end
  if k == "plugin" then
    local p = r.plugins[current_plugin]
    if not p then p = {} r.plugins[current_plugin] = p end
    return p
  end
end })

-- Ending a phase early.
local raw_exit, raw_error = kong.response.exit, kong.response.error
function kong.response.exit(status, body, headers)
  raw_exit(status, body, headers)
  if ngx.get_phase() ~= "header_filter" then error(EXIT, 0) end
end
function kong.response.error(status, message, headers)
  raw_error(status, message, headers)
  if ngx.get_phase() ~= "header_filter" then error(EXIT, 0) end
end
local raw_ngx_exit = ngx.exit
function ngx.exit(status)
  raw_ngx_exit(status)
  error(EXIT, 0)
end
function ngx.say(...) ngx.print(...) ngx.print("\n") return 1 end
local raw_print = ngx.print
function ngx.print(...)
  local parts = {}
  local function add(v)
    if type(v) == "table" then for _, e in ipairs(v) do add(e) end
    elseif v == nil then parts[#parts + 1] = "nil"
    elseif v == ngx.null then parts[#parts + 1] = "null"
    else parts[#parts + 1] = tostring(v) end
  end
  for i = 1, select("#", ...) do add((select(i, ...))) end
  raw_print(table.concat(parts))
  return 1
end

-- kong.response.get_raw_body / set_raw_body in body_filter: the chunks are kept until the
-- last one, and the whole body is given then.
function kong.response.get_raw_body()
  local r = request()
  local buffered = r.body_chunks or {}
  r.body_chunks = buffered
  local chunk, eof = ngx.arg[1], ngx.arg[2]
  if chunk and chunk ~= "" then buffered[#buffered + 1] = chunk end
  if eof then
    local body = table.concat(buffered)
    r.body_chunks = nil
    return body
  end
  ngx.arg[1] = nil
  return nil
end
function kong.response.set_raw_body(body)
  if type(body) ~= "string" then error("body must be a string", 2) end
  ngx.arg[1] = body
  ngx.arg[2] = true
end

-- ngx's magic fields.
local var_get, var_set = ngx.var_get, ngx.var_set
ngx.var_get, ngx.var_set = nil, nil
ngx.var = setmetatable({}, {
  __index = function(_, k) return var_get(k) end,
  __newindex = function(_, k, v) var_set(k, v) end,
})
local header_get, header_set = ngx.header_get, ngx.header_set
ngx.header_get, ngx.header_set = nil, nil
ngx.header = setmetatable({}, {
  __index = function(_, k) return header_get(k) end,
  __newindex = function(_, k, v) header_set(k, v) end,
})
local status_get, status_set = ngx.status_get, ngx.status_set
ngx.status_get, ngx.status_set = nil, nil
setmetatable(ngx, {
  __index = function(_, k)
    if k == "status" then return status_get() end
    if k == "ctx" then return request().ngx end
  end,
  __newindex = function(t, k, v)
    if k == "status" then return status_set(v) end
    if k == "ctx" then request().ngx = v return end
    rawset(t, k, v)
  end,
})
for name, value in pairs(raw.constants) do ngx[name] = value end

-- lua-cjson: its null is ngx.null, and `require "cjson"` / `"cjson.safe"` give the globals.
cjson.null, cjson.safe.null = ngx.null, ngx.null
package.preload["cjson"] = function() return cjson end
package.preload["cjson.safe"] = function() return cjson.safe end

function ngx.re.gmatch(subject, regex, options)
  local pos, done = 1, false
  return function()
    if done then return nil end
    local m, after = ngx.re.match_at(subject, regex, options, pos)
    if not m then done = true return nil end
    pos = after
    return m
  end
end

-- kong.cache: a worker-level cache (this thread's), as mlcache's first level serves it.
local cache_store = {}
local function cache_entry(key)
  local e = cache_store[key]
  if e and e.expires and e.expires <= ngx.now() then cache_store[key] = nil return nil end
  return e
end
kong.cache = {
  get = function(_, key, opts, cb, ...)
    local e = cache_entry(key)
    if e then return e.value, nil, 1 end
    if cb == nil then return nil end
    local ok, value, err = pcall(cb, ...)
    if not ok then return nil, value end
    if err then return nil, err end
    local ttl = type(opts) == "table" and opts.ttl or nil
    cache_store[key] = { value = value, expires = ttl and ttl > 0 and ngx.now() + ttl or nil }
    return value, nil, 3
  end,
  probe = function(_, key)
    local e = cache_entry(key)
    if not e then return nil end
    return e.expires and (e.expires - ngx.now()) or 0, nil, e.value
  end,
  safe_set = function(_, key, value) cache_store[key] = { value = value } return true end,
  invalidate = function(_, key) cache_store[key] = nil return true end,
  invalidate_local = function(_, key) cache_store[key] = nil return true end,
  purge = function() cache_store = {} return true end,
}
kong.core_cache = kong.cache

-- Request-scoped logs for OpenTelemetry's logs_endpoint (Kong's kong.observability.logs):
-- what kong.log and ngx.log write during a request at or above the node's log_level, with
-- where the code called them.
local getinfo, time_ns = debug.getinfo, kgate.time_ns
kgate = nil
local LEVELS = { debug = 8, info = 7, notice = 6, warn = 5, error = 4, crit = 3, alert = 2, emerg = 1 }
local function push_log(stack_level, level, ...)
  if not current or type(level) ~= "number" then return end
  local conf = kong.configuration
  if (LEVELS[conf and conf.log_level or "notice"] or 6) < level then return end
  local r = request()
  local logs = r.logs
  if not logs then logs = {} r.logs = logs end
  if #logs >= 1000 then return end
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    parts[i] = v == ngx.null and "nil" or tostring(v)
  end
  local info = getinfo(stack_level, "nSl") or {}
  logs[#logs + 1] = {
    level = level, body = table.concat(parts), time = time_ns(), line = info.currentline, name = info.name,
    namewhat = info.namewhat, source = info.source, what = info.what,
  }
end
for name, level in pairs({ debug = 8, info = 7, notice = 6, warn = 5, err = 4, crit = 3, alert = 2, emerg = 1 }) do
  local write = kong.log[name]
  kong.log[name] = function(...)
    push_log(3, level, ...)
    return write(...)
  end
end
local ngx_log = ngx.log
function ngx.log(level, ...)
  push_log(3, level, ...)
  return ngx_log(level, ...)
end

function api.request_logs(serial)
  local r = requests[serial]
  return r and r.logs
end

kong.table = {
  new = table.new,
  clear = table.clear,
  merge = function(t1, t2)
    local merged = {}
    if t1 then for k, v in pairs(t1) do merged[k] = v end end
    if t2 then for k, v in pairs(t2) do merged[k] = v end end
    return merged
  end,
}

-- Waiting for I/O (ngx.sleep, resty.http, ngx.timer): code of `access` and of timers runs in
-- a coroutine; a wait yields WAIT and what to wait for, and kgate resumes the coroutine with
-- the results once the I/O ended, other requests running meanwhile.
local WAIT = {}
api.wait = WAIT
local co_create, co_resume, co_yield, co_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status
local pack, unpack = table.pack, unpack
local waitable = false
local function wait(what, ...)
  if not waitable then
    local phase = ngx.get_phase()
    if phase == "rewrite" then
      error("kgate runs rewrite code without waiting for I/O: move this code to access", 3)
    end
    error("API disabled in the context of " .. phase .. "_by_lua*", 3)
  end
  local serial, plugin = current, current_plugin
  local results = pack(co_yield(WAIT, what, ...))
  current, current_plugin, waitable = serial, plugin, true
  return unpack(results, 1, results.n)
end
-- The code's own coroutines pass kgate's waits up to the phase's, as OpenResty's do.
local function passing(co, ok, first, ...)
  if ok and first == WAIT and co_status(co) == "suspended" then
    return passing(co, co_resume(co, co_yield(WAIT, ...)))
  end
  return ok, first, ...
end
function coroutine.resume(co, ...) return passing(co, co_resume(co, ...)) end
function coroutine.wrap(f)
  local co = co_create(f)
  return function(...)
    local results = pack(coroutine.resume(co, ...))
    if not results[1] then error(results[2], 0) end
    return unpack(results, 2, results.n)
  end
end

function ngx.sleep(seconds)
  local s = tonumber(seconds)
  if not s or s < 0 then error("bad argument #1 to 'sleep' (number expected, got " .. type(seconds) .. ")", 2) end
  wait("sleep", s)
end

-- ngx.timer: callbacks run on this event loop after the delay, in a coroutine of their own
-- (they can wait), with no request; `premature` is false.
local timers, timer_count, running_timers = {}, 0, 0
local pending_timers = 0
local timer_schedule = ngx.timer_schedule
ngx.timer_schedule = nil
local function add_timer(name, delay, callback, every, ...)
  local d = tonumber(delay)
  if not d or d < 0 then error("bad argument #1 to '" .. name .. "' (number expected, got " .. type(delay) .. ")", 3) end
  if type(callback) ~= "function" then
    error("bad argument #2 to '" .. name .. "' (function expected, got " .. type(callback) .. ")", 3)
  end
  if every and d == 0 then return nil, "delay cannot be zero" end
  timer_count = timer_count + 1
  local id = timer_count
  timers[id] = { callback = callback, args = pack(...), every = every and d or nil }
  local ok, err = timer_schedule(id, d)
  if not ok then timers[id] = nil return nil, err end
  pending_timers = pending_timers + 1
  return true
end
ngx.timer = {
  at = function(delay, callback, ...) return add_timer("at", delay, callback, false, ...) end,
  every = function(delay, callback, ...) return add_timer("every", delay, callback, true, ...) end,
  running_count = function() return running_timers end,
  pending_count = function() return pending_timers end,
}
function api.run_timer(id, premature)
  local t = timers[id]
  if not t then return end
  pending_timers = pending_timers - 1
  if t.every and not premature then
    if timer_schedule(id, t.every) then pending_timers = pending_timers + 1 else timers[id] = nil end
  else
    timers[id] = nil
  end
  current, current_plugin, waitable = nil, nil, true
  running_timers = running_timers + 1
  local results = pack(pcall(t.callback, premature, unpack(t.args, 1, t.args.n)))
  running_timers = running_timers - 1
  if not results[1] then error(results[2], 0) end
end

-- lua-resty-http's client, over kgate's HTTP/1.1 client: request_uri, and connect + request
-- (the body read whole).
local http_mt = {}
http_mt.__index = http_mt
local resty_http = { _VERSION = "0.17.2" }
function resty_http.new() return setmetatable({ timeouts = { 60000, 60000, 60000 } }, http_mt) end
function http_mt:set_timeout(ms) self.timeouts = { ms, ms, ms } end
function http_mt:set_timeouts(connect, send, read)
  self.timeouts = { connect or 60000, send or 60000, read or 60000 }
  return 1
end
function http_mt:set_proxy_options() end
function http_mt:close() self.connected = nil return 1 end
function http_mt:set_keepalive() self.connected = nil return 1 end
function http_mt:get_reused_times() return 0 end
function http_mt:parse_uri(uri, query_in_path)
  local scheme, rest = tostring(uri):match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "bad uri: " .. tostring(uri) end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil, "bad uri: " .. uri end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  authority = authority:gsub("^.*@", "")
  local host, port = authority:match("^%[(.-)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]*):?(%d*)$") end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  path = path:gsub("#.*$", "")
  local query = ""
  if query_in_path == false then
    local p, q = path:match("^([^?]*)%??(.*)$")
    path, query = p, q
  end
  if path == "" then path = "/" end
  if path:sub(1, 1) == "?" then path = "/" .. path end
  return { scheme, host, port, path, query }
end
function http_mt:connect(options, port)
  if type(options) ~= "table" then
    options = { host = options, port = port, scheme = "http" }
  end
  if type(options.host) ~= "string" then return nil, "host must be a string" end
  self.connected = {
    scheme = options.scheme or "http", host = options.host,
    port = tonumber(options.port) or (options.scheme == "https" and 443 or 80),
    ssl_verify = options.ssl_verify, ssl_server_name = options.ssl_server_name,
  }
  return 1
end
function http_mt:ssl_handshake(_, server_name, verify)
  if not self.connected then return nil, "closed" end
  self.connected.scheme, self.connected.ssl_verify = "https", verify
  self.connected.ssl_server_name = server_name
  return true
end
local function encode_query(query)
  if type(query) ~= "table" then return query end
  return ngx.encode_args(query)
end
local function header_table(raw_headers)
  local headers = {}
  for name, value in pairs(raw_headers) do headers[name] = value end
  return setmetatable(headers, { __index = function(t, k)
    if type(k) ~= "string" then return nil end
    local lower = k:lower():gsub("_", "-")
    for name, value in pairs(t) do
      if name:lower() == lower then return value end
    end
  end })
end
local function send(self, target, params)
  local query = encode_query(params.query)
  local path = params.path or "/"
  if query and query ~= "" then
    path = path .. (path:find("?", 1, true) and "&" or "?") .. query
  end
  local headers = {}
  for name, value in pairs(params.headers or {}) do headers[name] = value end
  local body = params.body
  if type(body) == "table" then body = table.concat(body) end
  if body ~= nil and type(body) ~= "string" then return nil, "body must be a string or a table of strings" end
  local verify = params.ssl_verify
  if verify == nil then verify = target.ssl_verify end
  local status, reason, raw_headers, response_body = wait("http", {
    method = params.method or "GET", scheme = target.scheme, host = target.host, port = target.port,
    path = path, headers = headers, body = body, ssl_verify = verify ~= false,
    timeout = math.max(self.timeouts[1] or 60000, self.timeouts[2] or 60000, self.timeouts[3] or 60000),
  })
  if not status then return nil, reason end
  return {
    status = status, reason = reason, headers = header_table(raw_headers), body = response_body,
    has_body = response_body ~= "",
  }
end
function http_mt:request_uri(uri, params)
  params = params or {}
  local parsed, err = self:parse_uri(uri, false)
  if not parsed then return nil, err end
  local scheme, host, port, path, query = unpack(parsed)
  if not params.path then params.path = path end
  if not params.query and query ~= "" then params.query = query end
  local res, send_err = send(self, { scheme = scheme, host = host, port = port }, params)
  self.connected = nil
  return res, send_err
end
function http_mt:request(params)
  if not self.connected then return nil, "closed" end
  local res, err = send(self, self.connected, params or {})
  if not res then return nil, err end
  local body = res.body
  res.body = nil
  res.read_body = function() return body end
  res.body_reader = function()
    local chunk = body
    body = nil
    return chunk
  end
  return res
end
package.loaded["resty.http"] = resty_http

-- ngx.shared: the node's shared dictionaries (Kong's own and `nginx_http_lua_shared_dict`'s),
-- one store for every event loop.
local dict_mt = {}
dict_mt.__index = dict_mt
for _, op in ipairs({ "get", "get_stale", "set", "safe_set", "add", "safe_add", "replace", "delete", "incr",
  "lpush", "rpush", "lpop", "rpop", "llen", "ttl", "expire", "flush_all", "flush_expired", "get_keys",
  "capacity", "free_space" }) do
  local f = ngx.shared_dict[op]
  dict_mt[op] = function(self, ...)
    if type(self) ~= "table" or not self.name then
      error("bad \"zone\" argument", 2)
    end
    return f(self.name, ...)
  end
end
local dict_exists = ngx.shared_dict.exists
ngx.shared_dict = nil
ngx.shared = setmetatable({}, { __index = function(t, name)
  if type(name) ~= "string" or not dict_exists(name) then return nil end
  local dict = setmetatable({ name = name }, dict_mt)
  rawset(t, name, dict)
  return dict
end })

-- OpenResty's print writes to the error log at NOTICE.
function print(...) return ngx.log(ngx.NOTICE, ...) end

-- Kong's sandbox: Lua's safe functions, `kong`, `ngx`, and a `require` that refuses modules
-- the node does not list.
local SAFE = [[
_VERSION assert error ipairs next pairs pcall print select tonumber tostring type unpack xpcall
bit.arshift bit.band bit.bnot bit.bor bit.bswap bit.bxor bit.lshift bit.rol bit.ror bit.rshift
bit.tobit bit.tohex
coroutine.create coroutine.resume coroutine.running coroutine.status coroutine.wrap coroutine.yield
io.type
jit.os jit.arch jit.version jit.version_num
math.abs math.acos math.asin math.atan math.atan2 math.ceil math.cos math.cosh math.deg math.exp
math.floor math.fmod math.frexp math.huge math.ldexp math.log math.log10 math.max math.min math.modf
math.pi math.pow math.rad math.random math.sin math.sinh math.sqrt math.tan math.tanh
os.clock os.date os.difftime os.time
string.byte string.char string.find string.format string.gmatch string.gsub string.len string.lower
string.match string.rep string.reverse string.sub string.upper
table.clear table.clone table.concat table.foreach table.foreachi table.getn table.insert
table.isarray table.isempty table.maxn table.move table.new table.nkeys table.pack table.remove
table.sort table.unpack
]]
local safe = {}
for name in SAFE:gmatch("%S+") do
  local module, field = name:match("^([^.]+)%.(.+)$")
  if module then
    local source = _G[module]
    if source and source[field] ~= nil then
      safe[module] = safe[module] or {}
      safe[module][field] = source[field]
    end
  elseif _G[name] ~= nil then
    safe[name] = _G[name]
  end
end
local sandbox_globals = {
  -- `untrusted_lua_sandbox_requires` lists the modules sandboxed code may require.
  require = function(name)
    local conf = kong.configuration
    local allowed = conf and conf.untrusted_lua_sandbox_requires
    if type(allowed) == "string" then allowed = { allowed } end
    if type(allowed) == "table" then
      for _, module in ipairs(allowed) do
        if module == name then return require(name) end
      end
    end
    error(("require '%s' not allowed within sandbox"):format(tostring(name)), -1)
  end,
  kong = kong,
  ngx = ngx,
}
sandbox_globals._G = sandbox_globals
local sandbox_mt = { __index = sandbox_globals }
local open_mt = { __index = _G }

local function environment(mode)
  if mode ~= "sandbox" then return setmetatable({}, open_mt) end
  local env = {}
  for k, v in pairs(safe) do env[k] = v end
  return setmetatable(env, sandbox_mt)
end

-- One phase's code strings as one function, as Kong's serverless handler makes it: a chunk
-- runs whole on each request, unless its first run returns a function, which is then what
-- runs (its upvalues live as long as the config).
function api.compile(codes, mode)
  local list = {}
  for i, code in ipairs(codes) do
    local chunk, err = api.load(code, mode)
    if not chunk then return nil, err end
    local fn = chunk
    local first_done = false
    list[i] = function()
      if first_done then
        -- The first run ended early (an exit): from now on the chunk itself runs.
        list[i] = fn
        return fn()
      end
      first_done = true
      local result = fn()
      if type(result) == "function" then
        fn = result
        list[i] = fn
        fn()
      end
      list[i] = fn
    end
  end
  return function()
    for _, f in ipairs(list) do f() end
  end
end

-- One chunk in its environment (a custom_fields_by_lua expression, a phase's string).
function api.load(code, mode)
  if mode == "off" then return nil, OFF_MESSAGE end
  return load(code, nil, "t", environment(mode))
end

-- Runs a chunk for a request and gives its first result.
function api.evaluate(fn, serial, plugin)
  current, current_plugin, waitable = serial, plugin, false
  return (fn())
end

-- Runs a compiled phase for a request (body_filter passes its chunk and gets it back).
function api.invoke(fn, serial, plugin, chunk, eof, can_wait)
  current, current_plugin, waitable = serial, plugin, can_wait == true
  if chunk ~= nil then ngx.arg[1], ngx.arg[2] = chunk, eof end
  fn()
  if chunk ~= nil then return ngx.arg[1], ngx.arg[2] end
end

function api.release(serial)
  requests[serial] = nil
end

return api
"""#
}
