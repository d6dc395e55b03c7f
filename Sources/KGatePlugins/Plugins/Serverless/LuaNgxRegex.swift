import CLuaJIT
import KGateLua
import KGateRegex
import Synchronization

/// `ngx.re` (lua-resty-core's semantics) over ``PCRERegex``, and `ngx.re.match_at`, which the
/// prelude's `ngx.re.gmatch` iterates with.
///
/// Offsets are bytes of the subject read as UTF-8 (a subject that is not valid UTF-8 is matched
/// with its invalid bytes replaced). Compiled regexes are shared by all threads' VMs.
enum LuaNgxRegex {
    static let functions: [(name: String, function: LuaPDK.Function)] = [
        ("ngx.re.match", { c in
            withRegex(c, "match", nils: 1) { regex, subject in
                guard let start = start(c, context: 4, subject) else { return c.returning(nil as String?) }
                return search(c, regex, subject, from: start, nils: 1) { m in
                    setPosition(c, context: 4, m.range.upperBound + 1)
                    pushCaptures(c, m, subject)
                    return 1
                }
            }
        }),
        ("ngx.re.find", { c in
            withRegex(c, "find", nils: 2) { regex, subject in
                let nth = max(c.stack.integer(at: 5) ?? 0, 0)
                guard let start = start(c, context: 4, subject) else { return c.returning(nil as String?) }
                return search(c, regex, subject, from: start, nils: 2) { m in
                    setPosition(c, context: 4, m.range.upperBound + 1)
                    guard nth <= regex.captureCount else { return c.failing(nils: 2, "nth out of bound") }
                    guard let range = m.ranges[nth] else { return c.returning(nil as String?) }
                    c.stack.push(range.lowerBound + 1)
                    c.stack.push(range.upperBound)
                    return 2
                }
            }
        }),
        ("ngx.re.match_at", { c in
            withRegex(c, "gmatch", nils: 1) { regex, subject in
                let start = (c.stack.integer(at: 4) ?? 1) - 1
                guard start >= 0, start <= subject.bytes.count else { return c.returning(nil as String?) }
                return search(c, regex, subject, from: start, nils: 1) { m in
                    pushCaptures(c, m, subject)
                    c.stack.push(m.range.upperBound + (m.range.isEmpty ? 2 : 1))
                    return 2
                }
            }
        }),
        ("ngx.re.sub", { c in substitute(c, "sub", global: false) }),
        ("ngx.re.gsub", { c in substitute(c, "gsub", global: true) }),
    ]

    /// A subject: its text, which PCRE2 matches, and the bytes match offsets index.
    struct Subject {
        let text: String
        let bytes: [UInt8]
    }

    // MARK: Calls

    /// Reads the subject (argument 1), the regex (2) and its options (`options`), then runs
    /// `body`. A bad argument or flag raises; a regex that does not compile returns `nils` nils
    /// and lua-resty-core's message.
    private static func withRegex(
        _ c: LuaCall, _ function: String, nils: Int, options: Int32 = 3, _ body: (PCRERegex, Subject) -> Int32
    ) -> Int32 {
        for index: Int32 in [1, 2] where c.type(index) != .string && c.type(index) != .number {
            return c.raise("bad argument #\(index) to '\(function)' (string expected, got \(c.stack.typeName(at: index)))")
        }
        let text = c.string(1)!, pattern = c.string(2)!
        let flags = c.type(options) == .string || c.type(options) == .number ? c.string(options)! : ""
        guard let parsed = PCRERegex.Options(ngxFlags: flags) else {
            let bad = flags.first { PCRERegex.Options(ngxFlags: String($0)) == nil }.map(String.init) ?? flags
            return c.raise("unknown flag \"\(bad)\" (flags \"\(flags)\")")
        }
        let regex: PCRERegex
        do throws(PCREError) {
            regex = try compile(pattern, parsed)
        } catch {
            return c.failing(nils: nils, error.openRestyCompileMessage(pattern: pattern))
        }
        return body(regex, Subject(text: text, bytes: Array(text.utf8)))
    }

