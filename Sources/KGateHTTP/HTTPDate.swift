#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSchema
import NIOCore

/// The `Date` header value (`Thu, 21 Nov 2024 10:00:00 GMT`), formatted at most once per second
/// per event loop (the proxy's loops, and each admin or status connection).
public struct HTTPDateCache {
    private var second: Int = -1
    private var cached: String = ""

    /// An empty cache: the first `current()` formats the date.
    public init() {}

    /// The current date, from the cache when the second has not changed.
    public mutating func current() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let s = now.tv_sec
        if s != second {
            second = s
            cached = HTTPTime.format(s)
        }
        return cached
    }
}
