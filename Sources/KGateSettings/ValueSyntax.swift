/// The small syntaxes kong.conf values are written in: trimming, comma lists, booleans,
/// integers, IP addresses and CIDR blocks, header names. Internal helpers for the parsers.
enum ValueSyntax {
    /// Space, tab, CR and LF (and CR-LF, one `Character` in Swift): what Kong's `strip` removes.
    static func isSpace(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\r\n"
    }

    /// The text without leading and trailing whitespace.
    static func trim<S: StringProtocol>(_ text: S) -> String {
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }

    /// A comma-separated list: entries trimmed, empty entries dropped (as Kong's array type).
    static func list(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false)
            .map { trim($0) }
            .filter { !$0.isEmpty }
    }

    /// The arguments of an nginx directive: words separated by spaces or tabs.
    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { isSpace($0) }).map(String.init)
    }

    /// `on`/`true` or `off`/`false`, any case.
    static func boolean(_ text: String, property: String) throws(InvalidValue) -> Bool {
        switch text.lowercased() {
        case "on", "true": return true
        case "off", "false": return false
        default:
            throw InvalidValue(invalidValue(property, text, "expected one of: on, off, true, false"))
        }
    }

    /// A decimal integer (optional leading `+`), at least `minimum`.
    static func integer(
        _ text: String, property: String, minimum: Int, expectation: String
    ) throws(InvalidValue) -> Int {
        let digits = text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(digits), value >= minimum
        else { throw InvalidValue(invalidValue(property, text, expectation)) }
        return value
    }

    /// One of the raw values of an enumeration.
    static func oneOf<T: RawRepresentable & CaseIterable>(
        _ text: String, property: String, as type: T.Type
    ) throws(InvalidValue) -> T where T.RawValue == String {
        if let value = T(rawValue: text) { return value }
        let expected = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw InvalidValue(invalidValue(property, text, "expected one of: \(expected)"))
    }

    /// `invalid value for '<property>': '<value>' (<detail>)`.
    static func invalidValue(_ property: String, _ value: String, _ detail: String) -> String {
        "invalid value for '\(property)': '\(value)' (\(detail))"
    }

    /// `invalid entry for '<property>': '<entry>' (<detail>)`.
    static func invalidEntry(_ property: String, _ entry: String, _ detail: String) -> String {
        "invalid entry for '\(property)': '\(entry)' (\(detail))"
    }

    // MARK: - Addresses

    /// A dotted-quad IPv4 address (`10.0.0.1`).
    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && Int(part)! <= 255
        }
    }

    /// An IPv6 address (`::1`, `fe80::1`, `::ffff:10.0.0.1`), without brackets or zone.
    static func isIPv6(_ text: Substring) -> Bool {
        guard text.contains(":") else { return false }
        var body = text
        var groupsNeeded = 8
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(body[body.index(after: lastColon)...]) else { return false }
            body = body[...lastColon]
            if body.hasSuffix(":") && !body.hasSuffix("::") { body = body.dropLast() }
            groupsNeeded = 6
        }
        let halves = body.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return false }
        func groups(_ s: Substring) -> [Substring]? {
            if s.isEmpty { return [] }
            let g = s.split(separator: ":", omittingEmptySubsequences: false)
            let ok = g.allSatisfy { !$0.isEmpty && $0.count <= 4 && $0.allSatisfy { $0.isASCII && $0.isHexDigit } }
            return ok ? g : nil
        }
        if halves.count == 2 {
            guard let head = groups(halves[0]), let tail = groups(halves[1]) else { return false }
            return head.count + tail.count < groupsNeeded
        }
        guard let all = groups(halves[0]) else { return false }
        return all.count == groupsNeeded
    }

    /// An IPv4 or IPv6 address, or a CIDR block of either (`10.0.0.0/8`, `::/0`).
    static func isIPOrCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address = parts[0]
        let maxPrefix: Int
        if isIPv4(address) {
            maxPrefix = 32
        } else if isIPv6(address) {
            maxPrefix = 128
        } else {
            return false
        }
        guard parts.count == 2 else { return true }
        let prefix = parts[1]
        guard !prefix.isEmpty, prefix.count <= 3, prefix.allSatisfy(\.isASCIIDigit) else { return false }
        return Int(prefix)! <= maxPrefix
    }

    /// An HTTP header name (RFC 9110 token characters).
    static func isHeaderName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy { s in
                s.isASCII
                    && (("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
                        || "!#$%&'*+-.^_`|~".unicodeScalars.contains(s))
            }
    }

    // MARK: - Suggestions

    /// The closest candidate to a misspelt name, when close enough to be a likely typo.
    static func suggestion(for name: String, among candidates: some Sequence<String>) -> String? {
        let lowered = name.lowercased()
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate)
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(1, min(3, lowered.count / 4)) else { return nil }
        return best.name
    }

    /// Levenshtein distance between two strings.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension Character {
    /// `0`–`9` only (not other Unicode digits).
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}

extension Substring {
    /// Splits at `::` (at most the pieces around each occurrence).
    fileprivate func components(separatedByDoubleColon _: Void) -> [Substring] {
        var pieces: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":", next < endIndex, self[next] == ":" {
                pieces.append(self[start..<i])
                start = index(after: next)
                i = start
            } else {
                i = next
            }
        }
        pieces.append(self[start...])
        return pieces
    }
}
