/// Decides, for each poll, whether the file must be read.
///
/// A changed snapshot means "read it". An unchanged snapshot is not proof of unchanged content when
/// the file was modified very recently: file times have a coarse granularity (a kernel tick, or
/// seconds on some file systems), so a same-size rewrite in the same tick keeps every `stat` field.
/// Like git's "racily clean" entries, a snapshot whose mtime/ctime is within `racyWindow` of the
/// poll is distrusted and the next poll reads the file anyway; the content hash absorbs the cost.
package struct PollingStateMachine: Sendable {
    private var last: FileSnapshot?
    private var racy = false
    private let racyWindowNanoseconds: Int64

    /// Creates a machine with no snapshot; the first one is the baseline.
    package init(racyWindow: Duration = .seconds(2)) {
        let (seconds, attoseconds) = racyWindow.components
        racyWindowNanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Records the baseline snapshot, taken when the watcher started (the file is read then anyway).
    package mutating func baseline(_ snapshot: FileSnapshot, wallClockNanoseconds now: Int64) {
        last = snapshot
        racy = isRecent(snapshot, now: now)
    }

    /// What one poll concluded.
    package enum Verdict: Equatable, Sendable {
        /// Same `stat` as last time, and old enough to trust.
        case unchanged
        /// The `stat` differs: the file changed (and may still be changing).
        case changed
        /// Same `stat`, but the last look was too close to the file's last modification to trust
        /// it: read once more, without treating it as activity.
        case unverified
    }

    /// Records a poll's snapshot and says whether the file must be read.
    package mutating func polled(_ snapshot: FileSnapshot, wallClockNanoseconds now: Int64) -> Verdict {
        let verdict: Verdict = snapshot != last ? .changed : (racy ? .unverified : .unchanged)
        last = snapshot
        racy = isRecent(snapshot, now: now)
        return verdict
    }

    private func isRecent(_ snapshot: FileSnapshot, now: Int64) -> Bool {
        guard snapshot.error == 0 else { return false }
        let newest = max(snapshot.modifiedNanoseconds, snapshot.changedNanoseconds)
        return now - newest < racyWindowNanoseconds
    }
}
