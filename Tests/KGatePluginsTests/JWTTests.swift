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

    // Keys and tokens made with the openssl command line (`genpkey -algorithm ed448`, `dgst -sign
    // -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max|20`): swift-crypto makes neither
    // Ed448 signatures nor PSS salts other than the digest's length.
    static let ed448PEM = """
        -----BEGIN PUBLIC KEY-----
        MEMwBQYDK2VxAzoAh0KE/IY7tFm7+Dmonypt08Fv525QnhBo3Uk4taJxSKzcmmMJ
        U2Tptax0KjwkszMJEHgBOCPTInSA
        -----END PUBLIC KEY-----
        """
    static let rsaPEM = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAlOy4B7q/jGRIiZz1k5hE
        y5auBqK7m0JXrU4gXgkG2aePBzLSlXuXyw9JHJBUbLWew1KAeP4QrdPRTmMACU32
        YkUkZjI2WtDEA+FMxWxA9n0xKBvfNx96u2GfzUegMlt7fAvWamdwTLMQeF/ud8ps
        /M6g2b6k8U3PwRs2U2HgwY7WBIEVq6LhKd4MMp6cyLxqbqp1V7RVCe35+QA4U2JP
        6bpR8ApKcrlLxlEmiASk1qVk9EW7ZqtstI3XP85ldUyVz+CmEq/b1BbA86dDf8sT
        nBVNDBFdpv8ttntPIfG4LbTrm8f5Qytw/K8qAk//Io5y8VpPrq42qTcSEJpGdUye
        IQIDAQAB
        -----END PUBLIC KEY-----
        """
    static let ed448Token =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJpc3MiOiJlZDQ0OGtleSJ9.RQc6_EV8WkMYbMHMYhQgm4RoBXEpA-PVk9QsnGOmwy7iIqskt3scTqlo7NjWCY0v-nU5H6kwLh4AyC3HA1QJbXvT4QOKvu8ajmyu9PPo9IQOj2QuxwsBeTQ6wcD8eJrjUZp3VmonsrMTTrR0kf5sri8A"
    /// PS256 with the longest salt (222 bytes for this 2048-bit key), as PyJWT signs.
    static let ps256MaxSaltToken =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJwc2tleSJ9.hRe0lHPDztPz2Sj3emN7Z5dSd8YTk74qK7U3pOxQSNPf_EdcLF1J4lkoZCmDSAsokywhA-uUhqaAwmfOGN2zvCuRDZxABiNBqSJHeGIl9l6ng6rcZ6GDaMKNR8mJPq9CB4JzkZJDjNayVxxM23x57G6qjdAn-fwhNUYYq13LhVymuq0TWxVYkpIZlX-N5Kv3Li4b-kAEEevln0KSIFncHWoEMlx2fl9Ze1Bb_WyRdCHJE-_78sqS1puzKfJk6tLt9l2TWzIb1mGJU_vH4LWTLjMjpNQ2mNUg6c_uyjrt5FRlKFHqczZYrFxKlF_GXcJTfYFytmUPsxg3dRC3e2gKeA"
    /// PS512 with a 20-byte salt.
    static let ps512ShortSaltToken =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJQUzUxMiJ9.eyJpc3MiOiJwczUxMmtleSJ9.MwhaYlwiMfRugdfOyrEQBo1Wep7LCrSyMgLEczIG_y6le51s7KhIMHGJ3hw0C_LMjGgiK9eNt708ajQDcB0HcMBI2KQN-8UtFWRph1E1it36F_TNDyySAxSU4Y_p5KXqL_icIdWhP2jBvn1JPIhUOGTYRLq9LCvRwIayISF52IikQGxl_r2tKXM78D-bxtoLK-URj4IYXAaGp8kwJPt_QaSXAr6nbS4U-13Sk3grqku9oiavxrFcT5GbCITJ8oQnjrQXFqM9jqUHXtkvHcKrT5ekO4ZLhyTX7bB1irqRxby2EQQBdXOVKtgHV94AAYHSCsiRnupvAWL1eormaGKHMQ"

    /// Kong verifies with OpenSSL: EdDSA with an Ed448 key (03-access_spec "verifies JWT with
    /// Ed448 key"), and PS* whatever the salt length (OpenSSL's `RSA_PSS_SALTLEN_AUTO`).
    @Test func ed448AndPSSSaltLengths() throws {
        let config = """
            _format_version: "3.0"
            services:
            - name: s
              url: http://upstream.test:8080
              routes:
              - {name: r, paths: [/r], plugins: [{name: jwt}]}
            consumers:
            - username: openssl_consumer
              jwt_secrets:
              - key: ed448key
                algorithm: EdDSA
                rsa_public_key: |
            \(Self.ed448PEM.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
              - key: pskey
                algorithm: PS256
                rsa_public_key: |
            \(Self.rsaPEM.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
              - key: ps512key
                algorithm: PS512
                rsa_public_key: |
            \(Self.rsaPEM.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
            """
        let runner = try Gate.runner(config)
        func run(_ token: String) -> Exchange {
            var headers: HTTPFields = [:]
            headers.set("Authorization", "Bearer " + token)
            return Exchange(runner, route: "r", method: "GET", path: "/r", query: nil, headers: headers)
        }
        for (token, key) in [(Self.ed448Token, "ed448key"), (Self.ps256MaxSaltToken, "pskey"), (Self.ps512ShortSaltToken, "ps512key")] {
            let exchange = run(token)
            #expect(exchange.status == 0, "\(key): \(exchange.message ?? "")")
            #expect(exchange.upstream("X-Consumer-Username") == "openssl_consumer")
            #expect(exchange.upstream("X-Credential-Identifier") == key)
        }
        // A signature byte changed: refused, for each key type.
        for token in [Self.ed448Token, Self.ps256MaxSaltToken] {
            var bytes = Array(token.utf8)
            let i = bytes.count - 10
            bytes[i] = bytes[i] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(run(String(decoding: bytes, as: UTF8.self)).message == "Invalid signature")
        }
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
