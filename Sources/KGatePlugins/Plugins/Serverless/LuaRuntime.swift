import CLuaJIT
import KGateLua
import KGateSchema
import Synchronization

/// kgate's Lua runtime on one thread: the thread's ``LuaVM`` with Kong's `kong` and `ngx`
/// globals (``LuaPrelude`` over ``LuaPDK``), the functions compiled from each config, and the
/// request running.
///
/// A request's phases all run on its event loop, so they all see the same runtime: its
/// `kong.ctx` and `ngx.ctx` tables live here from the first phase that runs Lua to the end of
/// the request (``LuaRequestTables``).
final class LuaRuntime {
    /// The thread's VM.
    let vm: LuaVM
    /// The prelude's API table, the raise marker and the early-exit value.
    private var apiRef: Int32 = 0
    private(set) var raiseRef: Int32 = 0
    private(set) var exitRef: Int32 = 0
    private(set) var invokeRef: Int32 = 0
    /// The value a coroutine yields first to wait (the prelude's `WAIT`).
    private(set) var waitRef: Int32 = 0
    /// The prelude's `run_timer`.
    private(set) var runTimerRef: Int32 = 0
    private var compileRef: Int32 = 0
    private var releaseRef: Int32 = 0
    private var loadRef: Int32 = 0
    private var evaluateRef: Int32 = 0
    private var requestLogsRef: Int32 = 0
    /// The context of the phase running, while a phase runs.
    var context: UnsafeMutablePointer<PluginContext>?
    /// What `ngx.print` and `ngx.say` wrote in the phase running.
    var output: [UInt8]?
    /// The node's id (`kong.node.get_id()`), from the config running.
    var nodeID: String?
    /// The settings `kong.configuration` holds now.
    private(set) weak var installedSettings: LuaNodeSettings?
    /// Request tables the proxy let go of, freed before the next call.
    let releases = LuaReleaseQueue()
    private var nextSerial = 0
    /// Coroutines waiting for I/O, by id (``LuaRuntime/start(_:arguments:serial:)``).
    var coroutines: [Int: LuaCoroutine] = [:]
    var nextCoroutine = 0
    /// Threads that finished, ready to run another function.
    var idleThreads: [(ref: Int32, thread: OpaquePointer)] = []
    private var compiled: [ObjectIdentifier: CompiledConfig] = [:]
    /// Single chunks by mode and code (``evaluate(_:mode:plugin:_:)``).
    private var chunks: [String: Int32] = [:]

    /// The calling thread's runtime.
    static var current: LuaRuntime {
        if let runtime = perThread.value { return runtime }
        let runtime = LuaRuntime(vm: LuaVM.current)
        perThread.value = runtime
        return runtime
    }

    private static let perThread = ThreadLocalReference<LuaRuntime>()

    private init(vm: LuaVM) {
        self.vm = vm
        let s = vm.stack
        s.newTable()
        raiseRef = s.ref()
        s.newTable()
        exitRef = s.ref()
        let this = Unmanaged.passUnretained(self).toOpaque()
        guard s.load(LuaPrelude.source, chunkName: "=kgate.pdk") == nil else { fatalError("kgate's Lua prelude does not compile") }
        LuaPDK.pushFunctions(s, runtime: this)
        s.push(ref: raiseRef)
        s.push(ref: exitRef)
        s.push(PluginConstants.untrustedLuaDisabled)
        if let error = s.call(arguments: 4, results: 1) { fatalError("kgate's Lua prelude failed: \(error)") }
        apiRef = s.ref()
        let api = apiRef
        func field(_ name: String) -> Int32 {
            s.push(ref: api)
            s.getField(name, in: -1)
            let ref = s.ref()
            s.pop()
            return ref
        }
        invokeRef = field("invoke")
        compileRef = field("compile")
        releaseRef = field("release")
        loadRef = field("load")
        evaluateRef = field("evaluate")
        requestLogsRef = field("request_logs")
        waitRef = field("wait")
        runTimerRef = field("run_timer")
    }

    /// The runtime behind a function ``LuaPDK`` registered (its first upvalue).
    static func of(_ state: OpaquePointer) -> LuaRuntime {
        Unmanaged<LuaRuntime>.fromOpaque(lua_touserdata(state, kgate_lua_upvalueindex(1))!).takeUnretainedValue()
    }

    // MARK: Compiling

    /// The compiled phases of a config (compiled on first use, kept while the config lives).
    private func functions(of config: ServerlessConfig) throws(LuaPhaseError) -> CompiledConfig {
        let key = ObjectIdentifier(config)
        if let entry = compiled[key], entry.config === config { return entry }
        pruneCompiled()
        var entry = CompiledConfig(config: config)
        let s = vm.stack
        for (phase, codes) in config.code where !codes.isEmpty {
            s.push(ref: compileRef)
            s.newTable(array: codes.count)
            for (i, code) in codes.enumerated() {
                s.push(code)
                s.setIndex(i + 1, in: -2)
            }
            s.push(config.mode.rawValue)
            if let error = s.call(arguments: 2, results: 2) {
                entry.release(in: s)
                throw LuaPhaseError(message: error)
            }
            if s.type(at: -2) != .function {
                let message = s.string(at: -1) ?? "could not compile"
                s.pop(2)
                entry.release(in: s)
                throw LuaPhaseError(message: message)
            }
            s.pop()
            entry.phases[phase] = s.ref()
        }
        compiled[key] = entry
        return entry
    }

