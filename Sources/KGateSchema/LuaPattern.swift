/// Lua 5.1 patterns (`string.find` / `string.match` / `string.gsub`), the dialect of Kong's
/// `match*` validators and of much of Kong's own string handling.
///
/// Matching works on **bytes** (the UTF-8 encoding of Swift strings), in the C locale: `%a`, `%w`
/// and friends only know ASCII, and every byte >= 0x80 is a non-letter, non-space, non-punctuation
/// byte that only a literal, `.`, a complement class (`%A`, `%W`...) or a byte range can match.
///
/// Supported: `.`, classes `%a %c %d %g %l %p %s %u %w %x %z` and their upper-case complements,
/// `%<non-alnum>` escapes, sets `[...]` (ranges, `^` negation, classes inside), quantifiers
/// `* + - ?`, anchors `^` (pattern start only) and `$` (pattern end only), captures `()` including
/// position captures `()`, `%bxy`, `%f[set]` and back-references `%1`-`%9`.
///
/// **Byte escapes.** A pattern built with `LuaPattern(_: String)` is the string's UTF-8 bytes,
/// verbatim. Kong writes some patterns with raw bytes (`"[%w\128-\244]"`); a Swift `"\u{80}"` is
/// two UTF-8 bytes, so such patterns must be built with ``init(luaLiteral:)``, which decodes the
/// escapes of a Lua string literal (`\ddd` decimal bytes, `\xhh`, `\n`, `\\`...) exactly as Lua's
/// lexer does: `LuaPattern(luaLiteral: #"^[%w%.%-%_~\128-\244]+$"#)`.
///
/// Positions are **0-based byte offsets** (Lua's 1-based position minus one).
public struct LuaPattern: Sendable, Hashable {
    /// The pattern's bytes as the matcher reads them.
    public let bytes: [UInt8]

    /// A pattern made of the UTF-8 bytes of `pattern`, verbatim (no escape processing).
    public init(_ pattern: String) { bytes = Array(pattern.utf8) }

    /// A pattern made of raw bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A pattern written as the body of a Lua string literal: `\ddd` (decimal, up to 3 digits),
    /// `\xhh`, `\a \b \f \n \r \t \v \\ \" \'` are decoded to bytes; anything else is kept.
    public init(luaLiteral source: String) {
        let simple: [UInt8: UInt8] = [0x61: 7, 0x62: 8, 0x66: 12, 0x6E: 10, 0x72: 13, 0x74: 9, 0x76: 11]
        let src = Array(source.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < src.count {
            let c = src[i]
            i += 1
            guard c == 0x5C, i < src.count else { out.append(c); continue }
            let e = src[i]
            i += 1
            if let b = simple[e] {
                out.append(b)
            } else if e == 0x78, i + 1 < src.count, let hi = PathNormalizer.hexValue(src[i]),
                      let lo = PathNormalizer.hexValue(src[i + 1]) {
                out.append(hi << 4 | lo)
                i += 2
            } else if LuaMatcher.isDigit(e) {
                var v = Int(e - 0x30)
                for _ in 0..<2 where i < src.count && LuaMatcher.isDigit(src[i]) {
                    v = v * 10 + Int(src[i] - 0x30)
                    i += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))
            } else {
                out.append(e)
            }
        }
        bytes = out
    }
}

/// A malformed pattern, with Lua's own message (`malformed pattern (missing ']')`...).
public struct LuaPatternError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension LuaPattern {
    /// One capture of a match: a byte range of the subject, or a position capture `()`.
    public enum Capture: Sendable, Hashable {
        case range(Range<Int>)
        /// A position capture: the 0-based byte offset (Lua would return offset + 1).
        case position(Int)
    }

    /// A successful match: the matched byte range and the pattern's captures (empty without `()`).
    public struct Match: Sendable, Hashable {
        public var range: Range<Int>
        public var captures: [Capture]

        /// What Lua's `string.match` returns, as strings: the captures, or the whole match when
        /// the pattern has none. Position captures render as Lua's 1-based number.
        public func values(in subject: String) -> [String] { values(inBytes: Array(subject.utf8)) }

