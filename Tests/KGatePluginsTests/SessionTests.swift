import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `session` plugin (spec/03-plugins/30-session) and lua-resty-session 4's cookies.
@Suite struct SessionTests {
    static let t0: Double = 1_700_000_000
    static let secret = SessionCookie.Secret("kgate-test-secret")
    static let timeouts = SessionCookie.Timeouts(idling: 900, rolling: 3600, absolute: 86400)

    // MARK: Cookies

    /// Cookies made by an independent implementation of lua-resty-session's `save` (Python's
    /// `cryptography`, following session.lua and utils.lua): sid 0...31, created at t0, rolling
    /// offset 100, data `[[["c-id","cred-id",["g1"]],"default","alice"]]`, secret
    /// `kgate-test-secret`; the second is a remember cookie (PBKDF2, 10,000 rounds).
    static let luaSessionCookie =
        "AQAAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A8VNlAGQAAAA_AAAeEHmsjDlwRIkPdpEUL92UAAAAoJpNH5i6AHZ279_FbpCHLw_zvAujWEHl55MVUjMqKAyC0Aw0ItOnPMdYElE7yHtMRStMWTV3wo80Oi7IihHf0"
    static let luaRememberCookie =
        "AQAAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A8VNlAAAAAAA_AACCdu2MeTFBhL7lr0k1oSrBAAAAimU3k6nRdDIgV2J-bv764Q6C7Of5KopXGFvyc2-EszKwh0ZlJ5SszGWLY6EVY19_QmHx-zDZWgl-c9HQjWhw0"
    static let luaData = #"[[["c-id","cred-id",["g1"]],"default","alice"]]"#

