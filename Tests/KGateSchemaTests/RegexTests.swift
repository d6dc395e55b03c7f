import Testing
import KGateRegex
@testable import KGateSchema

@Suite struct RegexTests {
    @Test func compilesAndMatches() throws {
        let re = try PCRERegex("^/users/(?<id>\\d+)(/(\\w+))?")
        #expect(re.captureCount == 3)
        #expect(re.groupNames == ["id": 1])
        #expect(re.matches("/users/42"))
        #expect(!re.matches("/users/x"))
        let m = try #require(try re.firstMatch(in: "/users/42/profile?x"))
        #expect(m.range == 0..<17)
        #expect(m[0] == "/users/42/profile")
        #expect(m[1] == "42")
        #expect(m["id"] == "42")
        #expect(m[3] == "profile")
        #expect(m[4] == nil)
        let short = try #require(try re.firstMatch(in: "/users/7"))
        #expect(short[2] == nil && short.ranges[2] == nil)
    }

    @Test func anchoredMeansAtStartOnly() throws {
        let re = try PCRERegex("/foo", options: .anchored)
        #expect(re.matches("/foo/bar"))
        #expect(!re.matches("/x/foo"))
        #expect(try PCRERegex("/foo").matches("/x/foo"))
    }

    @Test func bytesAndOffsets() throws {
        #expect(try PCRERegex("ö+").firstMatch(in: "aöö")?.range == 1..<3)  // + applies to the last byte
        let re = try PCRERegex("(?:ö)+")
        let m = try #require(try re.firstMatch(in: "aöö"))
        #expect(m.range == 1..<5)
        #expect(try re.firstMatch(in: "aöö", from: 3)?.range == 3..<5)
        #expect(try PCRERegex("^.$").matches("ö") == false)  // no UTF mode: 2 bytes
        #expect(try PCRERegex("^.$", options: .utf).matches("ö"))
        #expect(try PCRERegex("").matches(""))
    }

    @Test func ngxFlags() {
        #expect(PCRERegex.Options(ngxFlags: "ajo") == [.anchored])
        #expect(PCRERegex.Options(ngxFlags: "ijosmxuD") == [.caseless, .dotAll, .multiline, .extended, .utf, .dupNames])
        #expect(PCRERegex.Options(ngxFlags: "q") == nil)
    }

    @Test func caselessAndNamedDuplicates() throws {
        #expect(try PCRERegex("^abc$", options: .caseless).matches("ABC"))
        let re = try PCRERegex("(?<x>a)|(?<x>b)", options: .dupNames)
        #expect(try re.firstMatch(in: "b")?["x"] == nil)  // the lowest-numbered group wins the name
        #expect(try re.firstMatch(in: "b")?[2] == "b")
    }

    @Test func matchLimitIsEnforced() throws {
        let re = try PCRERegex("^(a+)+$", matchLimit: 10_000)
        let subject = String(repeating: "a", count: 30) + "b"
        #expect(throws: PCREError.self) { try re.firstMatch(in: subject) }
        #expect(!re.matches(subject))
        do {
            _ = try re.firstMatch(in: subject)
        } catch {
            #expect(error.code == -47)
            #expect(error.message == "match limit exceeded")
        }
    }

    @Test func compileErrorsCarryMessageAndOffset() {
        do {
            _ = try PCRERegex("/users/(foo/profile")
            Issue.record("should not compile")
        } catch {
            #expect(error.message == "missing closing parenthesis")
            #expect(error.offset == 19)
        }
    }

    /// (pattern, what `ngx.re.find("", pattern, "aj")` reports).
    static let openRestyErrors: [(String, String?)] = [
        ("/users/(foo/profile", #"pcre2_compile() failed: missing closing parenthesis in "/users/(foo/profile""#),
        ("/[abc/*/user$", #"pcre2_compile() failed: missing terminating ] for character class in "/[abc/*/user$""#),
        ("/a)b", #"pcre2_compile() failed: unmatched closing parenthesis in "/a)b" at ")b""#),
        ("/x{2,1}", #"pcre2_compile() failed: numbers out of order in {} quantifier in "/x{2,1}" at "}""#),
        ("*/", #"pcre2_compile() failed: quantifier does not follow a repeatable item in "*/" at "*/""#),
        ("/\\/*/user$", nil),
        ("/users/(?<id>\\d+)", nil),
        ("/x", nil),
    ]

    @Test(arguments: openRestyErrors)
    func openRestyCompileMessages(_ c: (String, String?)) {
        #expect(PCRERegex.ngxReError(pattern: c.0, subject: "", options: .anchored) == c.1)
    }

    @Test func openRestyMessageIsCutAt255Bytes() {
        let long = "/" + String(repeating: "a", count: 300) + "("
        let msg = PCRERegex.ngxReError(pattern: long, subject: "", options: .anchored)
        #expect(msg?.utf8.count == 255)
        #expect(msg?.hasPrefix("pcre2_compile() failed: missing closing parenthesis in \"/aaa") == true)
    }

    @Test func execErrorsAreReportedLikeLuaRestyCore() {
        let msg = PCRERegex.ngxReError(pattern: "^(a+)+$", subject: String(repeating: "a", count: 40) + "b",
                                       options: [], matchLimit: 1000)
        #expect(msg == "pcre_exec() failed: -47")
    }

    @Test func sharedAcrossTasks() async throws {
        let re = try PCRERegex("^/api/v(\\d+)/")
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask { (try? re.firstMatch(in: "/api/v\(i)/x"))?[1] == String(i) }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(results)
    }
}