        /// ``values(in:)`` for a byte subject.
        public func values(inBytes subject: [UInt8]) -> [String] {
            if captures.isEmpty { return [String(decoding: subject[range], as: UTF8.self)] }
            return captures.map {
                switch $0 {
                case .range(let r): return String(decoding: subject[r], as: UTF8.self)
                case .position(let p): return String(p + 1)
                }
            }
        }
    }

    /// Lua's `string.find(subject, pattern, from + 1)`: the first match at or after byte `from`
    /// (negative counts as 0; past the end finds nothing, as in LuaJIT).
    public func find(in subject: String, from: Int = 0) throws(LuaPatternError) -> Match? {
        var s = subject
        return try s.withUTF8 { find(inBuffer: $0, from: from) }.get()
    }

    /// ``find(in:from:)`` on bytes.
    public func find(inBytes subject: [UInt8], from: Int = 0) throws(LuaPatternError) -> Match? {
        try subject.withUnsafeBufferPointer { find(inBuffer: $0, from: from) }.get()
    }

    /// Lua's `string.match(subject, pattern)`: the captures (or whole match) as strings, or nil.
    public func match(_ subject: String) throws(LuaPatternError) -> [String]? {
        try find(in: subject)?.values(in: subject)
    }

    /// Whether the pattern matches anywhere in `subject` (`subject:match(p) ~= nil`).
    /// A malformed pattern (a Lua error in Kong) answers false.
    public func matches(_ subject: String) -> Bool {
        var s = subject
        return s.withUTF8 { buf in withMatcher(buf) { $0.matchesAnywhere() } }
    }

    /// ``matches(_:)`` on bytes.
    public func matches(bytes subject: [UInt8]) -> Bool {
        subject.withUnsafeBufferPointer { buf in withMatcher(buf) { $0.matchesAnywhere() } }
    }

    /// Lua's `string.gsub(subject, pattern, repl, maxCount)` with a string template: `%0` is the
    /// whole match, `%1`-`%9` the captures, `%x` any other byte. Returns the result and the count.
    public func gsub(_ subject: String, _ replacement: String, maxCount: Int = .max) throws(LuaPatternError) -> (String, Int) {
        let repl = Array(replacement.utf8)
        let (out, n) = try gsub(bytes: Array(subject.utf8), maxCount: maxCount) { (m, src) throws(LuaPatternError) in
            var r: [UInt8] = []
            var i = 0
            while i < repl.count {
                let c = repl[i]
                i += 1
                guard c == 0x25 else { r.append(c); continue }
                let d: UInt8 = i < repl.count ? repl[i] : 0
                i += 1
                if d < 0x30 || d > 0x39 { r.append(d); continue }
                if d == 0x30 { r.append(contentsOf: src[m.range]); continue }
                let idx = Int(d - 0x31)
                if m.captures.isEmpty, idx == 0 { r.append(contentsOf: src[m.range]); continue }
                guard idx < m.captures.count else { throw LuaPatternError("invalid capture index") }
                switch m.captures[idx] {
                case .range(let cr): r.append(contentsOf: src[cr])
                case .position(let p): r.append(contentsOf: Array(String(p + 1).utf8))
                }
            }
            return r
        }
        return (String(decoding: out, as: UTF8.self), n)
    }

    /// Lua's `string.gsub` with a function: `transform` gets each match and the subject bytes and
    /// returns the replacement bytes, or nil to keep the match unchanged (Lua's `false`/`nil`).
    public func gsub(
        bytes subject: [UInt8], maxCount: Int = .max,
        _ transform: (Match, [UInt8]) throws(LuaPatternError) -> [UInt8]?
    ) throws(LuaPatternError) -> ([UInt8], Int) {
        var matches: [Match] = []
        let found: Result<Void, LuaPatternError> = subject.withUnsafeBufferPointer { buf in
            withMatcher(buf) { m in
                var src = 0
                let anchor = m.pc(0) == 0x5E
                while matches.count < maxCount {
                    m.level = 0
                    let e: Int?
                    do throws(LuaPatternError) { e = try m.doMatch(src, anchor ? 1 : 0) } catch { return .failure(error) }
                    if let e {
                        switch m.captureList() {
                        case .success(let caps): matches.append(Match(range: src..<e, captures: caps))
                        case .failure(let err): return .failure(err)
                        }
                    }
                    if let e, e > src { src = e } else if src < buf.count { src += 1 } else { break }
                    if anchor { break }
                }
                return .success(())
            }
        }
        try found.get()
        var out: [UInt8] = []
        out.reserveCapacity(subject.count)
        var last = 0
        for m in matches {
            out.append(contentsOf: subject[last..<m.range.lowerBound])
            out.append(contentsOf: try transform(m, subject) ?? Array(subject[m.range]))
            last = m.range.upperBound
        }
        out.append(contentsOf: subject[last...])
        return (out, matches.count)
    }

