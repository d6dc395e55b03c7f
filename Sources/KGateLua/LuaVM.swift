#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CLuaJIT

/// One LuaJIT state, owned by the thread that made it.
///
/// A Lua state is not thread-safe, so kgate keeps one per thread (``current``): an event loop's
/// requests all run in its loop's state, and a config validated on another thread compiles in
/// that thread's. Nothing here is `Sendable`; a VM never leaves its thread.
public final class LuaVM {
    /// The state.
    public let state: OpaquePointer

    /// A state with LuaJIT's standard libraries open.
    public init() {
        guard let state = luaL_newstate() else { fatalError("LuaJIT could not allocate a state") }
        self.state = state
        luaL_openlibs(state)
    }

    deinit { lua_close(state) }

    /// The stack of the state.
    public var stack: LuaStack { LuaStack(state) }

    /// The calling thread's VM, made on first use and closed when the thread ends.
    public static var current: LuaVM {
        if let vm = perThread.value { return vm }
        let vm = LuaVM()
        perThread.value = vm
        return vm
    }

    private static let perThread = ThreadLocalReference<LuaVM>()

    /// The message of the syntax error in `code` compiled as `loadstring(code)` compiles it
    /// (the chunk named by its own text, `[string "..."]:1: ...`), or nil when it compiles.
    /// Nothing runs.
    public func syntaxError(in code: String) -> String? {
        let s = stack
        let top = s.top
        defer { s.setTop(top) }
        return s.load(code, chunkName: code)
    }

    /// Runs `code` (a chunk of trusted Lua, such as a runtime's prelude); its first result is
    /// left on the stack. Returns the error message when loading or running fails.
    public func run(_ code: String, name: String) -> String? {
        let s = stack
        if let error = s.load(code, chunkName: "=" + name) { return error }
        return s.call(arguments: 0, results: 1)
    }
}

/// A reference to an object kept per thread (pthread TLS), released when the thread exits.
public final class ThreadLocalReference<T: AnyObject>: Sendable {
    private let key: pthread_key_t

    /// A new key (one per use, made once: keys are a limited resource).
    public init() {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<AnyObject>.fromOpaque(pointer).release()
        }
        precondition(status == 0, "pthread_key_create failed")
        self.key = key
    }

    /// The calling thread's object.
    public var value: T? {
        get {
            guard let pointer = pthread_getspecific(key) else { return nil }
            return Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as? T
        }
        set {
            if let old = pthread_getspecific(key) { Unmanaged<AnyObject>.fromOpaque(old).release() }
            let new = newValue.map { Unmanaged.passRetained($0 as AnyObject).toOpaque() }
            pthread_setspecific(key, new)
        }
    }
}
