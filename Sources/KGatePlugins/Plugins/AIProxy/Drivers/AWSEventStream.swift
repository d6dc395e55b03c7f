import KGateSchema

/// Cuts an AWS event stream (`application/vnd.amazon.eventstream`) arriving in pieces into its
/// messages (Kong's `kong.tools.aws_stream`): each is a 4-byte total length, a 4-byte headers
/// length, the prelude's CRC, the headers (a name of a length byte, a type byte, a value), the
/// payload and the message's CRC; the CRCs are not checked, as in Kong. A message cut across
/// pieces is kept until whole (Kong's parser reads each piece alone).
struct AWSEventStream: Sendable {
    private var pending: [UInt8] = []

    /// The messages `chunk` completes, each as Kong's `cjson.encode({headers = ..., body = ...})`.
    mutating func messages(_ chunk: [UInt8]) -> [String] {
        pending.append(contentsOf: chunk)
        var out: [String] = []
        var start = 0
        while pending.count - start >= 12 {
            let total = Self.integer(pending, at: start, bytes: 4)
            guard total >= 16 else {
                // Not a message: nothing after it can be framed.
                pending = []
                return out
            }
            guard pending.count - start >= total else { break }
            out.append(KongJSONEncoderShim.string(Self.message(pending[start..<(start + total)])))
            start += total
        }
        pending.removeFirst(start)
        return out
    }

    /// One whole message as `{headers: {name: value}, body: payload}`.
    static func message(_ bytes: ArraySlice<UInt8>) -> Value {
        let bytes = Array(bytes)
        let end = bytes.count - 4
        let headersEnd = min(12 + integer(bytes, at: 4, bytes: 4), end)
        var headers = Object()
        var i = 12
        while i < headersEnd {
            let nameLength = Int(bytes[i])
            guard i + 2 + nameLength <= headersEnd else { break }
            let name = String(decoding: bytes[(i + 1)..<(i + 1 + nameLength)], as: UTF8.self)
            i += 1 + nameLength
            let type = bytes[i]
            i += 1
            guard let (value, length) = headerValue(type, bytes, at: i, end: headersEnd) else { break }
            headers[name] = value
            i += length
        }
        return ["headers": .object(headers), "body": .string(String(decoding: bytes[headersEnd..<max(headersEnd, end)], as: UTF8.self))]
    }

    /// A header's value of `type` at `i` and the bytes it takes (per AWS's spec; Kong reads
    /// booleans and strings).
    private static func headerValue(_ type: UInt8, _ bytes: [UInt8], at i: Int, end: Int) -> (Value, Int)? {
        func fixed(_ n: Int) -> Int? { i + n <= end ? n : nil }
        switch type {
        case 0: return (.bool(true), 0)
        case 1: return (.bool(false), 0)
        case 2, 3, 4, 5, 8:
            let size = [2: 1, 3: 2, 4: 4, 5: 8, 8: 8][Int(type)]!
            guard let n = fixed(size) else { return nil }
            var value = 0
            for b in bytes[i..<(i + n)] { value = value << 8 | Int(b) }
            // Signed, as the spec's integers are.
            if n < 8, value >= 1 << (n * 8 - 1) { value -= 1 << (n * 8) }
            return (.integer(value), n)
        case 6, 7:
            guard fixed(2) != nil else { return nil }
            let length = integer(bytes, at: i, bytes: 2)
            guard let n = fixed(2 + length) else { return nil }
            return (.string(String(decoding: bytes[(i + 2)..<(i + n)], as: UTF8.self)), n)
        case 9:
            guard let n = fixed(16) else { return nil }
            let digits = Array("0123456789abcdef".utf8)
            let hex = bytes[i..<(i + n)].flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }
            return (.string(String(decoding: hex, as: UTF8.self)), n)
        default:
            return nil
        }
    }

    /// A big-endian unsigned integer of `bytes` bytes at `i`.
    private static func integer(_ data: [UInt8], at i: Int, bytes: Int) -> Int {
        data[i..<(i + bytes)].reduce(0) { $0 << 8 | Int($1) }
    }
}