    /// Whether `pattern` matches anywhere in `subject` (Lua's `subject:match(pattern) ~= nil`).
    /// The pattern is the string's bytes verbatim; a malformed pattern answers false.
    /// Allocates nothing (captures live on the stack).
    public static func matches(_ subject: String, _ pattern: String) -> Bool {
        var s = subject
        var p = pattern
        return s.withUTF8 { sb in p.withUTF8 { pb in run(sb, pb) { $0.matchesAnywhere() } } }
    }

    /// `string.find(subject, pattern)` with a verbatim pattern string.
    public static func find(_ subject: String, _ pattern: String, from: Int = 0) throws(LuaPatternError) -> Match? {
        try LuaPattern(pattern).find(in: subject, from: from)
    }

    /// `string.match(subject, pattern)` with a verbatim pattern string.
    public static func match(_ subject: String, _ pattern: String) throws(LuaPatternError) -> [String]? {
        try LuaPattern(pattern).match(subject)
    }

    private func find(inBuffer buf: UnsafeBufferPointer<UInt8>, from: Int) -> Result<Match?, LuaPatternError> {
        if from > buf.count { return .success(nil) }  // LuaJIT: init beyond #s + 1 finds nothing
        return withMatcher(buf) { m in
            switch m.search(from: Swift.max(from, 0)) {
            case .failure(let e): return .failure(e)
            case .success(nil): return .success(nil)
            case .success(let (s, e)?): return m.captureList().map { Match(range: s..<e, captures: $0) }
            }
        }
    }

    private func withMatcher<R>(_ subject: UnsafeBufferPointer<UInt8>, _ body: (inout LuaMatcher) -> R) -> R {
        bytes.withUnsafeBufferPointer { LuaPattern.run(subject, $0, body) }
    }

    private static func run<R>(
        _ subject: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>, _ body: (inout LuaMatcher) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: LuaMatcher.Slot.self, capacity: LuaMatcher.maxCaptures) { caps in
            var m = LuaMatcher(src: subject, pat: pattern, caps: caps.baseAddress!)
            return body(&m)
        }
    }
}

/// The matcher proper: Lua 5.1's `lstrlib.c` algorithm over byte buffers. Reading past the end
/// of the pattern or subject yields 0, as the C code reads the terminating NUL.
struct LuaMatcher {
    struct Slot { var start: Int; var len: Int }
    static let maxCaptures = 32
    static let unfinished = -1
    static let position = -2

    let src: UnsafeBufferPointer<UInt8>
    let pat: UnsafeBufferPointer<UInt8>
    let caps: UnsafeMutablePointer<Slot>
    var level = 0

    @inline(__always) func pc(_ i: Int) -> UInt8 { i < pat.count ? pat[i] : 0 }
    @inline(__always) func sc(_ i: Int) -> UInt8 { i >= 0 && i < src.count ? src[i] : 0 }

    /// `str_find_aux`: tries each start position (only the first when anchored by `^`).
    mutating func search(from: Int) -> Result<(Int, Int)?, LuaPatternError> {
        let anchor = pc(0) == 0x5E
        var s1 = from
        while true {
            level = 0
            do throws(LuaPatternError) {
                if let e = try doMatch(s1, anchor ? 1 : 0) { return .success((s1, e)) }
            } catch { return .failure(error) }
            if anchor || s1 >= src.count { return .success(nil) }
            s1 += 1
        }
    }