    /// Lets go of the functions of configs that are gone (an older generation's).
    private func pruneCompiled() {
        let s = vm.stack
        for (key, entry) in compiled where entry.config == nil {
            entry.release(in: s)
            compiled[key] = nil
        }
    }

    // MARK: Running

    /// Runs a config's code for `phase` with the request's context; `chunk` and `last` are the
    /// body chunk of `body_filter`, which the code may replace. Code of `access` runs in a
    /// coroutine and may wait for I/O (``LuaWait``): the plugin's access then waits
    /// (``PluginContext/wait(for:then:)``) and the code goes on when the I/O ended.
    func run(
        _ config: ServerlessConfig, _ phase: PluginPhase, plugin: String, _ ctx: inout PluginContext,
        chunk: UnsafeMutablePointer<[UInt8]>? = nil, last: Bool = false
    ) throws(LuaPhaseError) {
        freeReleasedRequests()
        guard let function = try functions(of: config).phases[phase] else { return }
        let serial = requestSerial(&ctx)
        nodeID = config.nodeID
        if installedSettings !== config.settings { install(config.settings) }
        if phase == .access {
            let id = start(invokeRef, arguments: { s in
                s.push(ref: function)
                s.push(serial)
                s.push(plugin)
                s.pushNil()
                s.pushNil()
                s.push(true)
                return 6
            }, serial: serial)
            return try advance(id, resumedWith: .resumed, phase: phase, &ctx)
        }
        let s = vm.stack
        let top = s.top
        defer { s.setTop(top) }
        s.push(ref: invokeRef)
        s.push(ref: function)
        s.push(serial)
        s.push(plugin)
        var arguments: Int32 = 3
        if let chunk {
            s.push(bytes: chunk.pointee)
            s.push(last)
            arguments = 5
        }
        output = nil
        let ok = withUnsafeMutablePointer(to: &ctx) { pointer in
            context = pointer
            defer { context = nil }
            return s.protectedCall(arguments: arguments, results: chunk == nil ? 0 : 2)
        }
        answerOutput(phase, &ctx)
        guard ok else {
            s.push(ref: exitRef)
            if s.rawEqual(-1, -2) { return }
            s.pop()
            throw LuaPhaseError(message: s.string(at: -1) ?? "(error object is a \(s.typeName(at: -1)) value)")
        }
        if let chunk {
            chunk.pointee = s.bytes(at: -2) ?? []
        }
    }

    /// What `ngx.say` / `ngx.print` wrote in `rewrite` or `access` answers the request (with
    /// `ngx.status`, else 200), unless the code exited.
    func answerOutput(_ phase: PluginPhase, _ ctx: inout PluginContext) {
        guard let written = output else { return }
        output = nil
        if ctx.exitResponse == nil, phase == .access || phase == .rewrite {
            let status = ctx.response.status >= 200 ? ctx.response.status : 200
            ctx.answer(status, body: .bytes(written))
        }
    }

    /// Runs one chunk of code (a `custom_fields_by_lua` expression) for the request and
    /// returns its result as a value (nil for nil or a value JSON cannot hold). Each chunk is
    /// compiled once per runtime.
    func evaluate(_ code: String, mode: LuaCodeMode, plugin: String, _ ctx: inout PluginContext) throws(LuaPhaseError) -> Value? {
        freeReleasedRequests()
        let s = vm.stack
        let top = s.top
        defer { s.setTop(top) }
        let key = mode.rawValue + "\u{0}" + code
        let function: Int32
        if let cached = chunks[key] {
            function = cached
        } else {
            s.push(ref: loadRef)
            s.push(code)
            s.push(mode.rawValue)
            if let error = s.call(arguments: 2, results: 2) { throw LuaPhaseError(message: error) }
            guard s.type(at: -2) == .function else { throw LuaPhaseError(message: s.string(at: -1) ?? "could not compile") }
            s.pop()
            if chunks.count >= 1024 {
                for ref in chunks.values { s.unref(ref) }
                chunks.removeAll()
            }
            function = s.ref()
            chunks[key] = function
        }
        let serial = requestSerial(&ctx)
        s.push(ref: evaluateRef)
        s.push(ref: function)
        s.push(serial)
        s.push(plugin)
        let ok = withUnsafeMutablePointer(to: &ctx) { pointer in
            context = pointer
            defer { context = nil }
            return s.protectedCall(arguments: 3, results: 1)
        }
        guard ok else { throw LuaPhaseError(message: s.string(at: -1) ?? "(error object is a \(s.typeName(at: -1)) value)") }
        return s.value(at: -1)
    }

