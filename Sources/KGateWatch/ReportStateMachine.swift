/// Decides which observations of the file become ``WatchEvent``s.
///
/// States: nothing observed yet, content with a fingerprint, unreadable with a reason.
/// - The first observation is the baseline: content is reported only with `reportInitial`;
///   an unreadable file is always reported (the caller cannot know about it).
/// - Content is reported when its fingerprint differs from the last reported content, or when the
///   file was unreadable before ("it came back", even with the old content).
/// - Unreadability is reported when it starts and when its reason changes.
package struct ReportStateMachine: Sendable {
    /// What one check found.
    package enum Observation: Equatable, Sendable {
        /// The file was read; its fingerprint.
        case content(ContentFingerprint)
        /// The file could not be read; why.
        case unreadable(reason: String)
    }

    /// What the caller must do.
    package enum Action: Equatable, Sendable {
        /// Nothing: same as last reported.
        case none
        /// Report the observation.
        case report
    }

    private enum State: Sendable {
        case initial
        case observed(Observation)
    }

    private let reportInitial: Bool
    private var state: State = .initial

    /// Creates a machine that has observed nothing yet.
    package init(reportInitial: Bool) {
        self.reportInitial = reportInitial
    }

    /// The last observation, if any.
    package var last: Observation? {
        if case .observed(let observation) = state { return observation }
        return nil
    }

    /// Records `observation` and says whether to report it.
    package mutating func observed(_ observation: Observation) -> Action {
        let previous = state
        state = .observed(observation)
        switch (previous, observation) {
        case (.initial, .content):
            return reportInitial ? .report : .none
        case (.initial, .unreadable):
            return .report
        case (.observed(let old), _) where old == observation:
            return .none
        case (.observed, _):
            return .report
        }
    }
}
