import Testing
@testable import KGateSchema

@Suite struct LuaPatternTests {
    /// (subject, pattern, expected `string.match` result; nil = no match).
    static let matchCases: [(String, String, [String]?)] = [
        ("hello world", "o w", ["o w"]),
        ("hello", "^h", ["h"]),
        ("hello", "^e", nil),
        ("a^b", "a^b", ["a^b"]),
        ("hello$", "o$", nil),
        ("hello", "o$", ["o"]),
        ("a$b", "a$b", ["a$b"]),
        ("  x", "%s*x", ["  x"]),
        ("key = value", "(%w+)%s*=%s*(%w+)", ["key", "value"]),
        ("hello", "()ll()", ["3", "5"]),
        ("f(a(b)c) d", "%b()", ["(a(b)c)"]),
        ("f(a(b c", "%b()", nil),
        ("THE (quick) fox", "%f[%a]%a+", ["THE"]),
        ("THE (quick) fox", "%f[%l]%a+", ["quick"]),
        ("fox", "%f[%z]", [""]),
        ("say \"hi\" ok", "([\"'])(.-)%1", ["\"", "hi"]),
        ("<a><b>", "<(.-)>", ["a"]),
        ("<a><b>", "<(.*)>", ["a><b"]),
        ("colour", "colou?r", ["colour"]),
        ("color", "colou?r", ["color"]),
        ("x-y", "[%-]", ["-"]),
        ("]", "[]]", ["]"]),
        ("a", "[^%a]", nil),
        ("5", "[0-9]", ["5"]),
        ("-", "[a-]", ["-"]),
        ("^", "[%^]", ["^"]),
        ("^", "[^^]", nil),
        ("abc", "", [""]),
        ("", "^$", [""]),
        ("", ".", nil),
        ("aaa", "a-", [""]),
        ("aaa", "a-$", ["aaa"]),
        ("aaab", "a+b", ["aaab"]),
        ("b", "a+b", nil),
        ("abab", "(ab)%1", ["ab"]),
        ("x=1, y=2", "(%w+)=(%w+)", ["x", "1"]),
        ("GET", "^%u+$", ["GET"]),
        ("get", "^%u+$", nil),
        ("1.2.3-rc.1", "^%d+[%.%d]*%-?.*$", ["1.2.3-rc.1"]),
        (".1", "^%d+[%.%d]*$", nil),
        ("tab\there", "%c", ["\t"]),
        ("a.b", "%p", ["."]),
        ("AbC", "%l", ["b"]),
        ("xyz09AF", "%x+", ["09AF"]),
        ("a b", "%S+$", ["b"]),
        ("é", "%a", nil),
        ("é", "%A+", ["é"]),
        ("é", "^..$", ["é"]),
        ("ab", "%w%w", ["ab"]),
        ("[x]", "%[(.)%]", ["x"]),
        ("100%", "%d+%%", ["100%"]),
        ("a", "%y", nil),
        ("y", "%y", ["y"]),
    ]

    @Test(arguments: matchCases)
    func matchMatchesLua(_ c: (String, String, [String]?)) throws {
        #expect(try LuaPattern.match(c.0, c.1) == c.2)
        #expect(LuaPattern.matches(c.0, c.1) == (c.2 != nil))
    }

    /// (pattern, Lua's error message).
    static let malformed: [(String, String)] = [
        ("[a", "malformed pattern (missing ']')"),
        ("[", "malformed pattern (missing ']')"),
        ("%", "malformed pattern (ends with '%')"),
        ("%f", "missing '[' after '%f' in pattern"),
        ("%fx", "missing '[' after '%f' in pattern"),
        ("(()", "unfinished capture"),
        ("(x", "unfinished capture"),
        ("%1", "invalid capture index"),
        ("(x)%2", "invalid capture index"),
        (")", "invalid pattern capture"),
        ("%b", "unbalanced pattern"),
        ("%ba", "unbalanced pattern"),
    ]

    @Test(arguments: malformed)
    func malformedPatternsThrowLuaMessages(_ c: (String, String)) {
        #expect(throws: LuaPatternError(c.1)) { try LuaPattern.find("x", c.0) }
        #expect(LuaPattern.matches("x", c.0) == false)
    }

    @Test func tooManyCaptures() throws {
        let p = String(repeating: "()", count: 33)
        #expect(throws: LuaPatternError("too many captures")) { try LuaPattern.find("x", p) }
        #expect(try LuaPattern.find("x", String(repeating: "()", count: 32))?.captures.count == 32)
    }

