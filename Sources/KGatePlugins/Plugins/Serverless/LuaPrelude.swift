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

-- OpenResty's print writes to the error log at NOTICE.
function print(...) return ngx.log(ngx.NOTICE, ...) end

-- Kong's sandbox: Lua's safe functions, `kong`, `ngx`, and a `require` that refuses.
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
  require = function(name) error(("require '%s' not allowed within sandbox"):format(tostring(name)), -1) end,
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
  current, current_plugin = serial, plugin
  return (fn())
end

-- Runs a compiled phase for a request (body_filter passes its chunk and gets it back).
function api.invoke(fn, serial, plugin, chunk, eof)
  current, current_plugin = serial, plugin
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