    /// Matches at or after byte `from`, then runs `found` with the match; no match returns nil,
    /// a matching error `nils` nils and `pcre_exec() failed: <code>`.
    private static func search(
        _ c: LuaCall, _ regex: PCRERegex, _ subject: Subject, from: Int, nils: Int, _ found: (PCREMatch) -> Int32
    ) -> Int32 {
        let m: PCREMatch?
        do throws(PCREError) {
            m = try regex.firstMatch(in: subject.text, from: from)
        } catch {
            return c.failing(nils: nils, "pcre_exec() failed: \(error.code)")
        }
        guard let m else { return c.returning(nil as String?) }
        return found(m)
    }

    /// The 0-based start of a `match`/`find` with a `ctx` table at `context` (its 1-based
    /// `pos`), 0 without one; nil when `pos` is past the end of the subject.
    private static func start(_ c: LuaCall, context: Int32, _ subject: Subject) -> Int? {
        guard c.type(context) == .table else { return 0 }
        c.stack.getField("pos", in: context)
        defer { c.stack.pop() }
        let start = max((c.stack.integer(at: -1) ?? 1) - 1, 0)
        return start <= subject.bytes.count ? start : nil
    }

    /// Sets `ctx.pos` after a match when a `ctx` table is at `context`.
    private static func setPosition(_ c: LuaCall, context: Int32, _ position: Int) {
        guard c.type(context) == .table else { return }
        c.stack.push(position)
        c.stack.setField("pos", in: context)
    }

    /// Pushes OpenResty's captures table: `[0]` the whole match, `[1]...` the groups (false
    /// when unset), and named groups by name too.
    private static func pushCaptures(_ c: LuaCall, _ m: PCREMatch, _ subject: Subject) {
        let s = c.stack
        s.newTable(array: m.ranges.count, record: m.names.count)
        func pushGroup(_ i: Int) {
            if let range = m.ranges[i] { s.push(bytes: subject.bytes[range]) } else { s.push(false) }
        }
        for i in m.ranges.indices {
            pushGroup(i)
            s.setIndex(i, in: -2)
        }
        for (name, i) in m.names where i < m.ranges.count {
            pushGroup(i)
            s.setField(name, in: -2)
        }
    }

    // MARK: Substitution

    /// `ngx.re.sub` and `ngx.re.gsub`: the subject with its first (or every) match replaced by
    /// a template (argument 3, a string) or what a function returns for the captures table;
    /// returns the new string and the number of matches.
    private static func substitute(_ c: LuaCall, _ function: String, global: Bool) -> Int32 {
        guard [.function, .string, .number].contains(c.type(3)) else {
            return c.raise("bad argument #3 to '\(function)' (string or function expected, got \(c.stack.typeName(at: 3)))")
        }
        return withRegex(c, function, nils: 2, options: 4) { regex, subject in
            var template: ReplaceTemplate?
            if c.type(3) != .function {
                template = ReplaceTemplate(c.stack.bytes(at: 3)!)
                if template == nil { return c.failing(nils: 2, "failed to compile the replacement template") }
            }
            var out: [UInt8] = []
            var copied = 0, position = 0, count = 0
            while position <= subject.bytes.count {
                let found: PCREMatch?
                do throws(PCREError) {
                    found = try regex.firstMatch(in: subject.text, from: position)
                } catch {
                    return c.failing(nils: 2, "pcre_exec() failed: \(error.code)")
                }
                guard let m = found else { break }
                count += 1
                out += subject.bytes[copied..<m.range.lowerBound]
                if let template {
                    template.append(m, subject.bytes, to: &out)
                } else {
                    switch callReplacement(c, m, subject) {
                    case .success(let piece): out += piece
                    case .failure(let error): return c.raise(error.message)
                    }
                }
                copied = m.range.upperBound
                position = m.range.upperBound + (m.range.isEmpty ? 1 : 0)
                if !global { break }
            }
            out += subject.bytes[copied...]
            c.stack.push(bytes: out)
            c.stack.push(count)
            return 2
        }
    }

