import CLuaJIT
import KGateLua
import Logging
import NIOCore
import NIOPosix

/// A Lua coroutine kgate runs: a request's `access` code or a timer's callback, which may wait
/// for I/O (``LuaWait``) between its resumptions.
struct LuaCoroutine {
    /// The thread's registry reference (keeps it alive while it waits).
    let ref: Int32
    let thread: OpaquePointer
    /// The request it runs for (nil for a timer).
    let serial: Int?
    /// Values pushed for its next resumption (the function's arguments, before the first).
    var pendingArguments: Int32
    /// What `ngx.say` / `ngx.print` wrote so far.
    var output: [UInt8]?
}

/// How a resumption of a coroutine ended.
enum LuaStep {
    case finished
    /// `kong.response.exit` / `ngx.exit`.
    case exited
    case failed(String)
    case waiting(LuaWait)
}

extension LuaRuntime {
    /// Makes a coroutine that will call the function at registry `functionRef` with the
    /// arguments `arguments` pushes (returning their count); returns its id.
    func start(_ functionRef: Int32, arguments: (LuaStack) -> Int32, serial: Int?) -> Int {
        let (ref, thread) = idleThreads.popLast() ?? newThread()
        let t = LuaStack(thread)
        t.push(ref: functionRef)
        let count = arguments(t)
        nextCoroutine += 1
        coroutines[nextCoroutine] = LuaCoroutine(ref: ref, thread: thread, serial: serial, pendingArguments: count)
        return nextCoroutine
    }

    /// A new Lua thread, referenced.
    private func newThread() -> (Int32, OpaquePointer) {
        let s = vm.stack
        guard let thread = lua_newthread(s.state) else { fatalError("LuaJIT could not allocate a coroutine") }
        return (s.ref(), thread)
    }

    /// Lets go of a coroutine (ended, or its request gone). A thread whose function returned
    /// can run another: up to 64 are kept for the next requests.
    func finish(_ id: Int) {
        guard let coroutine = coroutines.removeValue(forKey: id) else { return }
        LuaStack(coroutine.thread).setTop(0)
        if lua_status(coroutine.thread) == 0, idleThreads.count < 64 {
            idleThreads.append((coroutine.ref, coroutine.thread))
        } else {
            vm.stack.unref(coroutine.ref)
        }
    }

    /// Resumes coroutine `id` with `result` and tells how it stopped; its output is kept in
    /// `output` while it runs.
    private func step(_ id: Int, _ result: LuaWaitResult) -> LuaStep {
        guard var coroutine = coroutines[id] else { return .finished }
        let t = LuaStack(coroutine.thread)
        let arguments = coroutine.pendingArguments + result.push(onto: t)
        output = coroutine.output
        let status = lua_resume(coroutine.thread, arguments)
        coroutine.output = output
        coroutine.pendingArguments = 0
        output = nil
        coroutines[id] = coroutine
        switch status {
        case 0:
            return .finished
        case LUA_YIELD:
            defer { t.setTop(0) }
            t.push(ref: waitRef)
            let isWait = t.rawEqual(1, -1)
            t.pop()
            // A bare `coroutine.yield` at the top of the code: resumed on the next turn.
            guard isWait, let wait = LuaWait(yielded: t) else { return .waiting(.sleep(seconds: 0)) }
            return .waiting(wait)
        default:
            t.push(ref: exitRef)
            if t.rawEqual(-1, -2) { return .exited }
            t.pop()
            return .failed(t.string(at: -1) ?? "(error object is a \(t.typeName(at: -1)) value)")
        }
    }

    /// Runs a request's coroutine on from a resumption: when it waits, the plugin's `access`
    /// waits for the I/O and comes back here; when it ends, its output answers (as
    /// ``run(_:_:plugin:_:chunk:last:)``'s) and its error is the plugin's.
    func advance(_ id: Int, resumedWith result: LuaWaitResult, phase: PluginPhase, _ ctx: inout PluginContext) throws(LuaPhaseError) {
        let outcome = withUnsafeMutablePointer(to: &ctx) { pointer in
            context = pointer
            defer { context = nil }
            return step(id, result)
        }
        if case .waiting(let wait) = outcome, let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            ctx.wait(for: wait.start(on: loop)) { ctx, result in
                try LuaRuntime.current.advance(id, resumedWith: result.luaResult, phase: phase, &ctx)
            }
            return
        }
        output = coroutines[id]?.output
        finish(id)
        answerOutput(phase, &ctx)
        switch outcome {
        case .finished, .exited: return
        case .failed(let message): throw LuaPhaseError(message: message)
        case .waiting: throw LuaPhaseError(message: "no event loop to wait on")
        }
    }

    // MARK: Timers

    /// Schedules timer `id` (the prelude's `ngx.timer.at` entry) on the calling event loop;
    /// false when the thread has none.
    func schedule(timer id: Int, after seconds: Double) -> Bool {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return false }
        loop.scheduleTask(in: .nanoseconds(Int64(min(seconds, 1e9) * 1e9))) {
            LuaRuntime.current.fire(timer: id)
        }
        return true
    }

    /// Runs a timer's callback in a coroutine of its own.
    private func fire(timer: Int) {
        freeReleasedRequests()
        let id = start(runTimerRef, arguments: { s in
            s.push(timer)
            s.push(false)
            return 2
        }, serial: nil)
        advanceTimer(id, resumedWith: .resumed)
    }

    /// Runs a timer's coroutine on from a resumption; an error is logged as OpenResty logs a
    /// timer's.
    private func advanceTimer(_ id: Int, resumedWith result: LuaWaitResult) {
        let outcome = step(id, result)
        if case .waiting(let wait) = outcome, let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            wait.start(on: loop).whenComplete { result in
                LuaRuntime.current.advanceTimer(id, resumedWith: result.luaResult)
            }
            return
        }
        finish(id)
        if case .failed(let message) = outcome {
            Self.timerLogger.error("lua entry thread aborted: runtime error: \(message)", metadata: ["context": "ngx.timer"])
        }
    }

    private static let timerLogger = Logger(label: "kgate.lua")
}

extension Result<LuaWaitResult, any Error> {
    /// The values to resume with (a failed wait is Lua's `nil, message`).
    var luaResult: LuaWaitResult {
        switch self {
        case .success(let result): return result
        case .failure(let error): return .failed("\(error)")
        }
    }
}

/// `ngx.timer`'s Swift half: scheduling a callback the prelude keeps.
enum LuaTimers {
    static let functions: [(name: String, function: LuaPDK.Function)] = [
        ("ngx.timer_schedule", { c in
            guard let id = c.stack.integer(at: 1), let delay = c.stack.number(at: 2) else { return c.failing("bad timer") }
            return c.runtime.schedule(timer: id, after: delay) ? c.returning(true) : c.failing("no event loop")
        }),
    ]
}
