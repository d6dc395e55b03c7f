import CPCRE2

/// A quick syntax check of a PCRE2 pattern, for validators that only need "does it compile".
public enum RegexSyntax {
    /// Whether `pattern` compiles with PCRE2 (UTF mode off, as OpenResty's default).
    public static func compiles(_ pattern: String) -> Bool {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let code = pattern.utf8CString.withUnsafeBufferPointer { buf -> OpaquePointer? in
            buf.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: buf.count) { ptr in
                pcre2_compile_8(ptr, buf.count - 1, 0, &errorCode, &errorOffset, nil)
            }
        }
        guard let code else { return false }
        pcre2_code_free_8(code)
        return true
    }
}
