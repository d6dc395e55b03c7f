#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// nginx's HTTP dates: the month names they use, and `ngx_parse_http_time`.
public enum HTTPTime {
    /// `Jan` ... `Dec`.
    public static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The HTTP date (IMF-fixdate, nginx's `ngx.http_time`) of a Unix time:
    /// `Thu, 01 Jan 1970 00:00:01 GMT`.
    public static func format(_ epochSeconds: Int) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(monthNames[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// A Unix time in UTC with a `strftime` format (C locale: `%b` is `Jan` ... `Dec`).
    public static func utc(_ epochSeconds: Int, _ format: String) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        var text = [CChar](repeating: 0, count: 64)
        let n = strftime(&text, text.count, format, &parts)
        return String(decoding: text[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Seconds since the epoch of a UTC date and time (the inverse of ``utc(_:_:)``).
    public static func epochSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int {
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int(timegm(&parts))
    }

    /// `ngx_parse_http_time`: seconds since the epoch of an RFC 1123 (`Sun, 06 Nov 1994
    /// 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov  6
    /// 08:49:37 1994`) date; nil when nginx finds it invalid. The zone is not read.
    public static func parse(_ text: String) -> Int? {
        let s = Array(text.utf8)
        enum Format { case rfc822, rfc850, isoc }
        var format = Format.rfc822
        var p = 0
        while p < s.count {
            if s[p] == UInt8(ascii: ",") { break }
            if s[p] == UInt8(ascii: " ") {
                format = .isoc
                break
            }
            p += 1
        }
        p += 1
        while p < s.count, s[p] == UInt8(ascii: " ") { p += 1 }
        func digits(_ n: Int) -> Int? {
            guard p + n <= s.count else { return nil }
            var v = 0
            for b in s[p..<(p + n)] {
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int(b - UInt8(ascii: "0"))
            }
            p += n
            return v
        }
        func byte(_ c: Character) -> Bool {
            guard p < s.count, s[p] == c.asciiValue! else { return false }
            p += 1
            return true
        }
        guard s.count - p >= 18 else { return nil }
        var day = 0
        if format != .isoc {
            guard let d = digits(2) else { return nil }
            day = d
            if p < s.count, s[p] == UInt8(ascii: " ") {
                guard s.count - p >= 18 else { return nil }
            } else if p < s.count, s[p] == UInt8(ascii: "-") {
                format = .rfc850
            } else {
                return nil
            }
            p += 1
        }
        guard p + 3 <= s.count,
            let month = monthNames.firstIndex(of: String(decoding: s[p..<(p + 3)], as: UTF8.self))
        else { return nil }
        p += 3
        var year = 0
        switch format {
        case .rfc822:
            guard byte(" "), let y = digits(4) else { return nil }
            year = y
        case .rfc850:
            guard byte("-"), let y = digits(2) else { return nil }
            year = y + (y < 70 ? 2000 : 1900)
        case .isoc:
            p += 1
            if p < s.count, s[p] == UInt8(ascii: " ") { p += 1 }
            guard let d = digits(1) else { return nil }
            day = d
            if p < s.count, s[p] != UInt8(ascii: " ") {
                guard let d2 = digits(1) else { return nil }
                day = day * 10 + d2
            }
            guard s.count - p >= 14 else { return nil }
        }
        guard byte(" "), let hour = digits(2), byte(":"), let minute = digits(2), byte(":"), let second = digits(2)
        else { return nil }
        if format == .isoc {
            guard byte(" "), let y = digits(4) else { return nil }
            year = y
        }
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day >= 1, day <= monthDays[month] else { return nil }
        return epochSeconds(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
    }
}