    /// Calls the replacement function (argument 3) with the captures table; its result as
    /// `tostring` gives it, or its error.
    private static func callReplacement(_ c: LuaCall, _ m: PCREMatch, _ subject: Subject) -> Result<[UInt8], LuaMessage> {
        let s = c.stack
        let top = s.top
        defer { s.setTop(top) }
        lua_pushvalue(s.state, 3)
        pushCaptures(c, m, subject)
        guard s.protectedCall(arguments: 1, results: 1) else {
            return .failure(LuaMessage(s.string(at: -1) ?? "(error object is a \(s.typeName(at: -1)) value)"))
        }
        if s.type(at: -1) != .string, s.type(at: -1) != .number {
            s.getGlobal("tostring")
            lua_insert(s.state, -2)
            if let error = s.call(arguments: 1, results: 1) { return .failure(LuaMessage(error)) }
        }
        return .success(s.bytes(at: -1) ?? [])
    }

    // MARK: Cache

    /// Compiled regexes by options and pattern (OpenResty's `o` cache, always on), emptied when
    /// it reaches 256 entries.
    private static let cache = Mutex<[String: PCRERegex]>([:])

    /// The regex for `pattern` and `options`, compiled with Kong's `ngx.re` match limit.
    static func compile(_ pattern: String, _ options: PCRERegex.Options) throws(PCREError) -> PCRERegex {
        let key = "\(options.rawValue)/\(pattern)"
        if let regex = cache.withLock({ $0[key] }) { return regex }
        let regex = try PCRERegex(pattern, options: options, matchLimit: PCRERegex.pluginMatchLimit)
        cache.withLock { regexes in
            if regexes.count >= 256 { regexes.removeAll(keepingCapacity: true) }
            regexes[key] = regex
        }
        return regex
    }
}

/// An `ngx.re.sub` replacement template, as lua-nginx-module compiles it: `$0`...`$99...` and
/// `${n}` insert a group (empty when unset), `$$` is a `$`. Named groups (`$name`, `${name}`),
/// a lone `$` and an unclosed `${` make it invalid, as in OpenResty.
struct ReplaceTemplate {
    private enum Part {
        case text([UInt8])
        case group(Int)
    }

    private var parts: [Part] = []

    init?(_ source: [UInt8]) {
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        var i = 0
        while i < source.count {
            guard source[i] == UInt8(ascii: "$") else {
                let end = source[i...].firstIndex(of: UInt8(ascii: "$")) ?? source.count
                parts.append(.text(Array(source[i..<end])))
                i = end
                continue
            }
            i += 1
            guard i < source.count else { return nil }
            if source[i] == UInt8(ascii: "$") {
                parts.append(.text([source[i]]))
                i += 1
                continue
            }
            let bracket = source[i] == UInt8(ascii: "{")
            if bracket { i += 1 }
            let digits = source[i...].prefix(while: isDigit)
            guard !digits.isEmpty else { return nil }
            i += digits.count
            if bracket {
                guard i < source.count, source[i] == UInt8(ascii: "}") else { return nil }
                i += 1
            }
            parts.append(.group(digits.reduce(0) { $0 &* 10 &+ Int($1 - 0x30) }))
        }
    }

    /// Appends the template's text for match `m` of `subject`.
    func append(_ m: PCREMatch, _ subject: [UInt8], to out: inout [UInt8]) {
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .group(let n): if n < m.ranges.count, let range = m.ranges[n] { out += subject[range] }
            }
        }
    }
}

extension LuaCall {
    /// Pushes `nils` nils and an error message, and returns their number.
    func failing(nils: Int, _ message: String) -> Int32 {
        for _ in 0..<nils { stack.pushNil() }
        stack.push(message)
        return Int32(nils + 1)
    }
}
