/// A cheap, dependency-free fingerprint of a file's content: FNV-1a (64-bit) and the byte count.
///
/// It only decides "same content as last time?"; it is not Kong's `configuration_hash`
/// (the caller computes that md5 itself) and is not meant to resist deliberate collisions.
public struct ContentFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The FNV-1a 64-bit hash of the bytes.
    public let hash: UInt64
    /// The number of bytes.
    public let byteCount: Int

    /// Fingerprints `bytes`.
    public init(of bytes: some Collection<UInt8>) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        self.hash = hash
        self.byteCount = bytes.count
    }

    /// Fingerprints `bytes` (fast path for arrays).
    public init(of bytes: [UInt8]) {
        self = bytes.withUnsafeBufferPointer { ContentFingerprint(of: $0) }
    }

    /// `fnv1a64:<16 hex digits>/<byte count>`.
    public var description: String {
        let hex = String(hash, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex + "/\(byteCount)"
    }
}