    /// A match exists and leaves no capture open (Lua raises `unfinished capture` otherwise).
    mutating func matchesAnywhere() -> Bool {
        guard case .success(.some) = search(from: 0) else { return false }
        return (0..<level).allSatisfy { caps[$0].len != LuaMatcher.unfinished }
    }

    /// The captures of the last successful match (`push_captures`).
    func captureList() -> Result<[LuaPattern.Capture], LuaPatternError> {
        var out: [LuaPattern.Capture] = []
        for i in 0..<level {
            let slot = caps[i]
            if slot.len == LuaMatcher.unfinished { return .failure(LuaPatternError("unfinished capture")) }
            out.append(slot.len == LuaMatcher.position ? .position(slot.start) : .range(slot.start..<slot.start + slot.len))
        }
        return .success(out)
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    static func matchClass(_ c: UInt8, _ cl: UInt8) -> Bool {
        let res: Bool
        switch cl | 0x20 {
        case UInt8(ascii: "a"): res = isAlpha(c)
        case UInt8(ascii: "c"): res = c < 0x20 || c == 0x7F
        case UInt8(ascii: "d"): res = isDigit(c)
        case UInt8(ascii: "g"): res = c > 0x20 && c < 0x7F
        case UInt8(ascii: "l"): res = c >= 0x61 && c <= 0x7A
        case UInt8(ascii: "p"): res = c > 0x20 && c < 0x7F && !isAlpha(c) && !isDigit(c)
        case UInt8(ascii: "s"): res = c == 0x20 || (c >= 0x09 && c <= 0x0D)
        case UInt8(ascii: "u"): res = c >= 0x41 && c <= 0x5A
        case UInt8(ascii: "w"): res = isAlpha(c) || isDigit(c)
        case UInt8(ascii: "x"): res = isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)
        case UInt8(ascii: "z"): res = c == 0
        default: return cl == c
        }
        return cl >= 0x61 ? res : !res
    }

    /// `p` is at `[`, `ec` at the closing `]`.
    func matchBracketClass(_ c: UInt8, _ pStart: Int, _ ec: Int) -> Bool {
        let sig = pc(pStart + 1) != 0x5E
        var p = sig ? pStart + 1 : pStart + 2
        while p < ec {
            if pc(p) == 0x25 {
                p += 1
                if LuaMatcher.matchClass(c, pc(p)) { return sig }
                p += 1
            } else if pc(p + 1) == 0x2D, p + 2 < ec {
                if pc(p) <= c, c <= pc(p + 2) { return sig }
                p += 3
            } else {
                if pc(p) == c { return sig }
                p += 1
            }
        }
        return !sig
    }

    func classEnd(_ start: Int) throws(LuaPatternError) -> Int {
        var p = start
        let c = pc(p)
        p += 1
        if c == 0x25 {
            if pc(p) == 0 { throw LuaPatternError("malformed pattern (ends with '%')") }
            return p + 1
        }
        guard c == 0x5B else { return p }
        if pc(p) == 0x5E { p += 1 }
        repeat {
            if pc(p) == 0 { throw LuaPatternError("malformed pattern (missing ']')") }
            let cc = pc(p)
            p += 1
            if cc == 0x25, pc(p) != 0 { p += 1 }
        } while pc(p) != 0x5D
        return p + 1
    }

    func singleMatch(_ c: UInt8, _ p: Int, _ ep: Int) -> Bool {
        switch pc(p) {
        case 0x2E: return true
        case 0x25: return LuaMatcher.matchClass(c, pc(p + 1))
        case 0x5B: return matchBracketClass(c, p, ep - 1)
        default: return pc(p) == c
        }
    }

