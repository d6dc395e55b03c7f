import KGateLua
import KGateSchema
import Testing

@testable import KGatePlugins

/// `ngx.re`, `ngx`'s encodings, hashes and time functions, and `cjson`, run in this thread's
/// runtime; expected values are OpenResty's.
@Suite struct LuaNgxLibraryTests {
    // MARK: ngx.re

    @Test func matchReturnsCapturesTable() {
        #expect(lua(#"local m = ngx.re.match("hello, 1234", "([0-9])[0-9]+") return { m[0], m[1] }"#) == ["1234", "1"])
        #expect(lua(#"local m = ngx.re.match("ab", "(a)(x)?b") return { m[1], m[2] }"#) == ["a", false])
        #expect(lua(#"local m = ngx.re.match("2024-05", [[(?<year>\d+)-(?<month>\d+)]], "jo") return { m.year, m.month, m[2] }"#)
            == ["2024", "05", "05"])
        #expect(lua(#"return ngx.re.match("HELLO", "hello", "i")[0]"#) == "HELLO")
        #expect(lua(#"return ngx.re.match("hello", "[0-9]+") == nil"#) == true)
        #expect(lua(#"return { ngx.re.match("hello", "ello", "a") == nil, ngx.re.match("hello", "ello")[0] }"#) == [true, "ello"])
        let ctx = lua(#"local ctx = { pos = 9 } local m = ngx.re.match("hello, 1234", "[0-9]+", "", ctx) return { m[0], ctx.pos }"#)
        #expect(ctx == ["234", 12])
    }

    @Test func badRegexesFailSoftlyAndBadFlagsRaise() {
        #expect(lua(#"local m, err = ngx.re.match("x", "(") return { m == nil, err }"#)
            == [true, #"pcre2_compile() failed: missing closing parenthesis in "(""#])
        #expect(lua(#"local a, b, err = ngx.re.find("x", "(") return { a == nil, b == nil, err ~= nil }"#) == [true, true, true])
        let raised = lua(#"local ok, err = pcall(ngx.re.match, "x", "x", "jz") return err"#)?.stringValue
        #expect(raised?.hasSuffix(#"unknown flag "z" (flags "jz")"#) == true)
    }

    @Test func findReturnsByteOffsets() {
        #expect(lua(#"return { ngx.re.find("hello, 1234", "[0-9]+") }"#) == [8, 11])
        #expect(lua(#"return { ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 2) }"#) == [9, 11])
        #expect(lua(#"return ngx.re.find("hello", "[0-9]") == nil"#) == true)
    }

    @Test func subAndGsubExpandTemplates() {
        #expect(lua(#"local s, n = ngx.re.sub("hello, 1234", "([0-9])[0-9]", "[$0][$1]") return { s, n }"#) == ["hello, [12][1]34", 1])
        #expect(lua(#"local s, n = ngx.re.gsub("hello, world", "([a-z])[a-z]+", "[${0},${1}]") return { s, n }"#)
            == ["[hello,h], [world,w]", 2])
        #expect(lua(#"return ngx.re.sub("hello, world", "[a-z]+", "ho$$wdy")"#) == "ho$wdy, world")
        #expect(lua(#"local s, n = ngx.re.gsub("abc", "", "-") return { s, n }"#) == ["-a-b-c-", 4])
        #expect(lua(#"local s, n = ngx.re.gsub("abc", "x", "-") return { s, n }"#) == ["abc", 0])
        // lua-nginx-module's templates have no named groups.
        #expect(lua(#"local s, n, err = ngx.re.sub("a", "(?<x>a)", "${x}") return { s == nil, err }"#)
            == [true, "failed to compile the replacement template"])
    }

