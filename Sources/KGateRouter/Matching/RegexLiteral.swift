/// The literal text every match of a regex path must start with, so that regex routes can sit
/// in the prefix tree next to prefix routes: a regex is only run for requests whose path
/// starts with its literal prefix (`~/users/\d+` is only tried under `/users/`).
///
/// Conservative: it stops at the first construct that is not a plain character, drops a
/// character made optional by a following quantifier, and gives up (empty prefix) when the
/// pattern has a top-level alternation, which in an ATC expression (`^a|b`) is not anchored.
enum RegexLiteral {
    private static let meta: Set<UInt8> = Set(".^$|?*+()[]{}\\".utf8)

    /// The literal prefix of `pattern` (a path regex without its `~`).
    static func prefix(_ pattern: String) -> [UInt8] {
        let p = Array(pattern.utf8)
        if hasTopLevelAlternation(p) { return [] }
        var out: [UInt8] = []
        var i = 0
        while i < p.count {
            var literal: UInt8
            var next: Int
            let c = p[i]
            if c == 0x5C {
                guard i + 1 < p.count else { break }
                let e = p[i + 1]
                let alnum = (e >= 0x30 && e <= 0x39) || (e >= 0x41 && e <= 0x5A) || (e >= 0x61 && e <= 0x7A)
                if alnum || e >= 0x80 { break }
                literal = e
                next = i + 2
            } else if meta.contains(c) {
                break
            } else {
                literal = c
                next = i + 1
            }
            if next < p.count {
                let q = p[next]
                if q == 0x3F || q == 0x2A || q == 0x7B { break }  // ? * {: the character is optional
                if q == 0x2B {  // +: at least once, then anything
                    out.append(literal)
                    break
                }
            }
            out.append(literal)
            i = next
        }
        return out
    }

    /// Whether `|` appears outside any group and character class.
    static func hasTopLevelAlternation(_ p: [UInt8]) -> Bool {
        var depth = 0
        var i = 0
        var inClass = false
        while i < p.count {
            let c = p[i]
            if c == 0x5C {
                i += 2
                continue
            }
            if inClass {
                if c == 0x5D { inClass = false }
            } else {
                switch c {
                case 0x5B:
                    inClass = true
                    // A `]` right after `[` or `[^` is a literal.
                    if i + 1 < p.count, p[i + 1] == 0x5E { i += 1 }
                    if i + 1 < p.count, p[i + 1] == 0x5D { i += 1 }
                case 0x28: depth += 1
                case 0x29: depth = max(0, depth - 1)
                case 0x7C where depth == 0: return true
                default: break
                }
            }
            i += 1
        }
        return false
    }
}
