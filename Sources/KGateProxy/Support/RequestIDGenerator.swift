import KGatePlugins

/// Kong's request id (`$kong_request_id`): 128 random bits written as 32 lower-case hex digits.
/// Kept as two words; the text is written straight into heads, and made a `String` only when
/// something asks for one (errors, logs, plugins).
struct RequestID: Sendable, Hashable {
    var high: UInt64
    var low: UInt64

    static let zero = RequestID(high: 0, low: 0)

    /// The 32 hex digits.
    var string: String { RequestIDText.string(high: high, low: low) }

    /// Calls `body` with the 32 hex digits on the stack.
    @inline(__always)
    func withHexDigits<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { out in
            RequestIDText.write(high: high, low: low, into: out)
            return body(UnsafeBufferPointer(out))
        }
    }
}

/// Makes request ids. One generator per event loop, so no lock: a wyrand stream seeded from the
/// system's random source. Ids only need to be unique, not secret.
struct RequestIDGenerator {
    private var state: UInt64

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        state = seed
    }

    private mutating func next64() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let product = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }

    /// A new id (no allocation).
    mutating func next() -> RequestID {
        RequestID(high: next64(), low: next64())
    }
}