    @Test func gsubCallsAReplacementFunction() {
        let code = #"""
            local s, n = ngx.re.gsub("hello, world", "([a-z])[a-z]+", function(m) return "[" .. m[0] .. "," .. m[1] .. "]" end)
            return { s, n }
            """#
        #expect(lua(code) == ["[hello,h], [world,w]", 2])
        #expect(lua(#"return ngx.re.gsub("a1b22", "[0-9]+", function(m) return #m[0] end)"#) == "a1b2")
        let raised = lua(#"local ok, err = pcall(ngx.re.gsub, "abc", "b", function() error("boom") end) return { ok, err }"#)
        #expect(raised?.arrayValue?.first == false)
        #expect(raised?.arrayValue?.last?.stringValue?.contains("boom") == true)
    }

    @Test func gmatchIterates() {
        let code = #"""
            local out = {}
            for m in ngx.re.gmatch("hello, world", "([a-z])([a-z]+)") do out[#out + 1] = m[1] .. ":" .. m[2] end
            return out
            """#
        #expect(lua(code) == ["h:ello", "w:orld"])
        #expect(lua(#"local n = 0 for m in ngx.re.gmatch("ab", "") do n = n + 1 end return n"#) == 3)
    }

    // MARK: Encodings and hashes

    @Test func base64() {
        #expect(lua(#"return ngx.encode_base64("hello")"#) == "aGVsbG8=")
        #expect(lua(#"return ngx.encode_base64("hello", true)"#) == "aGVsbG8")
        #expect(lua(#"return ngx.encode_base64("\0\1\255")"#) == "AAH/")
        #expect(lua(#"return ngx.decode_base64(ngx.encode_base64("\0\1\255")) == "\0\1\255""#) == true)
        #expect(lua(#"return ngx.decode_base64("a!b=") == nil"#) == true)
    }

    @Test func hashes() {
        #expect(lua(#"return ngx.md5("hello")"#) == "5d41402abc4b2a76b9719d911017c592")
        #expect(lua(#"return #ngx.md5_bin("hello")"#) == 16)
        #expect(lua(#"return ngx.encode_base64(ngx.sha1_bin("abc"))"#) == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
        #expect(lua(#"return ngx.encode_base64(ngx.hmac_sha1("Jefe", "what do ya want for nothing?"))"#)
            == "7/zfauXrL6LSdBbV8YTfnCWafHk=")
        #expect(lua(#"return { ngx.crc32_short("hello"), ngx.crc32_long("hello") }"#) == [907_060_870, 907_060_870])
    }

    @Test func uriEscaping() {
        #expect(lua(#"return ngx.escape_uri("a b/c?d=\195\169")"#) == "a%20b%2Fc%3Fd%3D%C3%A9")
        #expect(lua(#"return ngx.escape_uri("-._~!*'()")"#) == "-._~!*'()")
        #expect(lua(#"return ngx.escape_uri("/a b?c#d", 0)"#) == "/a%20b%3Fc%23d")
        #expect(lua(#"return ngx.unescape_uri("a%20b+c%zz%4")"#) == "a b c%zz%4")
        #expect(lua(#"return ngx.unescape_uri(ngx.escape_uri("\0\255 x")) == "\0\255 x""#) == true)
    }

    @Test func args() {
        #expect(lua(#"return ngx.encode_args({ b = { 1, 2 }, a = "x y", flag = true, off = false })"#) == "a=x%20y&b=1&b=2&flag")
        #expect(lua(#"local t = ngx.decode_args("a=1&a=2&b&c=x%20y+z") return { t.a, t.b, t.c }"#) == [["1", "2"], true, "x y z"])
        #expect(lua(#"local n = 0 for _ in pairs(ngx.decode_args("a=1&b=2&c=3", 2)) do n = n + 1 end return n"#) == 2)
        #expect(lua(#"return ngx.quote_sql_str("it's\n\\")"#) == #"'it\'s\n\\'"#)
    }

    // MARK: Time

    @Test func time() {
        #expect(lua("return ngx.http_time(0)") == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(lua("return ngx.http_time(1290079655)") == "Thu, 18 Nov 2010 11:27:35 GMT")
        #expect(lua("return ngx.cookie_time(1290079655)") == "Thu, 18-Nov-10 11:27:35 GMT")
        #expect(lua(#"return ngx.parse_http_time("Thu, 18 Nov 2010 11:27:35 GMT")"#) == 1_290_079_655)
        #expect(lua(#"return ngx.parse_http_time("yesterday") == nil"#) == true)
        #expect(lua("local t, n = ngx.time(), ngx.now() return math.abs(n - t) <= 1 and t > 1700000000 and t % 1 == 0") == true)
        #expect(lua(#"return ngx.today():match("^%d%d%d%d%-%d%d%-%d%d$") ~= nil"#) == true)
        #expect(lua(#"return ngx.utctime():match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$") ~= nil"#) == true)
        #expect(lua(#"return #ngx.localtime()"#) == 19)
        let raised = lua(#"local ok, err = pcall(ngx.http_time, "x") return err"#)?.stringValue
        #expect(raised?.hasSuffix("number argument only") == true)
    }

    // MARK: cjson

    @Test func cjsonRoundTrips() {
        #expect(lua(#"return cjson.encode({ 1, "two", true, cjson.null })"#) == #"[1,"two",true,null]"#)
        #expect(lua(#"return require("cjson").encode({ path = "/a" })"#) == #"{"path":"\/a"}"#)
        let decoded = lua(#"local t = cjson.decode('{"a":[1,2,{"b":null}],"c":"d"}') return { t.a[2], t.a[3].b == cjson.null, t.c }"#)
        #expect(decoded == [2, true, "d"])
        #expect(lua(#"local v = { x = { 1.5, "y" } } return cjson.decode(cjson.encode(v)).x[1]"#) == 1.5)
    }

    @Test func cjsonErrors() {
        #expect(lua(#"local v, err = cjson.safe.decode("{bad") return { v == nil, err }"#)
            == [true, "Expected object key string but found invalid token at character 2"])
        #expect(lua(#"local v, err = require("cjson.safe").encode({ f = print }) return { v == nil, err }"#)
            == [true, "Cannot serialise function: type not supported"])
        let decodeError = lua(#"local ok, err = pcall(cjson.decode, "x") return err"#)?.stringValue
        #expect(decodeError?.hasSuffix("Expected value but found invalid token at character 1") == true)
        let encodeError = lua(#"local ok, err = pcall(cjson.encode, { 1, print }) return err"#)?.stringValue
        #expect(encodeError?.hasSuffix("Cannot serialise function: type not supported") == true)
    }

    // MARK: Helpers

    /// Runs `code` in this thread's runtime and returns its first result (nil for nil), leaving
    /// the stack as it was; a Lua error is recorded as an issue.
    private func lua(_ code: String, sourceLocation: SourceLocation = #_sourceLocation) -> Value? {
        _ = LuaRuntime.current
        let s = LuaVM.current.stack
        let top = s.top
        defer { s.setTop(top) }
        if let error = LuaVM.current.run(code, name: "t") {
            Issue.record("Lua error: \(error)", sourceLocation: sourceLocation)
            return nil
        }
        return s.value(at: -1)
    }
}
