import KGateSchema

/// The type hooks Kong's grpc.lua installs (`safe_set_type_hook`), for
/// `.google.protobuf.Timestamp` only: a time string on the way in, `date(seconds):fmt("${iso}")`
/// on the way out. Dates follow luadate (microsecond ticks, UTC).
enum Hooks {
    static let timestamp = ".google.protobuf.Timestamp"

    static func encode(_ value: Value, type: String) throws(ProtoError) -> Value {
        guard type == timestamp else { return value }
        guard case .string(let text) = value else {
            throw ProtoError("expected time string, got (\(Lua.typeName(value)))\(LuaQuote.percentQ(Lua.tostring(value)))")
        }
        let (seconds, nanos) = try LuaDate.timestampFields(text)
        return .object(["seconds": .number(seconds), "nanos": .number(nanos)])
    }

    static func decode(_ value: Value, type: String) throws(ProtoError) -> Value {
        guard type == timestamp, case .object(let object) = value else { return value }
        let seconds = object["seconds"].flatMap { Lua.tonumber($0) } ?? 0
        return .string(try LuaDate.iso(seconds: seconds))
    }
}

/// The parts of luadate (2.2) the hooks use, with its double arithmetic.
enum LuaDate {
    static let ticksPerSecond = 1_000_000.0
    static let ticksPerMinute = 60_000_000.0
    static let ticksPerHour = 3_600_000_000.0
    static let ticksPerDay = 86_400_000_000.0
    static let dayNumberLimit = 365_242_500.0

    static func floor(_ x: Double) -> Double { x.rounded(.down) }
    static func mod(_ n: Double, _ d: Double) -> Double { n - d * floor(n / d) }
    static func fix(_ n: Double) -> Double { n > 0 ? n.rounded(.down) : n.rounded(.up) }

    static func dayFromYear(_ y: Double) -> Double {
        365 * y + floor(y / 4) - floor(y / 100) + floor(y / 400)
    }

    /// Day number from year, zero-based month and day.
    static func makeDayNumber(_ y: Double, _ m: Double, _ d: Double) -> Double {
        let mm = mod(mod(m, 12) + 10, 12)
        return dayFromYear(y + floor(m / 12) - floor(mm / 10)) + floor((mm * 306 + 5) / 10) + d - 307
    }

    /// Year, zero-based month and day of a day number.
    static func breakDayNumber(_ dayNumber: Double) -> (Double, Double, Double) {
        let g = dayNumber + 306
        var y = floor((10000 * g + 14780) / 3_652_425)
        var d = g - dayFromYear(y)
        if d < 0 {
            y -= 1
            d = g - dayFromYear(y)
        }
        let mi = floor((100 * d + 52) / 3060)
        return (floor((mi + 2) / 12) + y, mod(mi + 2, 12), d - floor((mi * 306 + 5) / 10) + 1)
    }

    static let epochDayNumber = makeDayNumber(1970, 0, 1)

    /// `dobj:normalize()`.
    static func normalize(_ dayNumber: Double, _ dayFraction: Double) throws(ProtoError) -> (Double, Double) {
        let dn = fix(dayNumber)
        guard dn >= -dayNumberLimit && dn <= dayNumberLimit else { throw ProtoError("date beyond imposed limits") }
        return (dn + floor(dayFraction / ticksPerDay), mod(dayFraction, ticksPerDay))
    }

    /// `date(seconds):fmt("${iso}")`: "YYYY-MM-DDTHH:MM:SS" (UTC).
    static func iso(seconds: Double) throws(ProtoError) -> String {
        guard seconds.isFinite else { throw ProtoError("date beyond imposed limits") }
        let x = floor(seconds / 86400)
        let (dn, df) = try normalize(epochDayNumber + x, (seconds - x * 86400) * ticksPerSecond)
        let (y, m, d) = breakDayNumber(dn)
        let h = mod(floor(df / ticksPerHour), 24)
        let r = mod(floor(df / ticksPerMinute), 60)
        let s = mod(floor(df / ticksPerSecond), 60)
        return "\(pad(y, 4))-\(pad(m + 1, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(r, 2)):\(pad(s, 2))"
    }

