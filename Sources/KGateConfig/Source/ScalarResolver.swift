import KGateSchema

/// YAML 1.1 scalar resolution exactly as lyaml (Kong's YAML loader) performs it.
///
/// Mirrors `lyaml/implicit.lua` and `lyaml/explicit.lua` (gvvaughan/lyaml, v6.2.x). Plain
/// (unquoted) scalars without a known tag go through the implicit resolvers in lyaml's order:
///
/// | order | resolver | accepts (after optional `+`/`-` where noted) | result |
/// |---|---|---|---|
/// | 1 | null | empty, `~`, `null`, `Null`, `NULL` | `.null` |
/// | 2 | octal | `[+-]?0_*[0-7][0-7_]*` (`012` → 10) | `.integer` |
/// | 3 | decimal | `[+-]?_*[0-9][0-9_]*` (`08` → 8, `1_000` → 1000) | `.integer` |
/// | 4 | float | text containing `.`, `e` or `E` that LuaJIT's `tonumber` accepts once `_` are removed (`1.5`, `1e3`, `.5`, `5.`, `0x1.8`, `0xE`) | `.number` (`.integer` for an integral hex form without `.`/`p`) |
/// | 5 | bool | `true/True/TRUE/false/False/FALSE/yes/Yes/YES/no/No/NO/on/On/ON/off/Off/OFF` | `.bool` |
/// | 6 | inf | `[+-]?.inf`, `.Inf`, `.INF` | `.number(±infinity)` |
/// | 7 | nan | `.nan`, `.NaN`, `.NAN` | `.number(nan)` |
/// | 8 | hexadecimal | `[+-]?0x_*[0-9a-fA-F][0-9a-fA-F_]*` (lowercase `x`) | `.integer` |
/// | 9 | binary | `[+-]?0b_*[01][01_]+` | `.integer` |
/// | 10 | sexagesimal | `[+-]?[0-9]+:[0-5]?[0-9][:0-9]*` (`1:30` → 90) | `.integer` |
/// | 11 | sexfloat | sexagesimal followed by `.[0-9]+` (`1:30.5` → 90.5) | `.number` |
/// | 12 | anything else | | `.string` |
///
/// Integers that do not fit in `Int` become `.number` (Lua numbers are doubles). lyaml raises a Lua
/// error (`attempt to perform arithmetic on a nil value`) for octal or binary forms ending in `_`
/// (`0_7_`); so does this resolver (``Resolution/luaError``).
///
/// Explicit tags (honoured on any scalar style, quoted included): `!!str` → the text,
/// `!!null` → null, `!!bool` → the bool words plus `y/Y/n/N`, `!!int` → octal, decimal,
/// hexadecimal, binary or sexagesimal, `!!float` → float, nan, inf, octal/decimal/hexadecimal/binary
/// (as doubles) or sexfloat. A tagged value that does not convert is an error in lyaml
/// (`invalid 'tag:yaml.org,2002:int' value: 'abc'`). Other tags are ignored.
public enum ScalarResolver {
    /// The outcome of resolving one scalar.
    public enum Resolution: Sendable, Equatable {
        /// The scalar stays a string (its text, unchanged).
        case string
        /// The scalar converts to this value.
        case value(Value)
        /// lyaml fails with a Lua runtime error on this text (octal/binary ending in `_`).
        case luaError
        /// An explicitly tagged scalar whose text does not convert (`!!int abc`).
        case invalid
    }

    /// The YAML tags lyaml converts explicitly.
    public enum Tag: Sendable, Equatable {
        /// `!!str`
        case str
        /// `!!null`
        case null
        /// `!!bool`
        case bool
        /// `!!int`
        case int
        /// `!!float`
        case float
    }

    // MARK: Public String API

    /// Resolves the text of a plain (unquoted, untagged) scalar as lyaml does.
    public static func resolvePlain(_ text: String) -> Resolution {
        var t = text
        return t.withUTF8 { implicit($0) }
    }

    /// Resolves the text of a scalar carrying an explicit tag.
    public static func resolve(_ text: String, tag: Tag) -> Resolution {
        var t = text
        return t.withUTF8 { explicit($0, tag: tag) }
    }

