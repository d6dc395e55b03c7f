import CPCRE2

/// A PCRE2 regex compiled once (with JIT when available), in OpenResty's `ngx.re` dialect:
/// byte-oriented (no UTF mode unless asked), no implicit anchoring unless `.anchored`.
///
/// **Why `Sendable`.** After `pcre2_compile` and `pcre2_jit_compile` return, the `pcre2_code`
/// is never written again; PCRE2 documents a compiled pattern (JIT code included) as safe to
/// share between threads. The match context (holding the match limit) is likewise only read by
/// `pcre2_match`. Everything mutable during a match lives in a `pcre2_match_data` created for
/// that call alone, and the JIT uses its default on-stack area (no shared JIT stack). The raw
/// pointers are therefore `nonisolated(unsafe)` lets, freed in `deinit`.
public final class PCRERegex: Sendable {
    /// Compile options, named after `ngx.re` flags.
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// `i`
        public static let caseless = Options(rawValue: PCRE2_CASELESS)
        /// `m`
        public static let multiline = Options(rawValue: PCRE2_MULTILINE)
        /// `s`
        public static let dotAll = Options(rawValue: PCRE2_DOTALL)
        /// `x`
        public static let extended = Options(rawValue: PCRE2_EXTENDED)
        /// `a`: the match must start at the start position.
        public static let anchored = Options(rawValue: PCRE2_ANCHORED)
        /// `u` / `U`: UTF-8 mode.
        public static let utf = Options(rawValue: PCRE2_UTF)
        /// `D`: duplicate group names allowed.
        public static let dupNames = Options(rawValue: PCRE2_DUPNAMES)
        /// `J`: JavaScript compatibility (PCRE2's split of PCRE1's `PCRE_JAVASCRIPT_COMPAT`).
        public static let javascriptCompat = Options(
            rawValue: PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_MATCH_UNSET_BACKREF)

