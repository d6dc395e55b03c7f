import Crypto

/// Kong's deterministic entity ids: UUID v5 under a per-entity namespace (kong-reference §1.5).
public enum EntityID {
    /// Kong's root namespace for declarative ids.
    public static let rootNamespace = "fd02801f-0957-4a15-a55a-c8d9606f30b5"

    /// `uuid_v5(uuid_v5(root, entity), key)`.
    public static func generate(entity: String, key: String) -> String {
        uuidV5(namespace: uuidV5(namespace: rootNamespace, name: entity), name: key)
    }

    /// RFC 4122 version 5 (SHA-1) UUID, lowercase.
    public static func uuidV5(namespace: String, name: String) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: bytes(ofUUID: namespace))
        hasher.update(data: Array(name.utf8))
        var digest = Array(hasher.finalize().prefix(16))
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        return format(digest)
    }

    /// A random version 4 UUID (ids Kong cannot derive: certificates, unnamed entities...).
    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        let (hi, lo) = (g.next() as UInt64, g.next() as UInt64)
        var b = (0..<8).map { UInt8(truncatingIfNeeded: hi >> ($0 * 8)) } + (0..<8).map { UInt8(truncatingIfNeeded: lo >> ($0 * 8)) }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return format(b)
    }

    private static func bytes(ofUUID s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8?
        for c in s.utf8 where c != UInt8(ascii: "-") {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: continue
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func format(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// md5 hex of raw config text: Kong's `configuration_hash`.
public enum ConfigHash {
    public static func md5Hex(_ bytes: [UInt8]) -> String { hex(Insecure.MD5.hash(data: bytes)) }

    /// Bytes as lower-case hex (`sha256_hex`, `md5` as Kong prints them).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    /// The hash before any config is loaded.
    public static let empty = String(repeating: "0", count: 32)
}