    /// The full-form tags lyaml knows (`tag:yaml.org,2002:int` → `.int`).
    public static func tag(named name: String) -> Tag? {
        switch name {
        case "tag:yaml.org,2002:str": return .str
        case "tag:yaml.org,2002:null": return .null
        case "tag:yaml.org,2002:bool": return .bool
        case "tag:yaml.org,2002:int": return .int
        case "tag:yaml.org,2002:float": return .float
        default: return nil
        }
    }

    // MARK: Byte-level entry points

    typealias Bytes = UnsafeBufferPointer<UInt8>

    /// lyaml's `default.implicit_scalar` chain.
    static func implicit(_ b: Bytes) -> Resolution {
        let n = b.count
        if n == 0 { return .value(.null) }
        switch b[0] {
        case UInt8(ascii: "~"):
            return n == 1 ? .value(.null) : .string
        case UInt8(ascii: "n"), UInt8(ascii: "N"):
            if isNullWord(b) { return .value(.null) }
            if let v = boolWord(b) { return .value(.bool(v)) }
            return .string
        case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"),
            UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "o"), UInt8(ascii: "O"):
            if let v = boolWord(b) { return .value(.bool(v)) }
            return .string
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"),
            UInt8(ascii: "."), UInt8(ascii: "_"):
            return numeric(b)
        default:
            // No resolver accepts any other first byte: null/bool words start with the letters
            // above, and every number form starts with a digit, sign, dot or underscore.
            return .string
        }
    }

    /// The numeric part of the implicit chain (null and bool cannot match these first bytes).
    private static func numeric(_ b: Bytes) -> Resolution {
        if let r = octal(b) { return r }
        if let r = decimal(b) { return r }
        if let r = float(b) { return r }
        if let r = inf(b) { return .value(.number(r)) }
        if isNaNWord(b) { return .value(.number(.nan)) }
        if let r = hexadecimal(b) { return r }
        if let r = binary(b) { return r }
        if let r = sexagesimal(b) { return r }
        if let r = sexfloat(b) { return .value(.number(r)) }
        return .string
    }

    /// lyaml's `explicit_scalar` table.
    static func explicit(_ b: Bytes, tag: Tag) -> Resolution {
        switch tag {
        case .str:
            return .string
        case .null:
            return .value(.null)
        case .bool:
            if let v = boolWord(b) { return .value(.bool(v)) }
            if b.count == 1 {
                switch b[0] {
                case UInt8(ascii: "y"), UInt8(ascii: "Y"): return .value(.bool(true))
                case UInt8(ascii: "n"), UInt8(ascii: "N"): return .value(.bool(false))
                default: break
                }
            }
            return .invalid
        case .int:
            if let r = octal(b) { return r }
            if let r = decimal(b) { return r }
            if let r = hexadecimal(b) { return r }
            if let r = binary(b) { return r }
            if let r = sexagesimal(b) { return r }
            return .invalid
        case .float:
            if let r = float(b) { return asDouble(r) }
            if isNaNWord(b) { return .value(.number(.nan)) }
            if let r = inf(b) { return .value(.number(r)) }
            if let r = octal(b) { return asDouble(r) }
            if let r = decimal(b) { return asDouble(r) }
            if let r = hexadecimal(b) { return asDouble(r) }
            if let r = binary(b) { return asDouble(r) }
            if let r = sexfloat(b) { return .value(.number(r)) }
            return .invalid
        }
    }

    /// lyaml's `maybefloat`: `r + 0.0`.
    private static func asDouble(_ r: Resolution) -> Resolution {
        if case .value(.integer(let i)) = r { return .value(.number(Double(i))) }
        return r
    }

    // MARK: Words

    @inline(__always) private static func eq(_ b: Bytes, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<b.count where b[i] != p[i] { return false }
        return true
    }

    private static func isNullWord(_ b: Bytes) -> Bool {
        eq(b, "null") || eq(b, "Null") || eq(b, "NULL")
    }

    /// lyaml's `to_bool` table.
    static func boolWord(_ b: Bytes) -> Bool? {
        switch b.count {
        case 2:
            if eq(b, "no") || eq(b, "No") || eq(b, "NO") { return false }
            if eq(b, "on") || eq(b, "On") || eq(b, "ON") { return true }
        case 3:
            if eq(b, "yes") || eq(b, "Yes") || eq(b, "YES") { return true }
            if eq(b, "off") || eq(b, "Off") || eq(b, "OFF") { return false }
        case 4:
            if eq(b, "true") || eq(b, "True") || eq(b, "TRUE") { return true }
        case 5:
            if eq(b, "false") || eq(b, "False") || eq(b, "FALSE") { return false }
        default:
            break
        }
        return nil
    }

    private static func isNaNWord(_ b: Bytes) -> Bool {
        eq(b, ".nan") || eq(b, ".NaN") || eq(b, ".NAN")
    }

    private static func inf(_ b: Bytes) -> Double? {
        guard b.count >= 4 else { return nil }
        var start = 0
        var sign = 1.0
        if b[0] == UInt8(ascii: "+") {
            start = 1
        } else if b[0] == UInt8(ascii: "-") {
            start = 1
            sign = -1
        }
        let rest = Bytes(rebasing: b[start...])
        if eq(rest, ".inf") || eq(rest, ".Inf") || eq(rest, ".INF") { return sign * .infinity }
        return nil
    }

    // MARK: Integers

    @inline(__always) private static func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }
    @inline(__always) private static func isOctal(_ c: UInt8) -> Bool { c &- 48 < 8 }
    @inline(__always) private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c &- 48)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c &- 87)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c &- 55)
        default: return nil
        }
    }
    @inline(__always) private static func isUnderscore(_ c: UInt8) -> Bool { c == UInt8(ascii: "_") }

    /// Length of a leading `+`/`-` and whether it is `-`.
    @inline(__always) private static func sign(_ b: Bytes) -> (Int, Bool) {
        guard let c = b.first else { return (0, false) }
        if c == UInt8(ascii: "-") { return (1, true) }
        if c == UInt8(ascii: "+") { return (1, false) }
        return (0, false)
    }

    /// Accumulates digits in base `base` as Lua would (doubles), exactly while it fits in `Int`.
    private struct Accumulator {
        var int = 0
        var double = 0.0
        var overflowed = false

        @inline(__always) mutating func push(_ digit: Int, base: Int) {
            if !overflowed {
                let (m, o1) = int.multipliedReportingOverflow(by: base)
                let (s, o2) = m.addingReportingOverflow(digit)
                if o1 || o2 {
                    overflowed = true
                    double = Double(int) * Double(base) + Double(digit)
                } else {
                    int = s
                }
            } else {
                double = double * Double(base) + Double(digit)
            }
        }

        func value(negative: Bool) -> Value {
            if overflowed { return .number(negative ? -double : double) }
            return .integer(negative ? -int : int)
        }
    }

    /// `^([+-]?)0_*([0-7][0-7_]*)$`, digits folded in base 8.
    static func octal(_ b: Bytes) -> Resolution? {
        let n = b.count
        let (s, neg) = sign(b)
        var i = s
        guard i < n, b[i] == UInt8(ascii: "0") else { return nil }
        i += 1
        while i < n, isUnderscore(b[i]) { i += 1 }
        guard i < n, isOctal(b[i]) else { return nil }
        let restStart = i
        while i < n {
            guard isOctal(b[i]) || isUnderscore(b[i]) else { return nil }
            i += 1
        }
        // `gsub(rest, '_*(.)', ...)` hands a trailing `_` to `tonumber`, which yields nil.
        if isUnderscore(b[n - 1]) { return .luaError }
        var acc = Accumulator()
        for j in restStart..<n where !isUnderscore(b[j]) { acc.push(Int(b[j] &- 48), base: 8) }
        return .value(acc.value(negative: neg))
    }

    /// `^([+-]?)_*([0-9][0-9_]*)$`, underscores removed, then `tonumber`.
    static func decimal(_ b: Bytes) -> Resolution? {
        let n = b.count
        let (s, neg) = sign(b)
        var i = s
        while i < n, isUnderscore(b[i]) { i += 1 }
        guard i < n, isDigit(b[i]) else { return nil }
        let restStart = i
        while i < n {
            guard isDigit(b[i]) || isUnderscore(b[i]) else { return nil }
            i += 1
        }
        var acc = Accumulator()
        for j in restStart..<n where !isUnderscore(b[j]) { acc.push(Int(b[j] &- 48), base: 10) }
        if acc.overflowed {
            // `tonumber` on a long digit string: the correctly rounded double.
            var digits = ""
            digits.reserveCapacity(n)
            for j in restStart..<n where !isUnderscore(b[j]) { digits.unicodeScalars.append(Unicode.Scalar(b[j])) }
            let d = Double(digits) ?? .infinity
            return .value(.number(neg ? -d : d))
        }
        return .value(acc.value(negative: neg))
    }

    /// `^([+-]?)(0x_*[0-9a-fA-F][0-9a-fA-F_]*)$`, underscores removed, then `tonumber`.
    static func hexadecimal(_ b: Bytes) -> Resolution? {
        let n = b.count
        let (s, neg) = sign(b)
        var i = s
        guard i + 2 < n, b[i] == UInt8(ascii: "0"), b[i + 1] == UInt8(ascii: "x") else { return nil }
        i += 2
        while i < n, isUnderscore(b[i]) { i += 1 }
        guard i < n, hexValue(b[i]) != nil else { return nil }
        var acc = Accumulator()
        while i < n {
            if let d = hexValue(b[i]) {
                acc.push(d, base: 16)
            } else if !isUnderscore(b[i]) {
                return nil
            }
            i += 1
        }
        return .value(acc.value(negative: neg))
    }

    /// `^([+-]?)0b_*([01][01_]+)$`, digits folded in base 2.
    static func binary(_ b: Bytes) -> Resolution? {
        let n = b.count
        let (s, neg) = sign(b)
        var i = s
        guard i + 1 < n, b[i] == UInt8(ascii: "0"), b[i + 1] == UInt8(ascii: "b") else { return nil }
        i += 2
        while i < n, isUnderscore(b[i]) { i += 1 }
        guard i < n, b[i] == UInt8(ascii: "0") || b[i] == UInt8(ascii: "1") else { return nil }
        let restStart = i
        guard n - restStart >= 2 else { return nil }
        while i < n {
            let c = b[i]
            guard c == UInt8(ascii: "0") || c == UInt8(ascii: "1") || isUnderscore(c) else { return nil }
            i += 1
        }
        if isUnderscore(b[n - 1]) { return .luaError }
        var acc = Accumulator()
        for j in restStart..<n where !isUnderscore(b[j]) { acc.push(Int(b[j] &- 48), base: 2) }
        return .value(acc.value(negative: neg))
    }

    /// Whether `b[start..<end]` matches `[0-9]+:[0-5]?[0-9][:0-9]*`.
    private static func isSexagesimalBody(_ b: Bytes, _ start: Int, _ end: Int) -> Bool {
        var i = start
        guard i < end, isDigit(b[i]) else { return false }
        while i < end, isDigit(b[i]) { i += 1 }
        guard i < end, b[i] == UInt8(ascii: ":") else { return false }
        i += 1
        guard i < end, isDigit(b[i]) else { return false }
        while i < end {
            guard isDigit(b[i]) || b[i] == UInt8(ascii: ":") else { return false }
            i += 1
        }
        return true
    }

    /// Folds every run of digits in base 60 (`gsub(rest, '([0-9]+):?', ...)`).
    private static func sexagesimalValue(_ b: Bytes, _ start: Int, _ end: Int) -> Accumulator {
        var acc = Accumulator()
        var i = start
        while i < end {
            guard isDigit(b[i]) else { i += 1; continue }
            var run = Accumulator()
            while i < end, isDigit(b[i]) {
                run.push(Int(b[i] &- 48), base: 10)
                i += 1
            }
            if run.overflowed || acc.overflowed {
                let r = run.overflowed ? run.double : Double(run.int)
                let base = acc.overflowed ? acc.double : Double(acc.int)
                acc.overflowed = true
                acc.double = base * 60 + r
            } else {
                acc.push(run.int, base: 60)
            }
        }
        return acc
    }

    /// `^([+-]?)([0-9]+:[0-5]?[0-9][:0-9]*)$`.
    static func sexagesimal(_ b: Bytes) -> Resolution? {
        let (s, neg) = sign(b)
        guard isSexagesimalBody(b, s, b.count) else { return nil }
        return .value(sexagesimalValue(b, s, b.count).value(negative: neg))
    }

    /// `^([+-]?)([0-9]+:[0-5]?[0-9][:0-9]*)(%.[0-9]+)$`.
    static func sexfloat(_ b: Bytes) -> Double? {
        let n = b.count
        let (s, neg) = sign(b)
        var dot = n - 1
        while dot >= s, isDigit(b[dot]) { dot -= 1 }
        guard dot >= s, dot < n - 1, b[dot] == UInt8(ascii: ".") else { return nil }
        guard isSexagesimalBody(b, s, dot) else { return nil }
        let acc = sexagesimalValue(b, s, dot)
        var fraction = "0"
        for j in dot..<n { fraction.unicodeScalars.append(Unicode.Scalar(b[j])) }
        let whole = acc.overflowed ? acc.double : Double(acc.int)
        let r = whole + (Double(fraction) ?? 0)
        return neg ? -r : r
    }

    // MARK: Floats

    /// lyaml's `implicit.float`: `tonumber(value:gsub('_', ''))` when the text has `.`, `e` or `E`.
    ///
    /// `tonumber` is LuaJIT's (`lj_strscan`): optional surrounding whitespace, a sign, decimal
    /// digits with at most one `.` and an `e` exponent, or `0x` hex digits with at most one `.` and
    /// a `p` exponent (plus `inf`/`nan` words, which cannot contain `.`/`e` here).
    static func float(_ b: Bytes) -> Resolution? {
        var hasMarker = false
        var hasUnderscore = false
        for c in b {
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { hasMarker = true }
            if c == UInt8(ascii: "_") { hasUnderscore = true }
        }
        guard hasMarker else { return nil }
        if hasUnderscore {
            var filtered: [UInt8] = []
            filtered.reserveCapacity(b.count)
            for c in b where c != UInt8(ascii: "_") { filtered.append(c) }
            return filtered.withUnsafeBufferPointer { luaToNumber($0) }
        }
        return luaToNumber(b)
    }

    @inline(__always) private static func isLuaSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    /// LuaJIT `tonumber(s)` for a string; `.integer` for integral hex forms without `.`/`p`.
    static func luaToNumber(_ b: Bytes) -> Resolution? {
        var i = 0
        var end = b.count
        while i < end, isLuaSpace(b[i]) { i += 1 }
        while end > i, isLuaSpace(b[end - 1]) { end -= 1 }
        guard i < end else { return nil }
        var negative = false
        if !isDigit(b[i]) {
            if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                negative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < end else { return nil }
            if b[i] >= UInt8(ascii: "A") {
                // inf, infinity, nan (any case).
                let word = String(decoding: Bytes(rebasing: b[i..<end]), as: UTF8.self).lowercased()
                switch word {
                case "inf", "infinity": return .value(.number(negative ? -.infinity : .infinity))
                case "nan": return .value(.number(.nan))
                default: return nil
                }
            }
        }
        let numberStart = i
        var hex = false
        if i + 1 < end, b[i] == UInt8(ascii: "0"), b[i + 1] | 0x20 == UInt8(ascii: "x") {
            hex = true
            i += 2
        } else if i + 1 < end, b[i] == UInt8(ascii: "0"), b[i + 1] | 0x20 == UInt8(ascii: "b") {
            // Binary: digits only, no '.', no exponent; never contains '.', 'e' or 'E' usefully.
            return nil
        }
        var digits = 0
        var sawDot = false
        var fractionDigits = 0
        while i < end {
            let c = b[i]
            if hex ? hexValue(c) != nil : isDigit(c) {
                digits += 1
                if sawDot { fractionDigits += 1 }
            } else if c == UInt8(ascii: ".") {
                if sawDot { return nil }
                sawDot = true
            } else {
                break
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        if fractionDigits >= 1 << 20 { return nil }
        var sawExponent = false
        if i < end, b[i] | 0x20 == (hex ? UInt8(ascii: "p") : UInt8(ascii: "e")) {
            sawExponent = true
            i += 1
            if i < end, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, isDigit(b[i]) else { return nil }
            var x = 0
            while i < end, isDigit(b[i]) {
                x = x * 10 + Int(b[i] &- 48)
                if x >= 1 << 20 { return nil }
                i += 1
            }
        }
        guard i == end else { return nil }
        if hex, !sawDot, !sawExponent {
            // An integral hex literal (`0xE`): an integer, as `tonumber` gives an integral number.
            var acc = Accumulator()
            for j in (numberStart + 2)..<end { acc.push(hexValue(b[j])!, base: 16) }
            return .value(acc.value(negative: negative))
        }
        let text = String(decoding: Bytes(rebasing: b[numberStart..<end]), as: UTF8.self)
        guard let d = Double(text) else { return nil }
        return .value(.number(negative ? -d : d))
    }
}