        /// Parses `ngx.re` option letters (`"ajo"`, `"ijo"`...). The execution-only flags `j`
        /// (JIT: always on here), `o` (compile once) and `d` (DFA, unsupported) are accepted and
        /// ignored. Returns nil for an unknown letter, as `ngx.re` raises an error.
        public init?(ngxFlags: String) {
            var o: Options = []
            for c in ngxFlags {
                switch c {
                case "a": o.insert(.anchored)
                case "i": o.insert(.caseless)
                case "m": o.insert(.multiline)
                case "s": o.insert(.dotAll)
                case "x": o.insert(.extended)
                case "u", "U": o.insert(.utf)
                case "D": o.insert(.dupNames)
                case "J": o.insert(.javascriptCompat)
                case "j", "o", "d": break
                default: return nil
                }
            }
            self = o
        }
    }

    /// Kong's router prepends `(*LIMIT_MATCH=10000)` to its regexes; this is that limit.
    public static let defaultMatchLimit: UInt32 = 10_000
    /// Kong's `nginx_http_lua_regex_match_limit` (100,000): the limit of the `ngx.re` calls
    /// plugins make.
    public static let pluginMatchLimit: UInt32 = 100_000

    /// The pattern as given.
    public let pattern: String
    public let options: Options
    /// Number of capture groups (not counting group 0).
    public let captureCount: Int
    /// Named groups and their numbers (with duplicate names, the lowest number).
    public let groupNames: [String: Int]
    /// Whether JIT compilation succeeded (matching falls back to the interpreter otherwise).
    public let isJITCompiled: Bool

    nonisolated(unsafe) private let code: OpaquePointer
    nonisolated(unsafe) private let matchContext: OpaquePointer?

    /// Compiles `pattern` (bytes, may contain NULs) with `options`; `matchLimit` bounds
    /// backtracking (nil: PCRE2's default of 10,000,000).
    public init(_ pattern: String, options: Options = [], matchLimit: UInt32? = PCRERegex.defaultMatchLimit) throws(PCREError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        var pat = pattern
        let compiled: OpaquePointer? = pat.withUTF8 { buf in
            pcre2_compile_8(buf.baseAddress ?? PCRERegex.emptyBytes, buf.count, options.rawValue, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw PCREError(code: errorCode, message: PCREError.message(for: errorCode), offset: errorOffset)
        }
        self.code = compiled
        self.pattern = pattern
        self.options = options
        self.isJITCompiled = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        self.captureCount = Int(count)
        self.groupNames = PCRERegex.readNames(compiled)
        if let matchLimit, let ctx = pcre2_match_context_create_8(nil) {
            pcre2_set_match_limit_8(ctx, matchLimit)
            self.matchContext = ctx
        } else {
            self.matchContext = nil
        }
    }

    deinit {
        if let matchContext { pcre2_match_context_free_8(matchContext) }
        pcre2_code_free_8(code)
    }

    /// Whether the regex matches `subject`. A matching error (e.g. the match limit) answers
    /// false, as Kong's router treats `ngx.re.find` errors as "no match".
    public func matches(_ subject: String) -> Bool {
        (try? firstMatch(in: subject, capture: false)) != nil
    }

    /// The first match at or after byte `from`, with its numbered and named groups.
    /// Throws for matching errors such as `PCRE2_ERROR_MATCHLIMIT`.
    public func firstMatch(in subject: String, from: Int = 0) throws(PCREError) -> PCREMatch? {
        try firstMatch(in: subject, from: from, capture: true)
    }

    /// The raw `pcre2_match` return code against `subject` (>= 0: match; -1: no match;
    /// other negative values: errors). For callers that report errors as `ngx.re` does.
    public func execute(_ subject: String) -> Int32 {
        var s = subject
        return s.withUTF8 { buf in
            guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else { return PCRE2_ERROR_NOMEMORY }
            defer { pcre2_match_data_free_8(md) }
            return pcre2_match_8(code, buf.baseAddress ?? PCRERegex.emptyBytes, buf.count, 0, 0, md, matchContext)
        }
    }

    private func firstMatch(in subject: String, from: Int = 0, capture: Bool) throws(PCREError) -> PCREMatch? {
        var s = subject
        let result: Result<PCREMatch?, PCREError> = s.withUTF8 { buf in
            guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else {
                return .failure(PCREError(code: PCRE2_ERROR_NOMEMORY, message: "no memory", offset: nil))
            }
            defer { pcre2_match_data_free_8(md) }
            let start = min(max(from, 0), buf.count)
            let rc = pcre2_match_8(code, buf.baseAddress ?? PCRERegex.emptyBytes, buf.count, start, 0, md, matchContext)
            if rc == PCRE2_ERROR_NOMATCH { return .success(nil) }
            if rc < 0 { return .failure(PCREError(code: rc, message: PCREError.message(for: rc), offset: nil)) }
            let ovector = pcre2_get_ovector_pointer_8(md)!
            let pairs = capture ? captureCount + 1 : 1
            var ranges: [Range<Int>?] = []
            ranges.reserveCapacity(pairs)
            for i in 0..<pairs {
                let a = ovector[2 * i], b = ovector[2 * i + 1]
                // PCRE2_UNSET is ~0, which Swift's `Int` (size_t) sees as -1.
                ranges.append(i < Int(rc) || i == 0 ? (a >= 0 && b >= a ? a..<b : nil) : nil)
            }
            let groups = ranges.map { r in r.map { String(decoding: UnsafeBufferPointer(rebasing: buf[$0]), as: UTF8.self) } }
            return .success(PCREMatch(ranges: ranges, groups: groups, names: groupNames))
        }
        return try result.get()
    }

    /// A non-null pointer for empty subjects (PCRE2 before 10.43 rejects NULL with length 0).
    nonisolated(unsafe) private static let emptyBytes: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    private static func readNames(_ code: OpaquePointer) -> [String: Int] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        guard pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count) == 0, count > 0,
              pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize) == 0,
              pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table) == 0, let table
        else { return [:] }
        var names: [String: Int] = [:]
        for i in 0..<Int(count) {
            let entry = table + i * Int(entrySize)
            let number = Int(entry[0]) << 8 | Int(entry[1])
            var len = 0
            while len < Int(entrySize) - 2, entry[2 + len] != 0 { len += 1 }
            let name = String(decoding: UnsafeBufferPointer(start: entry + 2, count: len), as: UTF8.self)
            if names[name] == nil { names[name] = number }
        }
        return names
    }
}

/// One match: group 0 is the whole match; unset groups are nil. Offsets are UTF-8 byte offsets.
public struct PCREMatch: Sendable, Hashable {
    /// Byte ranges of the groups in the subject.
    public let ranges: [Range<Int>?]
    /// The groups' text (bytes decoded as UTF-8).
    public let groups: [String?]
    /// Group names to numbers.
    public let names: [String: Int]

    /// The whole match.
    public var range: Range<Int> { ranges[0]! }

    /// Group `i`'s text, nil when unset or out of range.
    public subscript(_ i: Int) -> String? { i >= 0 && i < groups.count ? groups[i] : nil }

    /// A named group's text.
    public subscript(_ name: String) -> String? { names[name].flatMap { self[$0] } }
}