    @Test func findReturnsByteRangesAndCaptures() throws {
        let m = try #require(try LuaPattern.find("hello world", "(o)%s(w)"))
        #expect(m.range == 4..<7)
        #expect(m.captures == [.range(4..<5), .range(6..<7)])
        #expect(try LuaPattern.find("hello", "()l")?.captures == [.position(2)])
        #expect(try LuaPattern.find("abc", "")?.range == 0..<0)
        #expect(try LuaPattern.find("abc", "$")?.range == 3..<3)
        #expect(try LuaPattern("b").find(in: "abcb", from: 2)?.range == 3..<4)
        #expect(try LuaPattern("^b").find(in: "abcb", from: 1)?.range == 1..<2)
        #expect(try LuaPattern("x").find(in: "abc", from: 10) == nil)
        #expect(try LuaPattern("").find(in: "abc", from: 10) == nil)
        #expect(try LuaPattern("").find(in: "abc", from: 3)?.range == 3..<3)
    }

    /// (subject, pattern, replacement, max, expected result, expected count).
    static let gsubCases: [(String, String, String, Int, String, Int)] = [
        ("hello world", "o", "0", .max, "hell0 w0rld", 2),
        ("abc", "", "-", .max, "-a-b-c-", 4),
        ("abc", "x*", "-", .max, "-a-b-c-", 4),
        ("hello world", "(%w+)", "<%1>", .max, "<hello> <world>", 2),
        ("abc", "%w", "%0%0", .max, "aabbcc", 3),
        ("hello", "^h", "H", .max, "Hello", 1),
        ("hhh", "^h", "H", .max, "Hhh", 1),
        ("aaa", "a", "b", 2, "bba", 2),
        ("a.b", "%.", "%%", .max, "a%b", 1),
        ("abc", "b", "%1", .max, "abc", 1),
        ("hello", "()l", "%1", .max, "he34o", 2),
        ("/some%20words%a", "%%%x%x", "___", .max, "/some___words%a", 1),
        ("THE (quick) fox", "%f[%a]%a+", "X", .max, "X (X) X", 3),
    ]

    @Test(arguments: gsubCases)
    func gsubMatchesLua(_ c: (String, String, String, Int, String, Int)) throws {
        let (out, n) = try LuaPattern(c.1).gsub(c.0, c.2, maxCount: c.3)
        #expect(out == c.4)
        #expect(n == c.5)
    }

    @Test func gsubTemplateErrors() {
        #expect(throws: LuaPatternError("invalid capture index")) { try LuaPattern("(b)").gsub("abc", "%2") }
    }

    @Test func gsubWithFunction() throws {
        let (out, n) = try LuaPattern("%w+").gsub(bytes: Array("ab cd".utf8)) { m, src in
            m.range.lowerBound == 0 ? nil : Array(src[m.range].reversed())
        }
        #expect(String(decoding: out, as: UTF8.self) == "ab dc")
        #expect(n == 2)
    }

    @Test func luaLiteralDecodesByteEscapes() {
        #expect(LuaPattern(luaLiteral: #"\128-\244"#).bytes == [128, 0x2D, 244])
        #expect(LuaPattern(luaLiteral: #"\0331\x41\n\\\q"#).bytes == [33, 0x31, 0x41, 10, 0x5C, 0x71])
        #expect(LuaPattern(luaLiteral: "é").bytes == [0xC3, 0xA9])
    }

    static let utf8Name = LuaPattern(luaLiteral: #"^[%w%.%-%_~\128-\244]+$"#)

    @Test(arguments: ["example", "~3..x4~.M-p~1__3_", "孔", "Конг", "🦍", "a-ü"])
    func kongUTF8NamePatternAccepts(_ s: String) {
        #expect(Self.utf8Name.matches(s))
    }

    @Test(arguments: ["examp:le", "examp;le", "examp/le", "examp le", "\u{7F}"])
    func kongUTF8NamePatternRejects(_ s: String) {
        #expect(!Self.utf8Name.matches(s))
    }

    @Test func byteSubjects() throws {
        let p = LuaPattern(luaLiteral: #"[\200-\255]+"#)
        #expect(p.matches(bytes: [0x41, 0xFF, 0xC8]))
        #expect(try p.find(inBytes: [0x41, 0xFF, 0xC8, 0x41])?.range == 1..<3)
        #expect(!p.matches(bytes: [0x41, 0x80]))
        #expect(LuaPattern("%z").matches(bytes: [0x41, 0]))
        #expect(!LuaPattern("%Z").matches(bytes: [0]))
    }

    @Test func longSubjectsDoNotRecurseDeeply() {
        let s = String(repeating: "a", count: 200_000)
        #expect(LuaPattern("^a*$").matches(s))
        #expect(LuaPattern("^[^b]+$").matches(s))
        #expect(!LuaPattern("^a-b$").matches(s))
    }
}
