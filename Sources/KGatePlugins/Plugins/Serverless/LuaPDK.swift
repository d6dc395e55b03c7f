import CLuaJIT
import KGateLua
import KGateSchema

/// The Swift functions of kgate's Lua PDK, by the Lua name ``LuaPrelude`` files them under
/// (`kong.request.get_header`, `ngx.req.get_method`, ...).
///
/// Each is a Swift closure called through one C trampoline (its index is the C closure's
/// upvalue). A function reads its arguments from the stack and pushes its results; to raise
/// an error it returns ``LuaCall/raise(_:)``, which the prelude turns into a Lua `error` in the
/// caller, so no Lua error ever unwinds Swift frames.
enum LuaPDK {
    /// A PDK function: returns the number of values it pushed.
    typealias Function = @Sendable (LuaCall) -> Int32

    /// Every function, in registration order.
    static let functions: [(name: String, function: Function)] =
        request + client + serviceRequest + service + response + router + log + node + ngxRequest + ngxResponse
        + LuaNgxLibrary.functions + LuaTimers.functions + LuaSharedDictFunctions.functions

    /// Pushes the table of functions (and `null`, `constants`, `version`, `version_num`) that
    /// the prelude receives; each function's first upvalue is `runtime`.
    static func pushFunctions(_ s: LuaStack, runtime: UnsafeMutableRawPointer) {
        s.newTable(record: functions.count + 4)
        for (index, entry) in functions.enumerated() {
            lua_pushlightuserdata(s.state, runtime)
            s.push(index)
            s.push(function: trampoline, upvalues: 2)
            s.setField(entry.name, in: -2)
        }
        s.pushNull()
        s.setField("null", in: -2)
        s.push(PluginConstants.kongVersion)
        s.setField("version", in: -2)
        s.push(versionNumber(PluginConstants.kongVersion))
        s.setField("version_num", in: -2)
        s.newTable(record: LuaNgxConstants.all.count)
        for (name, value) in LuaNgxConstants.all {
            s.push(value)
            s.setField(name, in: -2)
        }
        s.setField("constants", in: -2)
    }

    private static let trampoline: lua_CFunction = { state in
        guard let state else { return 0 }
        let index = Int(lua_tonumber(state, kgate_lua_upvalueindex(2)))
        return functions[index].function(LuaCall(state))
    }

    /// Kong's `version_num`: `3.10.0` is 3010000.
    static func versionNumber(_ version: String) -> Int {
        let parts = version.split(separator: ".").map { Int($0) ?? 0 } + [0, 0, 0]
        return parts[0] * 1_000_000 + parts[1] * 1000 + parts[2]
    }
}

/// A call of a PDK function: its arguments, the runtime, and the request's context.
struct LuaCall {
    /// The stack (arguments at 1...``argumentCount``).
    let stack: LuaStack
    let runtime: LuaRuntime

    init(_ state: OpaquePointer) {
        stack = LuaStack(state)
        runtime = LuaRuntime.of(state)
    }

    /// The number of arguments.
    var argumentCount: Int32 { stack.top }

    /// Returns an error to raise in the caller (`error(message, 2)`).
    func raise(_ message: String) -> Int32 {
        stack.push(ref: runtime.raiseRef)
        stack.push(message)
        return 2
    }

    /// Runs `body` with the context of the phase running; raises when no request runs (code
    /// run outside a phase).
    func withContext(_ body: (inout PluginContext) -> Int32) -> Int32 {
        guard let context = runtime.context else { return raise("no request found") }
        return body(&context.pointee)
    }

    /// Runs `change` on the context of the phase running and returns nothing; what it throws
    /// (a path without `/`, a status out of range) is raised in the caller with its
    /// description, as Kong's PDK raises it.
    func changing<E: Error>(_ change: (inout PluginContext) throws(E) -> Void) -> Int32 {
        withContext { ctx in
            do {
                try change(&ctx)
            } catch {
                return raise("\(error)")
            }
            return nothing
        }
    }

    /// Reads the context of the phase running (nil outside a phase).
    var context: PluginContext? { runtime.context?.pointee }

    // MARK: Arguments

    /// The string argument at `index` (numbers are converted), else nil.
    func string(_ index: Int32) -> String? { stack.string(at: index) }

    /// The argument at `index` when it is a Lua string (not a number), else nil.
    func stringArgument(_ index: Int32) -> String? { type(index) == .string ? stack.string(at: index) : nil }

    /// The argument at `index` as a schema value.
    func value(_ index: Int32) -> Value? { stack.value(at: index) }

    /// The type of the argument at `index`.
    func type(_ index: Int32) -> LuaType { stack.type(at: index) }

    // MARK: Results

    /// Pushes a string (nil when absent) and returns 1.
    func returning(_ value: String?) -> Int32 {
        stack.push(value)
        return 1
    }

    /// Pushes a number and returns 1.
    func returning(_ value: Int) -> Int32 {
        stack.push(value)
        return 1
    }

    /// Pushes a number and returns 1.
    func returning(_ value: Double) -> Int32 {
        stack.push(value)
        return 1
    }

    /// Pushes a boolean and returns 1.
    func returning(_ value: Bool) -> Int32 {
        stack.push(value)
        return 1
    }

    /// Pushes a value as a table (nil when absent) and returns 1.
    func returning(_ value: Value?) -> Int32 {
        if let value { stack.push(value) } else { stack.pushNil() }
        return 1
    }

    /// Pushes nil and an error message (Lua's soft failure) and returns 2.
    func failing(_ message: String) -> Int32 {
        stack.pushNil()
        stack.push(message)
        return 2
    }

    /// Returns nothing.
    var nothing: Int32 { 0 }
}
