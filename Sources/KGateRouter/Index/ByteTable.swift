/// An immutable hash table from byte strings to small integers, looked up with borrowed bytes
/// (no `String` is created on the hot path).
///
/// Open addressing with linear probing; keys live in one byte arena. With `folding`, keys are
/// compared after ASCII lower-casing and mapping `_` to `-` (how nginx's header table treats
/// header names), which is how header names are looked up.
struct ByteTable: Sendable {
    private var slots: [Slot] = []
    private var arena: [UInt8] = []
    private var mask = 0
    private let folding: Bool
    /// Number of distinct keys.
    private(set) var count = 0

    private struct Slot: Sendable {
        var hash: UInt64 = 0
        var offset: Int32 = -1
        var length: Int32 = 0
        var value: Int32 = 0
    }

    /// Builds the table; with duplicate keys the first value wins.
    init(_ entries: [(key: [UInt8], value: Int32)], folding: Bool = false) {
        self.folding = folding
        guard !entries.isEmpty else { return }
        var capacity = 8
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = Array(repeating: Slot(), count: capacity)
        mask = capacity - 1
        for (key, value) in entries {
            let found = key.withUnsafeBufferPointer { lookup($0) }
            if found != nil { continue }
            let h = ByteTable.hash(key, folding: folding)
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i].offset >= 0 { i = (i + 1) & mask }
            slots[i] = Slot(hash: h, offset: Int32(arena.count), length: Int32(key.count), value: value)
            arena.append(contentsOf: key)
            count += 1
        }
    }

    /// Whether the table has no key.
    var isEmpty: Bool { count == 0 }

    /// The value stored for `key`, or nil.
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        if count == 0 { return nil }
        let h = ByteTable.hash(key, folding: folding)
        var i = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBufferPointer { arena in
                while true {
                    let slot = slots[i]
                    if slot.offset < 0 { return nil }
                    if slot.hash == h, Int(slot.length) == key.count,
                        equal(arena, Int(slot.offset), key)
                    {
                        return slot.value
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// ``lookup(_:)`` for an array key (build time and tests).
    func lookup(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { lookup($0) } }

    private func equal(_ arena: UnsafeBufferPointer<UInt8>, _ offset: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        if folding {
            for j in 0..<key.count where ByteTable.fold(arena[offset + j]) != ByteTable.fold(key[j]) { return false }
        } else {
            for j in 0..<key.count where arena[offset + j] != key[j] { return false }
        }
        return true
    }

    @inline(__always)
    static func fold(_ b: UInt8) -> UInt8 {
        if b >= 0x41 && b <= 0x5A { return b | 0x20 }
        return b == 0x5F ? 0x2D : b
    }

    /// FNV-1a, 64 bits.
    static func hash<C: Collection>(_ key: C, folding: Bool) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if folding {
            for b in key { h = (h ^ UInt64(fold(b))) &* 0x100_0000_01b3 }
        } else {
            for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        return h
    }
}

/// Byte helpers shared by the matchers.
enum Bytes {
    /// ASCII lower-case.
    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// Whether `buf[from..<from+needle.count]` equals `needle`.
    @inline(__always)
    static func matches(_ buf: UnsafeBufferPointer<UInt8>, at from: Int, _ needle: [UInt8]) -> Bool {
        if from < 0 || from + needle.count > buf.count { return false }
        return needle.withUnsafeBufferPointer { n in
            for j in 0..<n.count where buf[from + j] != n[j] { return false }
            return true
        }
    }

    /// Whether `buf` equals `other` byte for byte.
    @inline(__always)
    static func equal(_ buf: UnsafeBufferPointer<UInt8>, _ other: [UInt8]) -> Bool {
        buf.count == other.count && matches(buf, at: 0, other)
    }

    /// Whether `buf` starts with `prefix`.
    @inline(__always)
    static func hasPrefix(_ buf: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8]) -> Bool {
        matches(buf, at: 0, prefix)
    }

    /// Whether `buf` ends with `suffix`.
    @inline(__always)
    static func hasSuffix(_ buf: UnsafeBufferPointer<UInt8>, _ suffix: [UInt8]) -> Bool {
        matches(buf, at: buf.count - suffix.count, suffix)
    }

    /// ASCII case-insensitive equality of `buf` and an already lower-cased `lowered`.
    @inline(__always)
    static func equalLowered(_ buf: UnsafeBufferPointer<UInt8>, _ lowered: [UInt8]) -> Bool {
        if buf.count != lowered.count { return false }
        return lowered.withUnsafeBufferPointer { l in
            for j in 0..<l.count where lower(buf[j]) != l[j] { return false }
            return true
        }
    }

    /// Whether every byte is an ASCII digit (true for an empty buffer, like Kong's `onlydigits`).
    static func allDigits(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in buf where b < 0x30 || b > 0x39 { return false }
        return true
    }

    /// The decimal value of an all-digit buffer (saturated), nil when empty or not digits.
    static func decimal(_ buf: UnsafeBufferPointer<UInt8>) -> Int? {
        if buf.isEmpty || !allDigits(buf) { return nil }
        var v = 0
        for b in buf { v = min(v * 10 + Int(b - 0x30), 1 << 40) }
        return v
    }

    /// Runs `body` on the UTF-8 bytes of `s` without copying native strings.
    @inline(__always)
    static func with<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
        return Array(s.utf8).withUnsafeBufferPointer(body)
    }

    /// Runs `body` on the UTF-8 bytes of a substring without copying native strings.
    @inline(__always)
    static func with<R>(_ s: Substring, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
        return Array(s.utf8).withUnsafeBufferPointer(body)
    }

    /// Whether the bytes are valid UTF-8 (ATC routers reject other request paths).
    static func isValidUTF8(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < buf.count {
            let b = buf[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let n: Int
            if b & 0xE0 == 0xC0, b >= 0xC2 {
                n = 1
            } else if b & 0xF0 == 0xE0 {
                n = 2
            } else if b & 0xF8 == 0xF0, b <= 0xF4 {
                n = 3
            } else {
                return false
            }
            if i + n >= buf.count { return false }
            for k in 1...n where buf[i + k] & 0xC0 != 0x80 { return false }
            if n == 2 {
                let c = buf[i + 1]
                if (b == 0xE0 && c < 0xA0) || (b == 0xED && c >= 0xA0) { return false }
            } else if n == 3 {
                let c = buf[i + 1]
                if (b == 0xF0 && c < 0x90) || (b == 0xF4 && c >= 0x90) { return false }
            }
            i += n + 1
        }
        return true
    }
}
