import KGateHTTP

/// One event loop's access-log lines: requests append theirs, and the loop's flush batch
/// writes them at the end of the tick, after the responses (one write per tick, where nginx
/// makes one per request).
final class LoopAccessLog: DeferredFlush {
    private let log: AccessLog
    private(set) var lines: AccessLogWriter
    var flushQueued = false

    init(_ log: AccessLog) {
        self.log = log
        self.lines = AccessLogWriter(format: log.format)
    }

    /// Appends a line; the caller queues the flush (``FlushBatcher/flushSoon(_:first:)``).
    @inline(__always)
    func append(_ entry: AccessLogEntry, epochSeconds: Int) {
        lines.append(entry, epochSeconds: epochSeconds)
    }

    /// Appends a stream session's line (Kong's `basic` format).
    func appendStream(
        remoteAddress: String, status: Int, bytesSent: Int, bytesReceived: Int, milliseconds: Int, epochSeconds: Int,
        udp: Bool
    ) {
        lines.appendStream(
            remoteAddress: remoteAddress, status: status, bytesSent: bytesSent, bytesReceived: bytesReceived,
            milliseconds: milliseconds, epochSeconds: epochSeconds, udp: udp)
    }

    func flushNow() {
        lines.drain(to: log.file)
    }
}
