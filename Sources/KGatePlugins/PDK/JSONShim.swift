import KGateConfig
import KGateSchema

/// cjson-compatible encoding and decoding for plugins.
enum KongJSONEncoderShim {
    static let encoder = KongJSONEncoder()

    /// Appends the cjson encoding of `value`.
    static func encode(_ value: Value, into out: inout [UInt8]) { encoder.encode(value, into: &out) }

    /// The cjson encoding of `value`.
    static func string(_ value: Value) -> String { encoder.encode(value) }

    /// Decodes JSON text; nil when invalid.
    static func decode(_ bytes: [UInt8]) -> Value? {
        guard case .success(let doc) = JSONReader.read(bytes) else { return nil }
        return doc.value
    }
}
