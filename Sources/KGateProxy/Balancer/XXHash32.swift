/// xxHash32 (Yann Collet's 32-bit xxHash), as Kong's `luaxxhash` computes it: little-endian
/// lanes, default seed 0, result as an unsigned 32-bit value. Kong's consistent-hashing balancer
/// hashes both the continuum keys and the request's hash value with it.
enum XXHash32 {
    private static let prime1: UInt32 = 2_654_435_761
    private static let prime2: UInt32 = 2_246_822_519
    private static let prime3: UInt32 = 3_266_489_917
    private static let prime4: UInt32 = 668_265_263
    private static let prime5: UInt32 = 374_761_393

    /// The xxHash32 of `bytes`; hashes in place when the collection has contiguous storage.
    static func hash(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let h = bytes.withContiguousStorageIfAvailable({ digest(UnsafeRawBufferPointer($0), seed: seed) }) {
            return h
        }
        return Array(bytes).withUnsafeBytes { digest($0, seed: seed) }
    }

    /// The xxHash32 of `string`'s UTF-8 bytes (Lua strings are byte strings).
    static func hash(_ string: String, seed: UInt32 = 0) -> UInt32 {
        if let h = string.utf8.withContiguousStorageIfAvailable({ digest(UnsafeRawBufferPointer($0), seed: seed) }) {
            return h
        }
        return hash(Array(string.utf8), seed: seed)
    }

    /// The algorithm over raw bytes: 16-byte stripes in four lanes, then 4-byte words, then bytes.
    private static func digest(_ p: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        let count = p.count
        var offset = 0
        var h: UInt32
        if count >= 16 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 16 <= count {
                v1 = round(v1, word(p, offset))
                v2 = round(v2, word(p, offset + 4))
                v3 = round(v3, word(p, offset + 8))
                v4 = round(v4, word(p, offset + 12))
                offset += 16
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt32(truncatingIfNeeded: count)
        while offset + 4 <= count {
            h = rotl(h &+ word(p, offset) &* prime3, 17) &* prime4
            offset += 4
        }
        while offset < count {
            h = rotl(h &+ UInt32(p[offset]) &* prime5, 11) &* prime1
            offset += 1
        }
        return avalanche(h)
    }

    private static func round(_ acc: UInt32, _ input: UInt32) -> UInt32 {
        rotl(acc &+ input &* prime2, 13) &* prime1
    }

    private static func avalanche(_ value: UInt32) -> UInt32 {
        var h = value
        h ^= h >> 15
        h = h &* prime2
        h ^= h >> 13
        h = h &* prime3
        h ^= h >> 16
        return h
    }

    private static func word(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    private static func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 {
        (x << r) | (x >> (32 - r))
    }
}
