/// nginx's cookie variables.
public enum NginxCookie {
    /// nginx's `$cookie_<name>`: the first `name=value` among the `Cookie` fields (the name
    /// compared without case), its value up to the next `;`.
    public static func value(_ name: String, in fields: [String]) -> String? {
        let wanted = Array(name.utf8)
        for field in fields {
            let bytes = Array(field.utf8)
            var i = 0
            while i < bytes.count {
                if bytes.count - i >= wanted.count,
                    zip(bytes[i..<(i + wanted.count)], wanted).allSatisfy({ $0 | 0x20 == $1 | 0x20 })
                {
                    var j = i + wanted.count
                    while j < bytes.count, bytes[j] == 0x20 { j += 1 }
                    if j < bytes.count, bytes[j] == UInt8(ascii: "=") {
                        j += 1
                        while j < bytes.count, bytes[j] == 0x20 { j += 1 }
                        let value = bytes[j...].prefix { $0 != UInt8(ascii: ";") }
                        return String(decoding: value, as: UTF8.self)
                    }
                }
                // Skip to the next pair.
                while i < bytes.count {
                    let c = bytes[i]
                    i += 1
                    if c == UInt8(ascii: ";") || c == UInt8(ascii: ",") { break }
                }
                while i < bytes.count, bytes[i] == 0x20 { i += 1 }
            }
        }
        return nil
    }
}
