import Crypto
import CryptoExtras
import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `jwt` plugin (`spec/03-plugins/16-jwt/03-access_spec.lua`): where tokens are read,
/// the signature algorithms, the registered claims and Kong's 401 answers.
struct JWTTests {
    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let ecKey = P256.Signing.PrivateKey()
    static let edKey = Curve25519.Signing.PrivateKey()

    static func config(plugin: String = "{}") -> String {
        """
        _format_version: "3.0"
        services:
        - name: s
          url: http://upstream.test:8080
          routes:
          - name: r
            paths: [/r]
            plugins:
            - name: jwt
              config: \(plugin)
        consumers:
        - username: jwt_tests_consumer
          custom_id: c-1
          jwt_secrets:
          - {key: tokenkey, secret: tokensecret}
          - {key: base64key, secret: "c2VjcmV0LWJ5dGVz"}
          - key: rsakey
            algorithm: RS256
            rsa_public_key: |
        \(rsaKey.publicKey.pemRepresentation.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
          - key: pskey
            algorithm: PS256
            rsa_public_key: |
        \(rsaKey.publicKey.pemRepresentation.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
          - key: eckey
            algorithm: ES256
            rsa_public_key: |
        \(ecKey.publicKey.pemRepresentation.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
          - key: edkey
            algorithm: EdDSA
            rsa_public_key: |
        \(edPEM.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
        - username: anonymous
        """
    }

