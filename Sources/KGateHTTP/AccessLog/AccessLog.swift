import KGateSettings
import KGateStore

/// An access log as a server writes it: the file and the format of its lines.
public struct AccessLog: Sendable {
    public let file: LogFile
    public let format: AccessLogFormat

    public init(file: LogFile, format: AccessLogFormat) {
        self.file = file
        self.format = format
    }
}

/// nginx's `$remote_user`: the user name of a `Basic` `Authorization` header value, or nil
/// when the value is not one (another scheme, bad base64, no `:` after the user).
public enum BasicAuthUser {
    public static func decode(_ value: UnsafeRawBufferPointer) -> [UInt8]? {
        let scheme: StaticString = "basic "
        guard value.count > scheme.utf8CodeUnitCount else { return nil }
        let matches = scheme.withUTF8Buffer { s in
            (0..<s.count).allSatisfy { i in value[i] | (value[i] >= 0x41 && value[i] <= 0x5A ? 0x20 : 0) == s[i] }
        }
        guard matches else { return nil }
        var i = scheme.utf8CodeUnitCount
        while i < value.count, value[i] == 0x20 { i += 1 }
        var decoded: [UInt8] = []
        var bits: UInt32 = 0
        var count = 0
        var padding = false
        while i < value.count {
            let byte = value[i]
            i += 1
            if byte == 0x3D {  // '='
                padding = true
                continue
            }
            guard !padding, let sextet = Self.sextet(byte) else { return nil }
            bits = bits << 6 | UInt32(sextet)
            count += 6
            if count >= 8 {
                count -= 8
                decoded.append(UInt8(truncatingIfNeeded: bits >> UInt32(count)))
            }
        }
        guard let colon = decoded.firstIndex(of: 0x3A) else { return nil }
        return Array(decoded[..<colon])
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: return byte - 0x41
        case 0x61...0x7A: return byte - 0x61 + 26
        case 0x30...0x39: return byte - 0x30 + 52
        case 0x2B: return 62
        case 0x2F: return 63
        default: return nil
        }
    }
}

/// Runs `body` with a view of `bytes`, or with nil.
public func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