    @Test("reads cookies lua-resty-session wrote")
    func readsLuaCookies() throws {
        let now = Int(Self.t0) + 200
        let session = try SessionCookie.open(
            name: "session", cookies: ["session=\(Self.luaSessionCookie)"], secret: Self.secret, kind: .session,
            timeouts: Self.timeouts, now: now
        ).get()
        #expect(String(decoding: session.data, as: UTF8.self) == Self.luaData)
        #expect(session.header.sid == Array(0..<32))
        #expect(session.header.creationTime == Int(Self.t0))
        #expect(session.header.rollingOffset == 100)
        #expect(session.chunks == 1)
        let remembered = try SessionCookie.open(
            name: "remember", cookies: ["a=b; remember=\(Self.luaRememberCookie)"], secret: Self.secret, kind: .remember,
            timeouts: .init(idling: 0, rolling: 604_800, absolute: 2_592_000), now: now
        ).get()
        #expect(String(decoding: remembered.data, as: UTF8.self) == Self.luaData)
        // Another secret, or the other kind's key, does not read them.
        #expect(throws: SessionCookie.Failure.self) {
            try SessionCookie.open(
                name: "session", cookies: ["session=\(Self.luaSessionCookie)"], secret: .init("other"), kind: .session,
                timeouts: Self.timeouts, now: now
            ).get()
        }
        #expect(throws: SessionCookie.Failure.self) {
            try SessionCookie.open(
                name: "session", cookies: ["session=\(Self.luaRememberCookie)"], secret: Self.secret, kind: .session,
                timeouts: Self.timeouts, now: now
            ).get()
        }
    }

    /// A session whose JSON data is over 1 KiB, as lua-resty-session saves it (the same
    /// independent implementation, with Python's zlib at lua-ffi-zlib's settings): deflated,
    /// flag 0x0010.
    static let deflatedData: [UInt8] = {
        let groups = (0..<120).map { "\"group-" + String(repeating: "0", count: 3 - String($0).count) + String($0) + "\"" }
        return Array(("[[[\"c-id\",\"cred-id\",[" + groups.joined(separator: ",") + "]],\"default\",\"alice\"]]").utf8)
    }()
    static let luaDeflatedCookie =
        "ARAAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A8VNlAGQAAAB6AQCP3satFuN91i-Ofc9AZI4iAAAAWVNxBPqpypS5" +
        "-PPhbeBkAQ6bTQ8lT4Y3-KpCMbgTwaimjh7Ec7CJD53i83LpZND0NHl8ZInupmVdS-tsFYs9aYwmK8KXWTAI9XIt1KmNjyJ3Mcjs" +
        "6ZktBP7xHjh3a_l9fs_3jotaF5ZOAA2KzQzQ7D8h7ouJwRoTtY0ndUF7PvnA33OzjoPCXaojRPx_1bNvOVG_pTLlf9pDc4SNruFi" +
        "pAqSJRaShJVx_6EpNzoSIwP_J5rTOt7mDu1mwKzTGeYyPFz8C7O5rJhU2PdySa9R4w_gbzDl1MMWTW_2latar3SNJXAGrJzG3S4d" +
        "NqjeVRdbAx8MegPsaEF_4OCyow4bHS4gfk9fjMCsCjowl3e65Gl_3egYvNichfLipmb-X4GRPiXSAzl8BFoC0Mfg"
    static let luaDeflatedBytesHex =
        "4dd44b6a02511445d1b9545bc1fbfe6f2c850d294d10840489f34f1108aedee174566fafebba6cc7fb75392cdbf376fd5beb" +
        "f2f9fc7a7d1f4fa7d37effef602776661776653776670ff67cefc00ddcc00ddcc00ddcc00ddcc00ddc849b70136ec24db809" +
        "37e126dc849b70336ec6cdb81937e366dc8c9b71336ec62db805b7e016dc825b700b6ec12db805b7e256dc8a5b712b6ec5ad" +
        "b815b7e256dc86db701b6ec36db80db7e136dc86db703b6ec7edb81db7e376dc8edb713b6ec71db80377e00edc813b7007ee" +
        "c01db80377e24edc893b7127eec49db81377e2ceb71bf42ae855d0aba05741af825e05bd0a7a15f42ae855d0aba05741af82" +
        "5e05bd0a7a15f42ae855d0abd87b753e1f96ebede3f27afcecffe571df6efbf70b"

    @Test("compressed sessions: read as lua-resty-session writes them, written the same way over 1 KiB")
    func deflatedData() throws {
        let t = Int(Self.t0)
        let opened = try SessionCookie.open(
            name: "session", cookies: ["session=\(Self.luaDeflatedCookie)"], secret: Self.secret, kind: .session,
            timeouts: Self.timeouts, now: t + 200
        ).get()
        #expect(opened.header.flags == SessionCookie.Header.deflateFlag)
        #expect(opened.data == Self.deflatedData)
        // zlib at lua-ffi-zlib's settings: the same bytes as Kong's nodes make.
        let hex = RawDeflate.deflate(Self.deflatedData)?.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        #expect(hex?.joined() == Self.luaDeflatedBytesHex)
        #expect(RawDeflate.inflate(RawDeflate.deflate(Self.deflatedData) ?? []) == Self.deflatedData)
        // Sealed: deflated (the flag is authenticated with the header), and read back.
        let sealed = try SessionCookie.seal(Self.deflatedData, name: "session", secret: Self.secret, kind: .session, creationTime: t, now: t).get()
        #expect(sealed.cookie.header.flags & SessionCookie.Header.deflateFlag != 0)
        #expect(sealed.values.count == 1)
        let reopened = try SessionCookie.open(
            name: "session", cookies: ["session=\(sealed.values[0].value)"], secret: Self.secret, kind: .session,
            timeouts: Self.timeouts, now: t + 1
        ).get()
        #expect(reopened.data == Self.deflatedData)
        // At most 1 KiB, or when deflating does not make it smaller: stored as it is.
        let small = try SessionCookie.seal(Array(Self.luaData.utf8), name: "session", secret: Self.secret, kind: .session, creationTime: t, now: t).get()
        #expect(small.cookie.header.flags == 0)
        // Data that is not a deflate stream under a valid MAC and tag cannot be made without the
        // secret; a cut stream does not inflate.
        #expect(RawDeflate.inflate(Array((RawDeflate.deflate(Self.deflatedData) ?? []).dropLast(10))) == nil)
        #expect(RawDeflate.inflate(Array("not deflate at all".utf8)) == nil)
    }

    @Test("lua-resty-session's checks: timeouts (strictly past), MAC, header")
    func checks() {
        func open(_ value: String, at now: Int) -> String? {
            switch SessionCookie.open(
                name: "session", cookies: ["session=" + value], secret: Self.secret, kind: .session,
                timeouts: Self.timeouts, now: now)
            {
            case .success: return nil
            case .failure(let failure): return failure.description
            }
        }
        let t = Int(Self.t0)
        #expect(open(Self.luaSessionCookie, at: t + 100 + 900) == nil)
        #expect(open(Self.luaSessionCookie, at: t + 100 + 901) == "session idling timeout exceeded")
        var tampered = Array(Self.luaSessionCookie.utf8)
        tampered[100] = tampered[100] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(open(String(decoding: tampered, as: UTF8.self), at: t + 200) == "invalid session message authentication code")
        #expect(open("short", at: t) == "invalid session header")
        #expect(open(String(repeating: "*", count: 120), at: t) == "unable to base64url decode session header")
        let old = try! SessionCookie.seal(
            Array(Self.luaData.utf8), name: "session", secret: Self.secret, kind: .session, creationTime: t, now: t + 3000
        ).get()
        #expect(open(old.values[0].value, at: t + 3000 + 3601) == "session rolling timeout exceeded")
        #expect(open(old.values[0].value, at: t + 86401) == "session absolute timeout exceeded")
    }

    @Test("a large session spans cookies name, name2, ... of at most 4 KiB")
    func chunks() throws {
        #expect(try SessionCookie.chunkCount(nameLength: 7, dataSize: 3978).get() == 1)
        #expect(try SessionCookie.chunkCount(nameLength: 7, dataSize: 3979).get() == 2)
        #expect(throws: SessionCookie.Failure.self) { try SessionCookie.chunkCount(nameLength: 7, dataSize: 40000).get() }
        // Random letters, which deflate to about 60%: still three cookies' worth.
        var g = Xorshift(seed: 7)
        let letters = (0..<11000).map { _ in UInt8(ascii: "a") + UInt8(g.next() % 26) }
        let data = Array(#"[[["#.utf8) + letters + Array(#""],"default"]]"#.utf8)
        let t = Int(Self.t0)
        let sealed = try SessionCookie.seal(data, name: "session", secret: Self.secret, kind: .session, creationTime: t, now: t).get()
        #expect(sealed.values.map(\.name) == ["session", "session2", "session3"])
        #expect(sealed.values.allSatisfy { $0.name.utf8.count + 1 + $0.value.utf8.count <= 4096 })
        let cookies = sealed.values.map { "\($0.name)=\($0.value)" }
        let opened = try SessionCookie.open(
            name: "session", cookies: [cookies.joined(separator: "; ")], secret: Self.secret, kind: .session,
            timeouts: Self.timeouts, now: t + 1
        ).get()
        #expect(opened.data == data)
        #expect(opened.chunks == 3)
    }

    // MARK: The plugin

    static func config(_ session: String = "{}") -> String {
        """
        _format_version: "3.0"
        consumers:
        - id: 5f6ba1c9-3d8f-4a34-8ed5-0c3c2e0a1a01
          username: coop
          keyauth_credentials: [{id: 7a9f0f2e-8c52-4c56-9d3b-3f2f8a5c0b01, key: kong}]
        - username: anon
        services:
        - name: svc
          url: http://upstream
          routes:
          - name: test
            paths: [/test]
            plugins:
            - name: session
              config: \(session)
            - name: key-auth
              config: {anonymous: anon}
        """
    }

    /// One request through access and header_filter; its `Set-Cookie`s.
    static func request(
        _ runner: PluginRunner, method: String = "GET", query: String? = nil, headers: HTTPFields = [:], time: Double = t0
    ) -> (ex: Exchange, cookies: [String]) {
        var ex = Exchange(runner, route: "test", method: method, path: "/test", query: query, headers: headers, time: time)
        let response = ex.respond()
        return (ex, response.values("Set-Cookie"))
    }

    static func cookieHeader(_ setCookies: [String]) -> String {
        setCookies.map { String($0.prefix { $0 != ";" }) }.joined(separator: "; ")
    }

    @Test("a credential opens a session; the cookie then authenticates as the consumer and credential")
    func authenticates() throws {
        let runner = try Gate.runner(Self.config("{secret: s3cr3t}"))
        let anonymous = Self.request(runner)
        #expect(anonymous.cookies.isEmpty)
        #expect(anonymous.ex.ctx.consumer?.username == "anon")

        let login = Self.request(runner, headers: ["apikey": "kong"])
        #expect(login.cookies.count == 1)
        let parts = login.cookies[0].split(separator: "; ").map(String.init)
        #expect(parts.first?.hasPrefix("session=") == true)
        #expect(Array(parts.dropFirst()) == ["Path=/", "SameSite=Strict", "Secure", "HttpOnly"])

        let cookie = Self.cookieHeader(login.cookies)
        let next = Self.request(runner, headers: ["Cookie": cookie], time: Self.t0 + 10)
        #expect(next.ex.status == 0)
        #expect(next.cookies.isEmpty)
        #expect(next.ex.ctx.consumer?.username == "coop")
        #expect(next.ex.ctx.credential?.id == "7a9f0f2e-8c52-4c56-9d3b-3f2f8a5c0b01")
        #expect(next.ex.upstream("X-Consumer-ID") == "5f6ba1c9-3d8f-4a34-8ed5-0c3c2e0a1a01")
        #expect(next.ex.upstream("X-Consumer-Username") == "coop")
        #expect(next.ex.upstream("X-Credential-Identifier") == "7a9f0f2e-8c52-4c56-9d3b-3f2f8a5c0b01")
        #expect(next.ex.upstream("X-Anonymous-Consumer") == nil)

        // Another secret does not read it; past the idling timeout it is gone.
        let other = try Gate.runner(Self.config("{secret: other}"))
        #expect(Self.request(other, headers: ["Cookie": cookie]).ex.ctx.consumer?.username == "anon")
        #expect(Self.request(runner, headers: ["Cookie": cookie], time: Self.t0 + 901).ex.ctx.consumer?.username == "anon")
    }

    @Test("cookie attributes follow the config; remember adds a persistent cookie")
    func attributes() throws {
        let custom = try Gate.runner(
            Self.config("{cookie_name: da_cookie, cookie_same_site: Lax, cookie_http_only: false, cookie_secure: false, cookie_domain: example.test}"))
        let login = Self.request(custom, headers: ["apikey": "kong"])
        #expect(login.cookies.count == 1)
        #expect(login.cookies[0].hasPrefix("da_cookie="))
        #expect(login.cookies[0].hasSuffix("; Domain=example.test; Path=/; SameSite=Lax"))

        let remember = try Gate.runner(Self.config("{remember: true, remember_rolling_timeout: 3600}"))
        let remembered = Self.request(remember, headers: ["apikey": "kong"])
        #expect(remembered.cookies.count == 2)
        #expect(remembered.cookies[0].hasPrefix("session="))
        let parts = remembered.cookies[1].split(separator: "; ").map(String.init)
        #expect(parts[0].hasPrefix("remember="))
        #expect(Array(parts[1...]) == [
            "Path=/", "SameSite=Strict", "Secure", "HttpOnly", "Expires=\(HTTPTime.format(Int(Self.t0) + 3600))", "Max-Age=3600",
        ])
        // Without the session cookie, the remember cookie opens a new one.
        let rememberOnly = Self.cookieHeader([remembered.cookies[1]])
        let back = Self.request(remember, headers: ["Cookie": rememberOnly], time: Self.t0 + 2000)
        #expect(back.ex.ctx.consumer?.username == "coop")
        #expect(back.cookies.map { String($0.prefix { $0 != "=" }) } == ["remember", "session"])
    }

    @Test("logout: a logout method with the query argument clears the cookie with an empty 200")
    func logout() throws {
        let runner = try Gate.runner(Self.config())
        let cookie = Self.cookieHeader(Self.request(runner, headers: ["apikey": "kong"]).cookies)
        // GET is not a logout method by default: authenticated as usual.
        let get = Self.request(runner, query: "session_logout", headers: ["Cookie": cookie])
        #expect(get.ex.status == 0)
        #expect(get.ex.ctx.consumer?.username == "coop")
        let delete = Self.request(runner, method: "DELETE", query: "session_logout", headers: ["Cookie": cookie])
        #expect(delete.ex.status == 200)
        #expect(delete.cookies == ["session=; Path=/; SameSite=Strict; Secure; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"])
        #expect(delete.ex.ctx.consumer == nil)
    }

    @Test("renewal: past 3/4 of the rolling timeout the cookie is saved again, keeping its creation time")
    func refresh() throws {
        let runner = try Gate.runner(Self.config("{idling_timeout: 0, request_headers: [id, timeout, rolling-timeout, absolute-timeout, subject, audience]}"))
        let login = Self.request(runner, headers: ["apikey": "kong"])
        let cookie = Self.cookieHeader(login.cookies)
        let early = Self.request(runner, headers: ["Cookie": cookie], time: Self.t0 + 2700)
        #expect(early.cookies.isEmpty)
        #expect(early.ex.upstream("Session-Rolling-Timeout") == "900")
        #expect(early.ex.upstream("Session-Timeout") == "900")
        #expect(early.ex.upstream("Session-Absolute-Timeout") == String(86400 - 2700))
        #expect(early.ex.upstream("Session-Subject") == "coop")
        #expect(early.ex.upstream("Session-Audience") == "default")
        #expect(early.ex.upstream("Session-Id")?.utf8.count == 43)
        let late = Self.request(runner, headers: ["Cookie": cookie], time: Self.t0 + 2701)
        #expect(late.cookies.count == 1)
        let renewed = Self.cookieHeader(late.cookies)
        let after = Self.request(runner, headers: ["Cookie": renewed], time: Self.t0 + 5000)
        #expect(after.ex.ctx.consumer?.username == "coop")
        #expect(after.ex.upstream("Session-Absolute-Timeout") == String(86400 - 5000))
    }

    @Test("schema: Kong's defaults and shorthands; storage kong is refused")
    func schema() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: session\n  config: \(config)\n")
        }
        #expect(load("{}") == nil)
        #expect(load("{cookie_lifetime: 10, cookie_samesite: \"off\", cookie_persistent: true, cookie_renew: 5}") == nil)
        #expect(load("{storage: kong}")?.contains("storage 'kong' is not supported by kgate") == true)
        #expect(load("{cookie_same_site: Sometimes}")?.contains("expected one of: Strict, Lax, None, Default") == true)
        #expect(load("{logout_methods: [PUT]}")?.contains("expected one of: GET, POST, DELETE") == true)
        #expect(SessionPlugin.defaultSecret.utf8.count == 44)
        #expect(!SessionPlugin.defaultSecret.contains { "+/=".contains($0) })
    }
}

/// A small deterministic generator for test data.
private struct Xorshift {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
