import Crypto
import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `hmac-auth` (`spec/03-plugins/19-hmac-auth/03-access_spec.lua`).
struct HMACAuthTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - name: r
          paths: [/r]
          plugins:
          - name: hmac-auth
            config: {enforce_headers: [date], clock_skew: 300}
        - name: body
          paths: [/body]
          plugins:
          - name: hmac-auth
            config: {validate_request_body: true, realm: test}
        - name: anon
          paths: [/anon]
          plugins:
          - name: hmac-auth
            config: {anonymous: nobody, algorithms: [hmac-sha256]}
        consumers:
        - username: bob
          custom_id: c-bob
          hmacauth_credentials:
          - {username: bob, secret: secret}
        - username: nobody
        """
    /// Exchange's request time, as an HTTP date.
    static let date = "Tue, 14 Nov 2023 22:13:20 GMT"

    static func sign(_ text: String, secret: String = "secret", sha1: Bool = false) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let mac = sha1
            ? Array(HMAC<Insecure.SHA1>.authenticationCode(for: Array(text.utf8), using: key))
            : Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
        return Base64.encode(mac)
    }

    static func authorization(_ signature: String, algorithm: String = "hmac-sha256", headers: String = "date request-line") -> String {
        #"hmac username="bob", algorithm="\#(algorithm)", headers="\#(headers)", signature="\#(signature)""#
    }

    private func run(_ route: String, _ headers: [(String, String)], method: String = "GET", query: String? = nil, body: String? = nil) throws -> Exchange {
        let runner = try Gate.runner(Self.config)
        return Exchange(runner, route: route, method: method, path: "/" + route, query: query, headers: HTTPFields(headers), body: body)
    }

    @Test func signedRequestsPass() throws {
        let signature = Self.sign("date: \(Self.date)\nGET /r?a=1 HTTP/1.1")
        let ok = try run("r", [("Date", Self.date), ("Authorization", Self.authorization(signature))], query: "a=1")
        #expect(ok.status == 0, "\(ok.message ?? "")")
        #expect(ok.upstream("X-Consumer-Username") == "bob")
        #expect(ok.upstream("X-Credential-Identifier") == "bob")
        // Proxy-Authorization is read first; @request-target and sha1 work too.
        let target = Self.sign("date: \(Self.date)\n@request-target: get /r", sha1: true)
        let proxy = try run(
            "r", [("Date", Self.date), ("Proxy-Authorization", Self.authorization(target, algorithm: "hmac-sha1", headers: "date @request-target"))])
        #expect(proxy.status == 0, "\(proxy.message ?? "")")
    }

    @Test func kongsRefusals() throws {
        let good = Self.sign("date: \(Self.date)\nGET /r HTTP/1.1")
        let cases: [([(String, String)], String)] = [
            ([], "Unauthorized"),
            ([("Authorization", Self.authorization(good))], "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"),
            ([("Date", "Tue, 14 Nov 2023 21:00:00 GMT"), ("Authorization", Self.authorization(good))], "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"),
            ([("Date", Self.date), ("Authorization", "hmac junk")], "HMAC signature cannot be verified"),
            ([("Date", Self.date), ("Authorization", Self.authorization(good, headers: "request-line"))], "HMAC signature cannot be verified"),
            ([("Date", Self.date), ("Authorization", Self.authorization(good, algorithm: "hmac-md5"))], "HMAC signature cannot be verified"),
            ([("Date", Self.date), ("Authorization", Self.authorization(Self.sign("date: x\nGET /r HTTP/1.1")))], "HMAC signature does not match"),
        ]
        for (headers, message) in cases {
            let exchange = try run("r", headers)
            #expect(exchange.status == 401, "\(message)")
            #expect(exchange.message == message)
            #expect(exchange.ctx.exitResponse?.headers["WWW-Authenticate"] == "hmac")
        }
    }

    @Test func bodyDigestAndAnonymous() throws {
        let body = #"{"a":1}"#
        let digest = "SHA-256=" + Base64.encode(Array(SHA256.hash(data: Array(body.utf8))))
        let signature = Self.sign("date: \(Self.date)\ndigest: \(digest)")
        let auth = Self.authorization(signature, headers: "date digest")
        let ok = try run("body", [("Date", Self.date), ("Digest", digest), ("Authorization", auth)], method: "POST", body: body)
        #expect(ok.status == 0, "\(ok.message ?? "")")
        let tampered = try run("body", [("Date", Self.date), ("Digest", digest), ("Authorization", auth)], method: "POST", body: "{}")
        #expect(tampered.message == "HMAC signature does not match")
        #expect(tampered.ctx.exitResponse?.headers["WWW-Authenticate"] == #"hmac realm="test""#)
        let anonymous = try run("anon", [])
        #expect(anonymous.status == 0)
        #expect(anonymous.upstream("X-Consumer-Username") == "nobody")
        #expect(anonymous.upstream("X-Anonymous-Consumer") == "true")
    }
}
