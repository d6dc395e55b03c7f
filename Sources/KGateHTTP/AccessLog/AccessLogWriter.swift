#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSchema
import KGateSettings
import KGateStore

/// One request as an access-log line sees it: the nginx variables of `combined` and Kong's
/// `kong_log_format`. The views are read only while the line is written.
public struct AccessLogEntry {
    /// `$remote_addr` (after the realip module).
    public var remoteAddress: UnsafeRawBufferPointer
    /// `$remote_user`: the user of a `Basic` `Authorization`; nil is `-`.
    public var remoteUser: UnsafeRawBufferPointer?
    /// `$request`: the request line as received.
    public var requestLine: UnsafeRawBufferPointer
    /// `$status`.
    public var status: Int
    /// `$body_bytes_sent`: response bytes after the head.
    public var bodyBytesSent: Int
    /// `$http_referer`; nil (no such header) is `-`.
    public var referer: UnsafeRawBufferPointer?
    /// `$http_user_agent`; nil is `-`.
    public var userAgent: UnsafeRawBufferPointer?
    /// `$kong_request_id` (32 hex digits), for `kong_log_format`.
    public var requestID: UnsafeRawBufferPointer?

    public init(
        remoteAddress: UnsafeRawBufferPointer, remoteUser: UnsafeRawBufferPointer? = nil,
        requestLine: UnsafeRawBufferPointer, status: Int, bodyBytesSent: Int,
        referer: UnsafeRawBufferPointer? = nil, userAgent: UnsafeRawBufferPointer? = nil,
        requestID: UnsafeRawBufferPointer? = nil
    ) {
        self.remoteAddress = remoteAddress
        self.remoteUser = remoteUser
        self.requestLine = requestLine
        self.status = status
        self.bodyBytesSent = bodyBytesSent
        self.referer = referer
        self.userAgent = userAgent
        self.requestID = requestID
    }
}

/// Formats access-log lines into a buffer, as nginx's log module writes them:
///
/// ```
/// 127.0.0.1 - - [22/Nov/2026:04:10:00 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8.5.0" kong_request_id: "4f0c…"
/// ```
///
/// Variables are escaped as nginx's default `escape=default`: `"`, `\`, control bytes and bytes
/// from 0x7F up become `\xHH`. Lines gather in ``bytes`` until ``drain(to:)`` writes them: the
/// proxy drains once per event-loop tick, so a busy loop makes one write for many requests and
/// no line waits longer than the tick that produced it.
public struct AccessLogWriter {
    public let format: AccessLogFormat
    /// Lines not written yet.
    public private(set) var bytes: [UInt8] = []
    private var time = LocalTimeText()

    public init(format: AccessLogFormat) {
        self.format = format
        bytes.reserveCapacity(4096)
    }

    /// Appends the line of one request, stamped with `epochSeconds` (local time).
    public mutating func append(_ entry: AccessLogEntry, epochSeconds: Int) {
        appendVariable(entry.remoteAddress)
        append(" - ")
        appendVariable(entry.remoteUser)
        append(" [")
        bytes.append(contentsOf: time.text(epochSeconds: epochSeconds))
        append("] \"")
        appendVariable(entry.requestLine)
        append("\" ")
        appendStatus(entry.status)
        bytes.append(0x20)
        appendNumber(entry.bodyBytesSent)
        append(" \"")
        appendVariable(entry.referer)
        append("\" \"")
        appendVariable(entry.userAgent)
        append("\"")
        if format == .kong {
            append(" kong_request_id: \"")
            appendVariable(entry.requestID)
            append("\"")
        }
        bytes.append(0x0A)
    }

    /// Appends the line of one stream session in Kong's `basic` format: the client, the time
    /// it ended, `TCP` (or `UDP`), its status (200, 403, 500 without a route, 502 without an
    /// upstream), bytes sent to and received from the client, and its duration in seconds (`0.123`).
    public mutating func appendStream(
        remoteAddress: String, status: Int, bytesSent: Int, bytesReceived: Int, milliseconds: Int, epochSeconds: Int,
        udp: Bool = false
    ) {
        bytes.append(contentsOf: remoteAddress.utf8)
        append(" [")
        bytes.append(contentsOf: time.text(epochSeconds: epochSeconds))
        if udp { append("] UDP ") } else { append("] TCP ") }
        appendStatus(status)
        bytes.append(0x20)
        appendNumber(bytesSent)
        bytes.append(0x20)
        appendNumber(bytesReceived)
        bytes.append(0x20)
        appendNumber(milliseconds / 1000)
        bytes.append(0x2E)
        let fraction = milliseconds % 1000
        if fraction < 100 { bytes.append(0x30) }
        if fraction < 10 { bytes.append(0x30) }
        appendNumber(fraction)
        bytes.append(0x0A)
    }

    /// Writes the gathered lines to `file` and empties the buffer (keeping its capacity).
    public mutating func drain(to file: LogFile) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { file.write($0) }
        bytes.removeAll(keepingCapacity: true)
    }

    // MARK: Pieces

    private mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A variable's value, escaped; nil (not found) is `-`.
    private mutating func appendVariable(_ value: UnsafeRawBufferPointer?) {
        guard let value else { return bytes.append(0x2D) }
        // The usual value needs no escape: one copy.
        guard value.contains(where: Self.needsEscape) else { return bytes.append(contentsOf: value) }
        for byte in value {
            if Self.needsEscape(byte) {
                bytes.append(0x5C)
                bytes.append(0x78)
                bytes.append(Self.hexDigit(byte >> 4))
                bytes.append(Self.hexDigit(byte & 0xF))
            } else {
                bytes.append(byte)
            }
        }
    }

    /// nginx's `%03ui`.
    private mutating func appendStatus(_ status: Int) {
        if status >= 0, status < 100 {
            bytes.append(0x30)
            if status < 10 { bytes.append(0x30) }
        }
        appendNumber(status)
    }

    private mutating func appendNumber(_ n: Int) {
        if n < 0 {
            bytes.append(0x2D)
            return appendNumber(n == Int.min ? Int.max : -n)
        }
        if n >= 10 { appendNumber(n / 10) }
        bytes.append(UInt8(truncatingIfNeeded: 0x30 + n % 10))
    }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte >= 0x7F || byte == 0x22 || byte == 0x5C
    }

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x41 + nibble - 10
    }
}

/// nginx's `$time_local` (`22/Nov/2026:04:10:00 +0000`), formatted once per second.
struct LocalTimeText {
    private var second = Int.min
    private var cached: [UInt8] = []

    mutating func text(epochSeconds: Int) -> [UInt8] {
        if epochSeconds != second {
            second = epochSeconds
            cached = Array(Self.format(epochSeconds: epochSeconds).utf8)
        }
        return cached
    }

    static func format(epochSeconds: Int) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let offset = Int(parts.tm_gmtoff) / 60
        let sign = offset < 0 ? "-" : "+"
        return "\(two(Int(parts.tm_mday)))/\(HTTPTime.monthNames[Int(parts.tm_mon)])/\(parts.tm_year + 1900):"
            + "\(two(Int(parts.tm_hour))):\(two(Int(parts.tm_min))):\(two(Int(parts.tm_sec))) "
            + "\(sign)\(two(abs(offset) / 60))\(two(abs(offset) % 60))"
    }
}