    mutating func doMatch(_ sStart: Int, _ pStart: Int) throws(LuaPatternError) -> Int? {
        var s = sStart
        var p = pStart
        while true {
            let c = pc(p)
            switch c {
            case 0x28:  // (
                if pc(p + 1) == 0x29 { return try startCapture(s, p + 2, LuaMatcher.position) }
                return try startCapture(s, p + 1, LuaMatcher.unfinished)
            case 0x29:  // )
                return try endCapture(s, p + 1)
            case 0:
                return s
            case 0x24 where pc(p + 1) == 0:  // $ at the end
                return s == src.count ? s : nil
            case 0x25 where pc(p + 1) == UInt8(ascii: "b"):
                guard let e = try matchBalance(s, p + 2) else { return nil }
                s = e
                p += 4
                continue
            case 0x25 where pc(p + 1) == UInt8(ascii: "f"):
                p += 2
                if pc(p) != 0x5B { throw LuaPatternError("missing '[' after '%f' in pattern") }
                let ep = try classEnd(p)
                let previous = s == 0 ? 0 : sc(s - 1)
                if matchBracketClass(previous, p, ep - 1) || !matchBracketClass(sc(s), p, ep - 1) { return nil }
                p = ep
                continue
            case 0x25 where LuaMatcher.isDigit(pc(p + 1)):
                guard let e = try matchCapture(s, pc(p + 1)) else { return nil }
                s = e
                p += 2
                continue
            default:
                break
            }
            let ep = try classEnd(p)
            let m = s < src.count && singleMatch(src[s], p, ep)
            switch pc(ep) {
            case 0x3F:  // ?
                if m, let r = try doMatch(s + 1, ep + 1) { return r }
                p = ep + 1
            case 0x2A:  // *
                return try maxExpand(s, p, ep)
            case 0x2B:  // +
                return m ? try maxExpand(s + 1, p, ep) : nil
            case 0x2D:  // -
                return try minExpand(s, p, ep)
            default:
                guard m else { return nil }
                s += 1
                p = ep
            }
        }
    }

    func matchBalance(_ s: Int, _ p: Int) throws(LuaPatternError) -> Int? {
        let (b, e) = (pc(p), pc(p + 1))
        if b == 0 || e == 0 { throw LuaPatternError("unbalanced pattern") }
        guard s < src.count, src[s] == b else { return nil }
        var cont = 1
        for i in s + 1..<max(src.count, s + 1) {
            if src[i] == e {
                cont -= 1
                if cont == 0 { return i + 1 }
            } else if src[i] == b {
                cont += 1
            }
        }
        return nil
    }

    mutating func maxExpand(_ s: Int, _ p: Int, _ ep: Int) throws(LuaPatternError) -> Int? {
        var i = 0
        while s + i < src.count, singleMatch(src[s + i], p, ep) { i += 1 }
        while i >= 0 {
            if let r = try doMatch(s + i, ep + 1) { return r }
            i -= 1
        }
        return nil
    }

    mutating func minExpand(_ sStart: Int, _ p: Int, _ ep: Int) throws(LuaPatternError) -> Int? {
        var s = sStart
        while true {
            if let r = try doMatch(s, ep + 1) { return r }
            guard s < src.count, singleMatch(src[s], p, ep) else { return nil }
            s += 1
        }
    }

    mutating func startCapture(_ s: Int, _ p: Int, _ what: Int) throws(LuaPatternError) -> Int? {
        if level >= LuaMatcher.maxCaptures { throw LuaPatternError("too many captures") }
        caps[level] = Slot(start: s, len: what)
        level += 1
        let r = try doMatch(s, p)
        if r == nil { level -= 1 }
        return r
    }

    mutating func endCapture(_ s: Int, _ p: Int) throws(LuaPatternError) -> Int? {
        var l = level - 1
        while l >= 0, caps[l].len != LuaMatcher.unfinished { l -= 1 }
        if l < 0 { throw LuaPatternError("invalid pattern capture") }
        caps[l].len = s - caps[l].start
        let r = try doMatch(s, p)
        if r == nil { caps[l].len = LuaMatcher.unfinished }
        return r
    }

    func matchCapture(_ s: Int, _ d: UInt8) throws(LuaPatternError) -> Int? {
        let l = Int(d) - 0x31
        if l < 0 || l >= level || caps[l].len == LuaMatcher.unfinished { throw LuaPatternError("invalid capture index") }
        let len = caps[l].len
        guard len >= 0, src.count - s >= len else { return nil }
        let start = caps[l].start
        for k in 0..<len where src[start + k] != src[s + k] { return nil }
        return s + len
    }
}
