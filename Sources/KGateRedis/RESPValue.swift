import NIOCore

/// A Redis reply in RESP2, the protocol every Redis server speaks.
public enum RESPValue: Sendable, Equatable {
    /// `+OK`.
    case simpleString(String)
    /// `-ERR message`: the server refused the command (the connection stays usable).
    case error(String)
    /// `:42`.
    case integer(Int)
    /// `$n` bytes, or `$-1` (nil: no such key).
    case bulkString([UInt8]?)
    /// `*n` values, or `*-1` (nil).
    case array([RESPValue]?)

    /// The reply as an integer: an integer reply, or a bulk string holding one (`GET` of a
    /// counter); nil (Redis's null) counts as nil.
    public var integer: Int? {
        switch self {
        case .integer(let n): return n
        case .bulkString(let bytes?): return Int(String(decoding: bytes, as: UTF8.self))
        case .simpleString(let s): return Int(s)
        default: return nil
        }
    }

    /// Whether the reply is Redis's null (`$-1` or `*-1`).
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }
}

/// A reply that does not follow RESP: the connection cannot be trusted any more.
public struct RESPProtocolError: Error, CustomStringConvertible {
    /// What was wrong.
    public let description: String
}

extension RESPValue {
    /// Nesting deeper than this is refused (no reply kgate sends for has more than one level).
    static let maxDepth = 32
    /// Longest bulk string accepted (Redis's own `proto-max-bulk-len` default).
    static let maxBulkLength = 512 << 20

    /// Reads one complete reply from the front of `buffer`, or nil (nothing consumed) when it
    /// has not all arrived.
    public static func read(from buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var copy = buffer
        guard let value = try parse(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private static func parse(_ buffer: inout ByteBuffer, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard depth < maxDepth else { throw RESPProtocolError(description: "reply nested too deeply") }
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try readLine(&buffer) else { return nil }
        let text = line.dropFirst()
        switch type {
        case UInt8(ascii: "+"): return .simpleString(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: "-"): return .error(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: ":"): return .integer(try number(text))
        case UInt8(ascii: "$"):
            let length = try number(text)
            if length < 0 { return .bulkString(nil) }
            guard length <= maxBulkLength else { throw RESPProtocolError(description: "bulk string of \(length) bytes") }
            guard buffer.readableBytes >= length + 2, let bytes = buffer.readBytes(length: length) else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                throw RESPProtocolError(description: "bulk string not ended by CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try number(text)
            if count < 0 { return .array(nil) }
            var values: [RESPValue] = []
            values.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let value = try parse(&buffer, depth: depth + 1) else { return nil }
                values.append(value)
            }
            return .array(values)
        default:
            throw RESPProtocolError(description: "unknown reply type \(String(decoding: [type], as: UTF8.self))")
        }
    }

    /// The bytes of the next line, type byte included, CRLF excluded; nil when incomplete.
    private static func readLine(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> ArraySlice<UInt8>? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 0x0D) else {
            if view.count > 64 << 10 { throw RESPProtocolError(description: "reply line too long") }
            return nil
        }
        let length = cr - view.startIndex
        guard view.count > length + 1 else { return nil }
        guard view[cr + 1] == 0x0A else { throw RESPProtocolError(description: "CR not followed by LF") }
        let bytes = buffer.readBytes(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        return bytes[...]
    }

    private static func number(_ text: ArraySlice<UInt8>) throws(RESPProtocolError) -> Int {
        guard let n = Int(String(decoding: text, as: UTF8.self)) else {
            throw RESPProtocolError(description: "not a number: \(String(decoding: text, as: UTF8.self))")
        }
        return n
    }
}

/// A command: its name and arguments, sent as a RESP array of bulk strings.
public struct RedisCommand: Sendable, Hashable {
    /// The name and arguments.
    public var arguments: [String]

    /// A command from its words (`RedisCommand("INCRBY", key, "2")`).
    public init(_ arguments: String...) { self.arguments = arguments }

    /// A command from its words.
    public init(arguments: [String]) { self.arguments = arguments }

    /// Appends the command's RESP encoding.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.utf8.count)\r\n")
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}
