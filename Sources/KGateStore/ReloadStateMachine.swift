/// The reload serializer, without I/O: at most one load runs, and a newer request supersedes a
/// queued one.
///
/// ```
///  request ──► idle ──start──► loading(current, nil) ──request──► loading(current, pending)
///                ▲                     │                                 │  request: supersede
///                └──── loadFinished ───┘◄── loadFinished: start pending ─┘  the old pending
///  stop (any state) ──► stopped: abandon current/pending; later requests are rejected
/// ```
///
/// The executor (`ReloadCoordinator`) feeds events and performs the returned actions.
public struct ReloadStateMachine<Request: Sendable>: Sendable {
    /// Where the serializer is.
    public enum State: Sendable {
        /// No load runs.
        case idle
        /// `current` is being loaded; `pending` waits for it (the newest request only).
        case loading(current: Request, pending: Request?)
        /// The executor is gone: nothing will run again.
        case stopped
    }

    /// What the executor must do.
    public enum Action: Sendable {
        /// Nothing (a request was queued behind the running load, or the machine went idle).
        case none
        /// Run this load now.
        case start(Request)
        /// This queued request was replaced by a newer one: report it as superseded.
        case supersede(Request)
        /// This request arrived after `stop`: report it as not run.
        case reject(Request)
        /// `stop` while these were running or queued: report them as not run.
        case abandon([Request])
    }

    /// The current state.
    public private(set) var state: State = .idle

    /// Creates an idle machine.
    public init() {}

    /// A new request arrived.
    public mutating func requested(_ request: Request) -> Action {
        switch state {
        case .idle:
            state = .loading(current: request, pending: nil)
            return .start(request)
        case .loading(let current, nil):
            state = .loading(current: current, pending: request)
            return .none
        case .loading(let current, let pending?):
            state = .loading(current: current, pending: request)
            return .supersede(pending)
        case .stopped:
            return .reject(request)
        }
    }

    /// The running load ended (flipped, rejected or skipped).
    public mutating func loadFinished() -> Action {
        switch state {
        case .loading(_, let pending?):
            state = .loading(current: pending, pending: nil)
            return .start(pending)
        case .loading(_, nil):
            state = .idle
            return .none
        case .idle, .stopped:
            // No load was running: nothing to do (tolerated, e.g. a load finishing after `stop`).
            return .none
        }
    }

    /// The executor stops; whatever was running or queued is abandoned.
    public mutating func stop() -> Action {
        defer { state = .stopped }
        switch state {
        case .loading(let current, let pending):
            return .abandon([current] + (pending.map { [$0] } ?? []))
        case .idle, .stopped:
            return .none
        }
    }

    /// True while a load runs.
    public var isLoading: Bool {
        if case .loading = state { return true }
        return false
    }
}

extension ReloadStateMachine.State: Equatable where Request: Equatable {}
extension ReloadStateMachine.Action: Equatable where Request: Equatable {}
