import KGateSchema

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How LuaJIT (Kong's Lua) sees numbers and values: the conversions lua-protobuf relies on.
enum Lua {
    /// `type(v)` of a value as cjson decodes it (JSON null is a light userdata).
    static func typeName(_ value: Value?) -> String {
        switch value {
        case nil: return "nil"
        case .null: return "userdata"
        case .bool: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .array, .object: return "table"
        }
    }

    /// `tostring(v)`.
    static func tostring(_ value: Value) -> String {
        switch value {
        case .null: return "userdata: NULL"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return format(Double(i))
        case .number(let d): return format(d)
        case .string(let s): return s
        case .array, .object: return "table: 0x00000000"
        }
    }

    /// Lua truthiness: only `false` (and nil) are false; cjson.null is a (truthy) light userdata.
    static func truthy(_ value: Value) -> Bool {
        if case .bool(false) = value { return false }
        return true
    }

    /// A Lua number (a double in LuaJIT) as a Value: `.integer` when exactly an integer that a
    /// double represents exactly (|v| <= 2^53), else `.number`.
    static func number(_ v: Int64) -> Value {
        if v >= -(1 << 53) && v <= (1 << 53) { return .integer(Int(v)) }
        return .number(Double(v))
    }

    /// `lua_tonumberx`: numbers, and strings LuaJIT's scanner reads as numbers.
    static func tonumber(_ value: Value) -> Double? {
        switch value {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        case .string(let s): return scan(s)
        default: return nil
        }
    }

    /// The x86-64 conversion of a double to int64 (cvttsd2si): out of range and NaN give Int64.min.
    static func truncate(_ d: Double) -> Int64 {
        if d.isNaN || d >= 9_223_372_036_854_775_808.0 || d < -9_223_372_036_854_775_808.0 {
            return Int64.min
        }
        return Int64(d)
    }

    /// The x86-64 (gcc) conversion of a double to uint64, as `(uint64_t)lua_tonumber(...)`.
    static func truncateUnsigned(_ d: Double) -> UInt64 {
        if d < 9_223_372_036_854_775_808.0 {  // false for NaN
            return UInt64(bitPattern: truncate(d))
        }
        return UInt64(bitPattern: truncate(d - 9_223_372_036_854_775_808.0)) ^ (1 << 63)
    }

    /// lua-protobuf's `lpb_tointegerx` as built for LuaJIT: nil when the value is no integer.
    static func tointeger(_ value: Value) throws(ProtoError) -> UInt64? {
        if let d = tonumber(value) {
            if d < -9_223_372_036_854_775_808.0 || d > 9_223_372_036_854_775_808.0 {
                throw ProtoError("number has no integer representation")
            }
            return UInt64(bitPattern: truncate(d))
        }
        guard case .string(let s) = value else { return nil }
        // The C string stops at the first NUL.
        let bytes = Array(s.utf8.prefix { $0 != 0 })
        var i = 0
        var negative = false
        while i < bytes.count, bytes[i] == 0x23 || bytes[i] == 0x2B || bytes[i] == 0x2D {  // # + -
            if bytes[i] == 0x2D { negative.toggle() }
            i += 1
        }
        var v: UInt64 = 0
        if i + 1 < bytes.count, bytes[i] == 0x30, bytes[i + 1] | 0x20 == 0x78 {
            i += 2
            while i < bytes.count, let n = hexDigit(bytes[i]) {
                v = v << 4 | UInt64(n)
                i += 1
            }
        } else {
            while i < bytes.count, let n = hexDigit(bytes[i]), n <= 9 {
                v = v &* 10 &+ UInt64(n)
                i += 1
            }
        }
        guard i == bytes.count else { return nil }
        return negative ? ~v &+ 1 : v
    }

    static func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// LuaJIT's `lj_strscan_num`: leading/trailing whitespace, a sign, decimal or hex (`0x`, with
    /// `p` exponents) or binary (`0b`) numbers, `inf`/`infinity`/`nan` in any case.
    static func scan(_ s: String) -> Double? {
        let b = Array(s.utf8)
        let n = b.count
        func at(_ i: Int) -> UInt8 { i < n ? b[i] : 0 }
        func lower(_ i: Int) -> UInt8 { at(i) | 0x20 }
        var p = 0
        var negative = false
        if !isDigit(at(p)) {
            while isSpace(at(p)) { p += 1 }
            if at(p) == 0x2B || at(p) == 0x2D {
                negative = at(p) == 0x2D
                p += 1
            }
            if at(p) >= 0x41 {
                var value = Double.nan
                if lower(p) == 0x69 && lower(p + 1) == 0x6E && lower(p + 2) == 0x66 {  // inf
                    value = negative ? -.infinity : .infinity
                    p += 3
                    if lower(p) == 0x69 && lower(p + 1) == 0x6E && lower(p + 2) == 0x69
                        && lower(p + 3) == 0x74 && lower(p + 4) == 0x79
                    {
                        p += 5
                    }
                } else if lower(p) == 0x6E && lower(p + 1) == 0x61 && lower(p + 2) == 0x6E {
                    p += 3
                }
                while isSpace(at(p)) { p += 1 }
                return p < n ? nil : value
            }
        }
        var base = 10
        if at(p) == 0x30 {
            if lower(p + 1) == 0x78 {
                base = 16
                p += 2
            } else if lower(p + 1) == 0x62 {
                base = 2
                p += 2
            }
        }
        var intDigits: [UInt8] = []
        var fracDigits: [UInt8] = []
        var sawPoint = false
        while true {
            let c = at(p)
            let isDig = base == 16 ? hexDigit(c) != nil : isDigit(c)
            if isDig {
                if sawPoint { fracDigits.append(c) } else { intDigits.append(c) }
            } else if c == 0x2E {
                if sawPoint { return nil }
                sawPoint = true
            } else {
                break
            }
            p += 1
        }
        if intDigits.isEmpty && fracDigits.isEmpty { return nil }
        var exponent: [UInt8] = []
        if base >= 10 && lower(p) == (base == 16 ? 0x70 : 0x65) {
            p += 1
            if at(p) == 0x2B || at(p) == 0x2D {
                exponent.append(at(p))
                p += 1
            }
            guard isDigit(at(p)) else { return nil }
            while isDigit(at(p)) {
                exponent.append(at(p))
                p += 1
            }
        }
        while isSpace(at(p)) { p += 1 }
        guard p >= n else { return nil }
        var value: Double
        switch base {
        case 2:
            guard !sawPoint else { return nil }
            value = 0
            for d in intDigits {
                guard d == 0x30 || d == 0x31 else { return nil }
                value = value * 2 + Double(d - 0x30)
            }
        default:
            var text = base == 16 ? "0x0" : "0"
            text += String(decoding: intDigits, as: UTF8.self) + "."
            text += String(decoding: fracDigits, as: UTF8.self) + "0"
            text += (base == 16 ? "p" : "e") + (exponent.isEmpty ? "0" : String(decoding: exponent, as: UTF8.self))
            guard let v = Double(text) else { return nil }
            value = v
        }
        return negative ? -value : value
    }

    /// `tostring(n)` for a Lua number: C's `%.14g`.
    static func format(_ d: Double) -> String {
        cFormat("%.14g", d)
    }

    static func cFormat(_ format: String, _ d: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([d]) { vsnprintf(&buffer, 64, format, $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// C's `strtol(s, &end, 10)`: nil when no digits were read.
    static func strtolPrefix(_ s: String) -> Int64? {
        s.withCString { start -> Int64? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtol(start, &end, 10)
            return end == UnsafeMutablePointer(mutating: start) ? nil : Int64(v)
        }
    }

    /// C's `strtod(s, &end)`: nil when nothing was read.
    static func strtodPrefix(_ s: String) -> Double? {
        s.withCString { start -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(start, &end)
            return end == UnsafeMutablePointer(mutating: start) ? nil : v
        }
    }
}
