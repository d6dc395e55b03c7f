import Synchronization

/// Connection and request counters of the node's listeners (Kong's `server` block).
public final class ServerCounters: Sendable {
    private let accepted = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)
    private let writing = Atomic<Int>(0)

    public init() {}

    public func connectionOpened() {
        accepted.add(1, ordering: .relaxed)
        active.add(1, ordering: .relaxed)
    }
    public func connectionClosed() { active.subtract(1, ordering: .relaxed) }
    public func requestStarted() {
        requests.add(1, ordering: .relaxed)
        writing.add(1, ordering: .relaxed)
    }
    public func requestFinished() { writing.subtract(1, ordering: .relaxed) }

    public struct Snapshot: Sendable, Equatable {
        public var accepted, active, handled, requests, writing: Int

        public init(accepted: Int = 0, active: Int = 0, handled: Int = 0, requests: Int = 0, writing: Int = 0) {
            self.accepted = accepted
            self.active = active
            self.handled = handled
            self.requests = requests
            self.writing = writing
        }

        /// Two servers' counters together (nginx counts every server block of the process).
        public static func + (a: Snapshot, b: Snapshot) -> Snapshot {
            Snapshot(
                accepted: a.accepted + b.accepted, active: a.active + b.active, handled: a.handled + b.handled,
                requests: a.requests + b.requests, writing: a.writing + b.writing)
        }
    }
    public func snapshot() -> Snapshot {
        let a = accepted.load(ordering: .relaxed)
        return Snapshot(
            accepted: a, active: active.load(ordering: .relaxed), handled: a, requests: requests.load(ordering: .relaxed),
            writing: writing.load(ordering: .relaxed))
    }
}

