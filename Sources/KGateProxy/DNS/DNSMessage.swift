/// The wire format of DNS queries and answers (RFC 1035, SRV from RFC 2782, AAAA from RFC
/// 3596): a query for one name and type, and the records of an answer.
enum DNSMessage {
    /// The record types kgate asks for.
    enum RecordType: UInt16, Sendable {
        case a = 1
        case cname = 5
        case aaaa = 28
        case srv = 33
    }

    /// A record of an answer.
    struct Record: Sendable, Equatable {
        enum Data: Sendable, Equatable {
            case address(IPBytes)
            case name(String)
            case service(priority: Int, weight: Int, port: Int, target: String)
            case other
        }
        /// The owner name, lower-cased, without the final dot.
        var name: String
        var type: UInt16
        var ttl: Int
        var data: Data
    }

    /// A parsed answer.
    struct Response: Sendable, Equatable {
        var id: UInt16
        /// RFC 1035's RCODE: 0 no error, 3 name error (NXDOMAIN).
        var rcode: Int
        var truncated: Bool
        var answers: [Record]
        var additionals: [Record]
    }

    /// Why a message cannot be read.
    struct Malformed: Error {}

    /// A recursive query for `name`'s `type` records, with an EDNS0 record offering 4,096-byte
    /// answers over UDP (a service with many instances has more SRV records than 512 bytes
    /// hold).
    static func query(id: UInt16, name: String, type: RecordType) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]
        for label in name.split(separator: ".", omittingEmptySubsequences: true) {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out.append(0)
        out += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        // OPT: root name, type 41, the payload size as its class, no extended flags or data.
        out += [0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]
        return out
    }

    /// Reads an answer.
    static func parse(_ bytes: [UInt8]) throws(Malformed) -> Response {
        var reader = Reader(bytes: bytes)
        let id = try reader.u16()
        let flags = try reader.u16()
        let questions = try reader.u16()
        let answerCount = try reader.u16()
        let authorityCount = try reader.u16()
        let additionalCount = try reader.u16()
        for _ in 0..<questions {
            _ = try reader.name()
            try reader.skip(4)
        }
        var answers: [Record] = []
        for _ in 0..<answerCount { answers.append(try reader.record()) }
        for _ in 0..<authorityCount { _ = try reader.record() }
        var additionals: [Record] = []
        for _ in 0..<additionalCount { additionals.append(try reader.record()) }
        return Response(
            id: id, rcode: Int(flags & 0x000F), truncated: flags & 0x0200 != 0, answers: answers, additionals: additionals)
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func u8() throws(Malformed) -> UInt8 {
            guard offset < bytes.count else { throw Malformed() }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u16() throws(Malformed) -> UInt16 {
            UInt16(try u8()) << 8 | UInt16(try u8())
        }

        mutating func u32() throws(Malformed) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }

        mutating func skip(_ count: Int) throws(Malformed) {
            guard offset + count <= bytes.count else { throw Malformed() }
            offset += count
        }

        /// A name, following compression pointers (at most 64 of them: no loop).
        mutating func name() throws(Malformed) -> String {
            var labels: [String] = []
            var position = offset
            var jumped = false
            var jumps = 0
            while true {
                guard position < bytes.count else { throw Malformed() }
                let length = Int(bytes[position])
                if length & 0xC0 == 0xC0 {
                    guard position + 1 < bytes.count, jumps < 64 else { throw Malformed() }
                    let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                    if !jumped { offset = position + 2 }
                    jumped = true
                    jumps += 1
                    position = target
                    continue
                }
                position += 1
                if length == 0 { break }
                guard position + length <= bytes.count else { throw Malformed() }
                labels.append(String(decoding: bytes[position..<(position + length)], as: UTF8.self).lowercased())
                position += length
            }
            if !jumped { offset = position }
            return labels.joined(separator: ".")
        }

        mutating func record() throws(Malformed) -> Record {
            let owner = try name()
            let type = try u16()
            _ = try u16()
            let ttl = Int(try u32() & 0x7FFF_FFFF)
            let length = Int(try u16())
            let end = offset + length
            guard end <= bytes.count else { throw Malformed() }
            let data: Record.Data
            switch RecordType(rawValue: type) {
            case .a where length == 4:
                let v = bytes[offset..<end].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                data = .address(IPBytes(high: 0, low: v, isIPv6: false))
            case .aaaa where length == 16:
                let high = bytes[offset..<(offset + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let low = bytes[(offset + 8)..<end].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                data = .address(IPBytes(high: high, low: low, isIPv6: true))
            case .cname:
                data = .name(try name())
            case .srv where length >= 7:
                let priority = Int(try u16())
                let weight = Int(try u16())
                let port = Int(try u16())
                data = .service(priority: priority, weight: weight, port: port, target: try name())
            default:
                data = .other
            }
            offset = end
            return Record(name: owner, type: type, ttl: ttl, data: data)
        }
    }
}
