/// Kong's request id as text: two 64-bit words written as 32 lower-case hex digits (the proxy
/// writes it into heads, plugins read it as a `String`).
public enum RequestIDText {
    /// Writes the 32 digits into `out` (at least 32 bytes).
    @inline(__always)
    public static func write(high: UInt64, low: UInt64, into out: UnsafeMutableBufferPointer<UInt8>) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { h in
            for i in 0..<16 {
                out[i] = h[Int((high >> UInt64(60 - 4 * i)) & 0xF)]
                out[16 + i] = h[Int((low >> UInt64(60 - 4 * i)) & 0xF)]
            }
        }
    }

    /// The 32 digits as a string.
    public static func string(high: UInt64, low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 32) { out in
            write(high: high, low: low, into: out)
            return 32
        }
    }
}