    /// What the request's Lua logged with `kong.log` and `ngx.log` at or above the node's
    /// `log_level` (at most 1000 entries), for OpenTelemetry's `logs_endpoint`.
    func requestLogs(_ ctx: PluginContext) -> [LuaLogRecord] {
        guard let tables = ctx.luaTables, tables.releases === releases else { return [] }
        let s = vm.stack
        let top = s.top
        defer { s.setTop(top) }
        s.push(ref: requestLogsRef)
        s.push(tables.serial)
        guard s.call(arguments: 1, results: 1) == nil, case .array(let entries)? = s.value(at: -1) else { return [] }
        return entries.compactMap { entry in entry.objectValue.flatMap(LuaLogRecord.init) }
    }

    /// Sets `kong.configuration` to a node's settings.
    private func install(_ settings: LuaNodeSettings) {
        let s = vm.stack
        s.getGlobal("kong")
        s.push(.object(settings.configuration))
        s.setField("configuration", in: -2)
        s.pop()
        installedSettings = settings
    }

    /// The request's serial in this runtime: its tables' key.
    private func requestSerial(_ ctx: inout PluginContext) -> Int {
        if let tables = ctx.luaTables, tables.releases === releases { return tables.serial }
        nextSerial += 1
        ctx.luaTables = LuaRequestTables(serial: nextSerial, releases: releases)
        return nextSerial
    }

    func freeReleasedRequests() {
        let serials = releases.take()
        guard !serials.isEmpty else { return }
        let s = vm.stack
        let released = Set(serials)
        for (id, coroutine) in coroutines where coroutine.serial.map(released.contains) == true {
            // A request that ended while its code waited (the client left).
            finish(id)
        }
        for serial in serials {
            s.push(ref: releaseRef)
            s.push(serial)
            _ = s.call(arguments: 1, results: 0)
        }
    }
}

/// Kong's `untrusted_lua`: whether and how code from configs runs.
public enum LuaCodeMode: String, Sendable {
    /// No Lua runs (code fails where Kong's fails: at validation or at each run).
    case off
    /// Kong's sandbox: Lua's safe functions, `kong` and `ngx`, no `require`.
    case sandbox
    /// Every global.
    case on
}

/// The node's settings as Lua code reads them (`kong.configuration`, sensitive values hidden),
/// one value per node.
public final class LuaNodeSettings: Sendable {
    let configuration: Object
    /// `trusted_ips` (`kong.ip.is_trusted`).
    let trustedIPs: [CIDR]

    /// Settings as `GET /` shows them (none when nil).
    public init(configuration: Object? = nil) {
        self.configuration = configuration ?? Object()
        trustedIPs = (self.configuration["trusted_ips"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(CIDR.init) }
        // The node's own `lua_shared_dict` zones (`ngx.shared`).
        LuaSharedDicts.shared.declare(self.configuration["nginx_http_lua_shared_dict"]?.stringValue)
    }
}

/// One `kong.log` / `ngx.log` call of a request's Lua (Kong's o11y log entry).
struct LuaLogRecord: Sendable {
    /// nginx's level (`ngx.INFO` is 7).
    let level: Int
    let body: String
    let timeNanos: UInt64
    /// Where the code called: `debug.getinfo`'s `currentline`, `name`, `namewhat`, `source`
    /// (the chunk's text for config code) and `what`.
    let line: Int?
    let name: String?
    let namewhat: String?
    let source: String?
    let what: String?

    init?(_ entry: Object) {
        guard let level = entry["level"]?.integerValue, let body = entry["body"]?.stringValue else { return nil }
        self.level = level
        self.body = body
        timeNanos = UInt64(max(0, entry["time"]?.doubleValue ?? 0))
        line = entry["line"]?.integerValue
        name = entry["name"]?.stringValue
        namewhat = entry["namewhat"]?.stringValue
        source = entry["source"]?.stringValue
        what = entry["what"]?.stringValue
    }
}

/// A config's compiled phases in one runtime.
private struct CompiledConfig {
    weak var config: ServerlessConfig?
    var phases: [PluginPhase: Int32] = [:]

    init(config: ServerlessConfig) { self.config = config }

    func release(in stack: LuaStack) {
        for ref in phases.values { stack.unref(ref) }
    }
}

/// An error the Lua code raised (or a compile error), with Lua's message.
struct LuaPhaseError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A request's Lua tables (`kong.ctx.shared`, `kong.ctx.plugin`, `ngx.ctx`): they are freed
/// in their runtime once the request's context is gone.
final class LuaRequestTables: Sendable {
    let serial: Int
    let releases: LuaReleaseQueue

    init(serial: Int, releases: LuaReleaseQueue) {
        self.serial = serial
        self.releases = releases
    }

    deinit { releases.add(serial) }
}

/// The serials of requests whose tables can go, from whichever thread ended them.
final class LuaReleaseQueue: Sendable {
    private let serials = Mutex<[Int]>([])

    func add(_ serial: Int) { serials.withLock { $0.append(serial) } }

    func take() -> [Int] {
        serials.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
    }
}
