import NIOCore

/// How a message body is delimited.
enum BodyFraming: Equatable {
    /// No body.
    case none
    /// `Content-Length` bytes.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// Until the connection closes (responses only).
    case untilClose
}

/// Follows a chunked body as it streams by: where it ends, and (on request) which bytes are
/// chunk data. The framing bytes can then be forwarded untouched, or dropped.
///
/// Accepts `size[;ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF`, with bare LF tolerated as
/// nginx does; anything else is an error (a chunk size over 15 hex digits included).
struct ChunkedDecoder {
    private enum State: Equatable {
        case size
        case extensions
        case sizeLF
        case data(Int)
        case dataCR
        case dataLF
        case trailerStart
        case trailerLine
        case trailerEndLF
        case done
    }

    enum Result: Equatable {
        /// All bytes belong to the body; more are needed.
        case needMore
        /// The body ended after `consumed` bytes of the input.
        case done(consumed: Int)
        case error
    }

    private var state = State.size
    private var size = 0
    private var digits = 0
    /// Keep the trailer section's lines (`name: value` CRLF each) in ``trailers``.
    var collectsTrailers = false
    private(set) var trailers: [UInt8] = []

    var isDone: Bool { state == .done }

    /// Feeds bytes; `onData` receives the ranges (in `raw`) that are chunk data.
    mutating func feed(_ raw: UnsafeRawBufferPointer, onData: (Range<Int>) -> Void = { _ in }) -> Result {
        var i = 0
        let n = raw.count
        while i < n {
            let b = raw[i]
            switch state {
            case .size:
                if let v = Self.hex(b) {
                    guard digits < 15 else { return .error }
                    size = size << 4 | v
                    digits += 1
                } else if digits == 0 {
                    return .error
                } else if b == 0x3B || b == 0x20 || b == 0x09 {
                    state = .extensions
                } else if b == 0x0D {
                    state = .sizeLF
                } else if b == 0x0A {
                    sizeLineDone()
                } else {
                    return .error
                }
                i += 1
            case .extensions:
                if b == 0x0D {
                    state = .sizeLF
                } else if b == 0x0A {
                    sizeLineDone()
                } else if b == 0 {
                    return .error
                }
                i += 1
            case .sizeLF:
                guard b == 0x0A else { return .error }
                sizeLineDone()
                i += 1
            case .data(let remaining):
                let take = min(remaining, n - i)
                onData(i..<(i + take))
                i += take
                state = remaining == take ? .dataCR : .data(remaining - take)
            case .dataCR:
                if b == 0x0D {
                    state = .dataLF
                } else if b == 0x0A {
                    state = .size
                } else {
                    return .error
                }
                i += 1
            case .dataLF:
                guard b == 0x0A else { return .error }
                state = .size
                i += 1
            case .trailerStart:
                if b == 0x0D {
                    state = .trailerEndLF
                } else if b == 0x0A {
                    state = .done
                    return .done(consumed: i + 1)
                } else {
                    state = .trailerLine
                    if collectsTrailers { trailers.append(b) }
                }
                i += 1
            case .trailerLine:
                if b == 0x0A { state = .trailerStart }
                if collectsTrailers { trailers.append(b) }
                i += 1
            case .trailerEndLF:
                guard b == 0x0A else { return .error }
                state = .done
                return .done(consumed: i + 1)
            case .done:
                return .done(consumed: i)
            }
        }
        return state == .done ? .done(consumed: n) : .needMore
    }

    private mutating func sizeLineDone() {
        state = size == 0 ? .trailerStart : .data(size)
        size = 0
        digits = 0
    }

    @inline(__always)
    private static func hex(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }
}

/// Tracks a body as its bytes go by: where the message ends in each buffer.
struct BodyTracker {
    private(set) var framing: BodyFraming
    private var remaining: Int
    private var decoder = ChunkedDecoder()
    /// The message (body) ended.
    private(set) var isComplete: Bool

    /// The trailers of a chunked body (`collectsTrailers`), once it ended.
    var trailers: [UInt8] { decoder.trailers }

    init(_ framing: BodyFraming, collectsTrailers: Bool = false) {
        self.framing = framing
        decoder.collectsTrailers = collectsTrailers
        switch framing {
        case .none: remaining = 0; isComplete = true
        case .length(let n): remaining = n; isComplete = n == 0
        case .chunked, .untilClose: remaining = 0; isComplete = false
        }
    }

    /// How many of the readable bytes of `buffer` belong to the body (the rest is the next
    /// message); nil on a framing error. `onData` gets the data ranges of chunked bodies,
    /// relative to the readable bytes.
    mutating func take(_ buffer: ByteBuffer, onData: (Range<Int>) -> Void = { _ in }) -> Int? {
        switch framing {
        case .none:
            return 0
        case .length:
            let n = min(remaining, buffer.readableBytes)
            remaining -= n
            if remaining == 0 { isComplete = true }
            return n
        case .untilClose:
            return buffer.readableBytes
        case .chunked:
            let result = buffer.withUnsafeReadableBytes { decoder.feed($0, onData: onData) }
            switch result {
            case .needMore: return buffer.readableBytes
            case .done(let consumed):
                isComplete = true
                return consumed
            case .error: return nil
            }
        }
    }

    /// The connection closed: a close-delimited body ends there.
    mutating func closed() -> Bool {
        if framing == .untilClose { isComplete = true }
        return isComplete
    }
}