    /// C's `%.Nd`.
    static func pad(_ value: Double, _ width: Int) -> String {
        let v = Int64(value)
        let digits = String(v.magnitude)
        return (v < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Kong's encode hook: `ds = date(t) - epoch`, `seconds = ds:spanseconds()`,
    /// `nanos = ds:getticks() * 1000` (as doubles; the encoder truncates them).
    static func timestampFields(_ text: String) throws(ProtoError) -> (Double, Double) {
        guard let (dayNumber, dayFraction) = parseISO(text) else {
            throw ProtoError("invalid date: \(LuaQuote.percentQ(text))")
        }
        let (dn, df) = try normalize(dayNumber - epochDayNumber, dayFraction)
        let seconds = (dn * ticksPerDay + df) / ticksPerSecond
        return (seconds, mod(df, ticksPerSecond) * 1000)
    }

    /// luadate's ISO 8601 branch of `date_parse`: `YYYY[-]MM[-]DD`, `YYYY-Www-D`, `YYYY-DDD`,
    /// `YYYY-MM`, then `[T| ]HH[:MM[:SS[.frac]]]` and `Z`, `±HH[:]MM` or `±HH`. A string without
    /// a zone is UTC. Returns luadate's (daynum, dayfrc), or nil (luadate's free-form fallback
    /// parser is not reproduced).
    static func parseISO(_ text: String) -> (Double, Double)? {
        var walker = Walker(text)
        guard let year = walker.digits(4) else { return nil }
        var month: Double?
        var day: Double?
        var week: (Double, Double)?
        var ordinal: Double?
        // (%-?)(%d%d)%1(%d%d) | (%-?)[Ww](%d%d)%1(%d) | %-?(%d%d%d) | %-?(%d%d)
        if let (m, d) = walker.attempt({ w -> (Double, Double)? in
            let dash = w.char("-")
            guard let m = w.digits(2) else { return nil }
            if dash && !w.char("-") { return nil }
            guard let d = w.digits(2) else { return nil }
            return (m, d)
        }) {
            month = m
            day = d
        } else if let wd = walker.attempt({ w -> (Double, Double)? in
            let dash = w.char("-")
            guard w.char("W") || w.char("w"), let n = w.digits(2) else { return nil }
            if dash && !w.char("-") { return nil }
            guard let d = w.digits(1) else { return nil }  // luadate fails without the weekday
            return (n, d)
        }) {
            week = wd
        } else if let j = walker.attempt({ w -> Double? in
            _ = w.char("-")
            return w.digits(3)
        }) {
            ordinal = j
        } else if let m = walker.attempt({ w -> Double? in
            _ = w.char("-")
            return w.digits(2)
        }) {
            month = m
            day = 1
        } else {
            return nil
        }
        var h: Double?
        var r: Double?
        var s: Double?
        var zone: Double?
        // seth and setr and sets and adds and (unanchored) zone: side effects stay on failure.
        var chain = walker.attempt { w -> Double? in
            w.skipSpaces()
            _ = w.char("T") || w.char("t")
            guard let v = w.digits(2) else { return nil }
            _ = w.char(":")
            return v
        }
        h = chain
        if chain != nil {
            chain = walker.attempt { w -> Double? in
                guard let v = w.digits(2) else { return nil }
                _ = w.char(":")
                return v
            }
            r = chain
        }
        if chain != nil {
            chain = walker.digits(2)
            s = chain
        }
        if chain != nil, let fraction = walker.fraction() {
            s = s! + fraction
            if let z = walker.trailingZone() {
                zone = z
            } else {
                chain = nil
            }
        } else {
            chain = nil
        }
        if chain == nil && !walker.atEnd {
            if walker.onlySpaces(from: walker.pos) {
            } else if walker.isZulu() {
            } else if let z = walker.zoneAtPosition() {
                zone = z
            } else {
                return nil
            }
        }
        let dayNumber: Double
        if let (w, u) = week {
            let f = makeDayNumber(year, 0, 4)
            var wd = mod(f + 1, 7)
            if wd == 0 { wd = 7 }
            dayNumber = f + (1 - wd) + 7 * w + u - 8
        } else if let ordinal {
            dayNumber = makeDayNumber(year, 0, ordinal)
        } else {
            dayNumber = makeDayNumber(year, month! - 1, day!)
        }
        let dayFraction = (((h ?? 0) * 60 + (r ?? 0)) * 60 + (s ?? 0)) * ticksPerSecond + (zone ?? 0) * ticksPerMinute
        return (dayNumber, dayFraction)
    }

    /// A cursor over the date string (luadate's strwalker), after its `(comment)` removal and
    /// leading-space trim.
    struct Walker {
        var s: [UInt8]
        var pos = 0

        init(_ text: String) {
            var bytes: [UInt8] = []
            var depth = 0
            var pending: [UInt8] = []
            for b in text.utf8 {  // gsub("(%b())", "")
                if b == 0x28 {
                    depth += 1
                    pending.append(b)
                } else if depth > 0 {
                    pending.append(b)
                    if b == 0x29 {
                        depth -= 1
                        if depth == 0 { pending = [] }
                    }
                } else {
                    bytes.append(b)
                }
            }
            bytes += pending
            s = Array(bytes.drop(while: Lua.isSpace))
        }

        var atEnd: Bool { pos >= s.count }

        func at(_ i: Int) -> UInt8 { i < s.count ? s[i] : 0 }

        mutating func char(_ c: Character) -> Bool {
            guard at(pos) == c.asciiValue! else { return false }
            pos += 1
            return true
        }

        mutating func digits(_ count: Int) -> Double? {
            var v = 0.0
            for i in 0..<count {
                guard Lua.isDigit(at(pos + i)) else { return nil }
                v = v * 10 + Double(at(pos + i) - 0x30)
            }
            pos += count
            return v
        }

        mutating func skipSpaces() { while Lua.isSpace(at(pos)) { pos += 1 } }

        /// Runs `body`; on nil the position is restored.
        mutating func attempt<T>(_ body: (inout Walker) -> T?) -> T? {
            let saved = pos
            if let v = body(&self) { return v }
            pos = saved
            return nil
        }

        /// `^([,%.]%d+)`: `tonumber("." .. digits)`.
        mutating func fraction() -> Double? {
            guard at(pos) == 0x2C || at(pos) == 0x2E, Lua.isDigit(at(pos + 1)) else { return nil }
            var end = pos + 1
            while Lua.isDigit(at(end)) { end += 1 }
            let value = Lua.scan("." + String(decoding: s[(pos + 1)..<end], as: UTF8.self))
            pos = end
            return value
        }

        func onlySpaces(from i: Int) -> Bool { s[min(i, s.count)...].allSatisfy(Lua.isSpace) }

        /// `^%s*[Zz]%s*$`.
        func isZulu() -> Bool {
            var i = pos
            while Lua.isSpace(at(i)) { i += 1 }
            return (at(i) == 0x5A || at(i) == 0x7A) && onlySpaces(from: i + 1)
        }

        /// `[+-]HH[:]MM%s*$` (or with `whole`, also `[+-]HH%s*$`) at `i` after spaces, in minutes
        /// to add (luadate's `setzc`/`setzn`).
        func zone(at start: Int, allowHoursOnly: Bool) -> Double? {
            var i = start
            while Lua.isSpace(at(i)) { i += 1 }
            guard at(i) == 0x2B || at(i) == 0x2D else { return nil }
            let sign: Double = at(i) == 0x2B ? -1 : 1
            guard Lua.isDigit(at(i + 1)), Lua.isDigit(at(i + 2)) else { return nil }
            let hh = Double(at(i + 1) - 0x30) * 10 + Double(at(i + 2) - 0x30)
            var j = i + 3
            if at(j) == 0x3A { j += 1 }
            if Lua.isDigit(at(j)), Lua.isDigit(at(j + 1)), onlySpaces(from: j + 2) {
                let mm = Double(at(j) - 0x30) * 10 + Double(at(j + 1) - 0x30)
                return (hh * 60 + mm) * sign
            }
            if allowHoursOnly && onlySpaces(from: i + 3) {
                return (hh < 24 ? hh * 60 : mod(hh, 100) + floor(hh / 100) * 60) * sign
            }
            return nil
        }

        /// The unanchored `%s*([+-])(%d%d):?(%d%d)%s*$` after a fraction.
        func trailingZone() -> Double? {
            for i in pos..<max(pos, s.count) {
                if let z = zone(at: i, allowHoursOnly: false) { return z }
            }
            return nil
        }

        func zoneAtPosition() -> Double? { zone(at: pos, allowHoursOnly: true) }
    }
}
