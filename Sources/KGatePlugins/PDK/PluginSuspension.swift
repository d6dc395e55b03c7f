import NIOCore
import NIOPosix

/// A plugin's `access` waiting for I/O (a Redis reply), as a Lua handler yields on a cosocket:
/// the runner stops after that plugin, the proxy keeps the request (its body buffered) until
/// the work ends, then ``PluginRunner/resumeAccess(_:_:)`` runs the plugin's continuation and
/// the plugins after it.
public struct PluginSuspension: Sendable {
    /// The rest of the suspended plugin's `access`.
    public typealias Resume = @Sendable (inout PluginContext) throws -> Void

    private let subscribe: @Sendable (any EventLoop, @escaping (@escaping Resume) -> Void) -> Void

    fileprivate init(subscribe: @escaping @Sendable (any EventLoop, @escaping (@escaping Resume) -> Void) -> Void) {
        self.subscribe = subscribe
    }

    /// Calls `ready` on `loop` (the calling thread's own) with the continuation once the work
    /// ended, successfully or not.
    public func whenReady(on loop: any EventLoop, _ ready: @escaping (@escaping Resume) -> Void) {
        subscribe(loop, ready)
    }
}

extension PluginContext {
    /// Suspends the running plugin's `access` until `future` completes, then runs `then` with
    /// its result (on the request's event loop). The plugin returns right after calling this;
    /// nothing after it in the phase runs until `then` did. Errors `then` throws fail the
    /// plugin as a throwing `access` does (500).
    public mutating func wait<T: Sendable>(
        for future: EventLoopFuture<T>,
        then body: @escaping @Sendable (inout PluginContext, Result<T, any Error>) throws -> Void
    ) {
        precondition(phase == .access, "only access can wait")
        suspension = PluginSuspension { loop, ready in
            future.hop(to: loop).assumeIsolated().whenComplete { result in
                ready { ctx in try body(&ctx, result) }
            }
        }
    }

    /// Suspends the running plugin's `access` until `operation` ends, then runs `then` with its
    /// result (on the request's event loop), as ``wait(for:then:)``. The operation runs as a
    /// task, off the request's event loop (a plugin's own client calls: LDAP, Azure Functions).
    public mutating func wait<T: Sendable>(
        forTask operation: @escaping @Sendable () async throws -> T,
        then body: @escaping @Sendable (inout PluginContext, Result<T, any Error>) throws -> Void
    ) {
        let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: T.self)
        promise.completeWithTask(operation)
        wait(for: promise.futureResult, then: body)
    }

    /// Takes the suspension the last plugin left (the proxy, after `access`).
    public mutating func takeSuspension() -> PluginSuspension? {
        defer { suspension = nil }
        return suspension
    }

    /// Whether a plugin waits (``wait(for:then:)``): `access` stopped after it.
    public var isSuspended: Bool { suspension != nil }
}
