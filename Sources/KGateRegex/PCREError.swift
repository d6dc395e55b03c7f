import CPCRE2

/// A PCRE2 failure: a compile error (with the byte offset in the pattern where PCRE2 stopped)
/// or a matching error (`offset` nil).
public struct PCREError: Error, Sendable, Hashable, CustomStringConvertible {
    /// PCRE2's error code (`PCRE2_ERROR_*` for matching, positive for compile errors).
    public let code: Int32
    /// PCRE2's own text, from `pcre2_get_error_message` (`missing closing parenthesis`).
    public let message: String
    /// For compile errors: the byte offset in the pattern.
    public let offset: Int?

    public init(code: Int32, message: String, offset: Int?) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public var description: String {
        offset.map { "\(message) at offset \($0)" } ?? message
    }

    /// `pcre2_get_error_message` for a code.
    public static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        guard n >= 0 else { return "unknown error \(code)" }
        return String(decoding: buffer.prefix(Int(n)), as: UTF8.self)
    }

    /// The text OpenResty's `ngx.re` returns for this compile error of `pattern` (lua-nginx-module
    /// built with PCRE2, as in Kong):
    ///
    ///     pcre2_compile() failed: <message> in "<pattern>"
    ///     pcre2_compile() failed: <message> in "<pattern>" at "<pattern from offset>"
    ///
    /// The second form is used when PCRE2 stopped before the end of the pattern. As in C, the
    /// message is cut to 127 bytes, the `at` part stops at a NUL byte, and the whole text is cut
    /// to 255 bytes (lua-resty-core's 256-byte error buffer).
    public func openRestyCompileMessage(pattern: String) -> String {
        let pat = Array(pattern.utf8)
        var out = Array("pcre2_compile() failed: ".utf8)
        out += message.utf8.prefix(127)
        out += Array(" in \"".utf8) + pat + [0x22]
        if let offset, offset != pat.count {
            out += Array(" at \"".utf8) + pat[min(offset, pat.count)...].prefix { $0 != 0 } + [0x22]
        }
        return String(decoding: out.prefix(255), as: UTF8.self)
    }
}

extension PCRERegex {
    /// The error `ngx.re.find(subject, pattern, flags)` would return, or nil when there is none
    /// (match or no match). Compile errors are rendered by
    /// ``PCREError/openRestyCompileMessage(pattern:)``; matching errors as lua-resty-core does,
    /// `pcre_exec() failed: <code>`.
    ///
    /// Kong's `router_path` typedef calls `ngx.re.find("", path, "aj")`; its `is_regex`
    /// validator `ngx.re.match("any string", value)`. `matchLimit` defaults to Kong's
    /// `nginx_http_lua_regex_match_limit` (100000).
    public static func ngxReError(
        pattern: String, subject: String, options: Options, matchLimit: UInt32 = 100_000
    ) -> String? {
        let regex: PCRERegex
        do {
            regex = try PCRERegex(pattern, options: options, matchLimit: matchLimit)
        } catch {
            return error.openRestyCompileMessage(pattern: pattern)
        }
        let rc = regex.execute(subject)
        if rc >= 0 || rc == PCRE2_ERROR_NOMATCH { return nil }
        return "pcre_exec() failed: \(rc)"
    }
}