    /// The Ed25519 public key as a PEM SubjectPublicKeyInfo.
    static var edPEM: String {
        let der: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00] + edKey.publicKey.rawRepresentation
        return "-----BEGIN PUBLIC KEY-----\n" + base64URL(der, url: false) + "\n-----END PUBLIC KEY-----"
    }

    static func base64URL(_ bytes: some Sequence<UInt8>, url: Bool = true) -> String {
        let text = Base64.encode(Array(bytes))
        guard url else { return text }
        return String(text.compactMap { $0 == "=" ? nil : $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// A token: the header and claims as JSON, signed by `sign` over `header.claims`.
    static func token(_ header: String, _ claims: String, sign: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let input = base64URL(header.utf8) + "." + base64URL(claims.utf8)
        return input + "." + base64URL(try sign(Array(input.utf8)))
    }

    static func hs256(_ claims: String, secret: [UInt8] = Array("tokensecret".utf8), alg: String = "HS256") -> String {
        token(#"{"typ":"JWT","alg":"\#(alg)"}"#, claims) { Array(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: secret))) }
    }

    private func run(
        _ token: String?, plugin: String = "{}", place: String = "header", method: String = "GET"
    ) throws -> Exchange {
        let runner = try Gate.runner(Self.config(plugin: plugin))
        var headers: HTTPFields = [:]
        var query: String?
        switch (place, token) {
        case (_, nil): break
        case ("header", let t?): headers.set("Authorization", "Bearer " + t)
        case ("query", let t?): query = "jwt=" + t
        case ("cookie", let t?): headers.set("Cookie", "other=1; crumble=" + t + "; x=y")
        default: break
        }
        return Exchange(runner, route: "r", method: method, path: "/r", query: query, headers: headers)
    }

    @Test func hs256FromHeaderQueryAndCookie() throws {
        let token = Self.hs256(#"{"iss":"tokenkey"}"#)
        for place in ["header", "query", "cookie"] {
            let exchange = try run(token, plugin: "{cookie_names: [crumble]}", place: place)
            #expect(exchange.status == 0, "\(place)")
            #expect(exchange.upstream("X-Consumer-Username") == "jwt_tests_consumer")
            #expect(exchange.upstream("X-Consumer-Custom-ID") == "c-1")
            #expect(exchange.upstream("X-Credential-Identifier") == "tokenkey")
            #expect(exchange.ctx.shared["authenticated_jwt_token"] as? String == token)
        }
    }

    @Test func asymmetricAlgorithms() throws {
        let rs = try Self.token(#"{"alg":"RS256"}"#, #"{"iss":"rsakey"}"#) {
            Array(try Self.rsaKey.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation)
        }
        let ps = try Self.token(#"{"alg":"PS256"}"#, #"{"iss":"pskey"}"#) {
            Array(try Self.rsaKey.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation)
        }
        let es = try Self.token(#"{"alg":"ES256"}"#, #"{"iss":"eckey"}"#) {
            Array(try Self.ecKey.signature(for: SHA256.hash(data: $0)).rawRepresentation)
        }
        let ed = try Self.token(#"{"alg":"EdDSA"}"#, #"{"iss":"edkey"}"#) { Array(try Self.edKey.signature(for: $0)) }
        for token in [rs, ps, es, ed] {
            let exchange = try run(token)
            #expect(exchange.status == 0, "\(exchange.message ?? "")")
        }
        // The right key with a signature of other data.
        let forged = String(rs.split(separator: ".").dropLast().joined(separator: ".")) + "." + String(ps.split(separator: ".").last!)
        #expect(try run(forged).message == "Invalid signature")
    }

    @Test func kongsRefusals() throws {
        let cases: [(String?, String, String)] = [
            (nil, "Unauthorized", "Bearer"),
            ("a.b", "Bad token; invalid JSON", #"Bearer error="invalid_token""#),
            (Self.hs256(#"{"iss":"tokenkey"}"#, alg: "none"), "Bad token; invalid alg", #"Bearer error="invalid_token""#),
            (Self.hs256(#"{"sub":"x"}"#), "No mandatory 'iss' in claims", #"Bearer error="invalid_token""#),
            (Self.hs256(#"{"iss":""}"#), "Invalid 'iss' in claims", #"Bearer error="invalid_token""#),
            (Self.hs256(#"{"iss":"nobody"}"#), "No credentials found for given 'iss'", #"Bearer error="invalid_token""#),
            (Self.hs256(#"{"iss":"rsakey"}"#), "Invalid algorithm", #"Bearer error="invalid_token""#),
            (Self.hs256(#"{"iss":"tokenkey"}"#, secret: Array("wrong".utf8)), "Invalid signature", #"Bearer error="invalid_token""#),
        ]
        for (token, message, challenge) in cases {
            let exchange = try run(token)
            #expect(exchange.status == 401, "\(message)")
            #expect(exchange.message == message)
            #expect(exchange.ctx.exitResponse?.headers["WWW-Authenticate"] == challenge, "\(message)")
        }
        let realm = try run(Self.hs256(#"{"iss":"nobody"}"#), plugin: "{realm: kong}")
        #expect(realm.ctx.exitResponse?.headers["WWW-Authenticate"] == #"Bearer realm="kong", error="invalid_token""#)
    }

    @Test func registeredClaims() throws {
        let now = 1_700_000_000  // Exchange's request time
        let expired = try run(Self.hs256(#"{"iss":"tokenkey","exp":\#(now - 10)}"#), plugin: "{claims_to_verify: [exp]}")
        #expect(expired.status == 401)
        #expect(expired.ctx.exitResponse?.body == .json(["exp": "token expired"]))
        let early = try run(Self.hs256(#"{"iss":"tokenkey","nbf":\#(now + 60),"exp":"x"}"#), plugin: "{claims_to_verify: [exp, nbf]}")
        #expect(early.ctx.exitResponse?.body == .json(["exp": "must be a number", "nbf": "token not valid yet"]))
        let tooLong = try run(
            Self.hs256(#"{"iss":"tokenkey","exp":\#(now + 7200)}"#), plugin: "{claims_to_verify: [exp], maximum_expiration: 3600}")
        #expect(tooLong.ctx.exitResponse?.body == .json(["exp": "exceeds maximum allowed expiration"]))
        let fine = try run(Self.hs256(#"{"iss":"tokenkey","exp":\#(now + 60)}"#), plugin: "{claims_to_verify: [exp], maximum_expiration: 3600}")
        #expect(fine.status == 0)
    }

    @Test func base64SecretsAnonymousAndPreflight() throws {
        let token = Self.hs256(#"{"iss":"base64key"}"#, secret: Array("secret-bytes".utf8))
        #expect(try run(token, plugin: "{secret_is_base64: true}").status == 0)
        #expect(try run(token).message == "Invalid signature")
        let anonymous = try run(nil, plugin: "{anonymous: anonymous}")
        #expect(anonymous.status == 0)
        #expect(anonymous.upstream("X-Consumer-Username") == "anonymous")
        #expect(anonymous.upstream("X-Anonymous-Consumer") == "true")
        #expect(try run(nil, plugin: "{run_on_preflight: false}", method: "OPTIONS").status == 0)
    }

    @Test func tokensFoundOnce() {
        #expect(JWTPlugin.bearerToken("Bearer abc") == "abc")
        #expect(JWTPlugin.bearerToken("  bearer   abc def") == "abc def")
        #expect(JWTPlugin.bearerToken("Basic x") == nil)
        #expect(NginxCookie.value("crumble", in: ["a=1; CRUMBLE = v2; c=3"]) == "v2")
        #expect(NginxCookie.value("crumble", in: ["crumbles=1"]) == nil)
    }

    @Test func schemaNeedsExpForMaximumExpiration() {
        let error = Gate.loadError(Self.config(plugin: "{maximum_expiration: 10, claims_to_verify: [nbf]}"))
        #expect(error?.contains("expected to contain: exp") == true, "\(error ?? "")")
        #expect(Gate.loadError(Self.config(plugin: "{maximum_expiration: 10, claims_to_verify: [nbf, exp]}")) == nil)
    }
}
