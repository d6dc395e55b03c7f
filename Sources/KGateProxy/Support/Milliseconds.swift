import NIOCore

extension NIODeadline {
    /// Whole milliseconds from `start` to this instant (0 when `start` is later): the
    /// latencies Kong logs and nginx's `$session_time`.
    func milliseconds(since start: NIODeadline) -> Int {
        max(0, Int((self - start).nanoseconds / 1_000_000))
    }
}
