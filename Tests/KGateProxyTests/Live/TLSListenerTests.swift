import Foundation
import KGatePlugins
import KGateProxy
import KGateSchema
import KGateSettings
import NIOSSL
import Synchronization
import Testing

/// `proxy_listen ... ssl`: TLS termination with the certificate chosen by SNI from `snis`
/// (Kong's `runloop/certificate.lua` order), `https` as the request scheme for routing, protocol
/// checks and forwarding headers, and `snis` on routes.
@Suite("TLS listeners: certificates by SNI, https routing")
struct TLSListenerTests {
    /// A plain listener and a TLS one, both on ephemeral ports.
    static func withTLSProxy(
        _ yaml: String, settings: NodeSettings = NodeSettings(), environment: [String: String]? = nil,
        _ body: (ProxyHarness, Int) async throws -> Void
    ) async throws {
        try await withProxy(
            yaml, settings: settings, environment: environment,
            configure: { $0.listen.append(ListenAddress(host: "127.0.0.1", port: 0, ssl: true)) }
        ) { proxy in
            let tlsPort = try #require(proxy.server.localAddresses.dropFirst().first?.port)
            try await body(proxy, tlsPort)
        }
    }

    static func certificateYAML(upstream: Int) -> String {
        return """
            _format_version: "3.0"
            certificates:
            \(TestCertificates.certificateEntryYAML(
                id: "6f1d7e1c-0000-4000-8000-000000000001", cert: TestCertificates.serverPEM, key: TestCertificates.serverKeyPEM))
              snis:
              - name: exact.test
              - name: "*.wild.test"
              - name: "suffix.*"
            services:
            - name: s
              url: http://127.0.0.1:\(upstream)
              routes:
              - name: any
                paths: [/echo]
              - name: secure
                paths: [/secure]
                protocols: [https]
              - name: redirect
                paths: [/redirect]
                protocols: [https]
                https_redirect_status_code: 301
              - name: by-sni
                paths: [/sni]
                snis: [exact.test]
            """
    }

    static let testServerDER: [UInt8] = {
        (try? NIOSSLCertificate.fromPEMBytes(Array(TestCertificates.serverPEM.utf8)).first?.toDERBytes()) ?? []
    }()

    /// The certificate presented for an SNI, and the response to a request on that connection.
    static func exchange(
        port: Int, serverName: String?, path: String = "/echo", host: String = "example.test"
    ) async throws -> (certificate: [UInt8]?, response: RawResponse) {
        let client = try await RawClient.connect(port: port, group: TestLoops.group, tls: true, serverName: serverName)
        defer { Task { await client.close() } }
        try await client.send(ProxyHarness.request("GET", path, host: host))
        let response = try await client.readResponse()
        return (try await client.peerCertificateDER(), response)
    }

    @Test("cert_alt: a client that accepts ECDSA gets the pair's ECDSA certificate, the others the RSA one")
    func alternateCertificate() async throws {
        try await withUpstreams(["u"]) { ups in
            let entry = TestCertificates.certificateEntryYAML(
                id: "6f1d7e1c-0000-4000-8000-0000000000a1", cert: TestCertificates.rsaPEM, key: TestCertificates.rsaKeyPEM)
            let yaml = """
                _format_version: "3.0"
                certificates:
                \(entry)
                  cert_alt: |
                \(TestCertificates.indentedForYAML(TestCertificates.serverPEM))
                  key_alt: |
                \(TestCertificates.indentedForYAML(TestCertificates.serverKeyPEM))
                  snis: [{name: pair.test}]
                services:
                - url: http://127.0.0.1:\(ups[0].port)
                  routes: [{paths: [/echo]}]
                """
            let rsaDER = try NIOSSLCertificate.fromPEMBytes(Array(TestCertificates.rsaPEM.utf8)).first!.toDERBytes()
            try await Self.withTLSProxy(yaml) { _, port in
                /// The certificate presented to a client limited to `schemes` (and, for TLS 1.2,
                /// `ciphers`).
                func presented(tls13: Bool, schemes: [SignatureAlgorithm]?, ciphers: [NIOTLSCipher]? = nil) async throws -> [UInt8]? {
                    var configuration = TLSConfiguration.makeClientConfiguration()
                    configuration.certificateVerification = .none
                    configuration.maximumTLSVersion = tls13 ? .tlsv13 : .tlsv12
                    if let schemes { configuration.verifySignatureAlgorithms = schemes }
                    if let ciphers { configuration.cipherSuiteValues = ciphers }
                    let client = try await RawClient.connect(
                        port: port, group: TestLoops.group, serverName: "pair.test", tlsConfiguration: configuration)
                    defer { Task { await client.close() } }
                    try await client.send(ProxyHarness.request("GET", "/echo"))
                    let status = try await client.readResponse().status
                    #expect(status == 200)
                    return try await client.peerCertificateDER()
                }
                // Clients offer ECDSA by default.
                let modern = try await presented(tls13: true, schemes: nil)
                let tls12 = try await presented(tls13: false, schemes: nil)
                #expect(modern == Self.testServerDER && tls12 == Self.testServerDER)
                // One that takes RSA signatures only gets the RSA certificate.
                let rsaOnly = try await presented(tls13: true, schemes: [.rsaPssRsaeSha256, .rsaPkcs1Sha256])
                #expect(rsaOnly == rsaDER)
                // In TLS 1.2, one without an ECDHE-ECDSA suite too.
                let rsaSuites = try await presented(
                    tls13: false, schemes: nil,
                    ciphers: [.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384])
                #expect(rsaSuites == rsaDER)
            }
        }
    }

    @Test("the certificate follows Kong's SNI lookup: exact, *.suffix, prefix.*, else the default")
    func certificateBySNI() async throws {
        try await withUpstreams(["u"]) { ups in
            try await Self.withTLSProxy(Self.certificateYAML(upstream: ups[0].port)) { _, tlsPort in
                for name in ["exact.test", "a.wild.test", "suffix.example"] {
                    let (certificate, response) = try await Self.exchange(port: tlsPort, serverName: name)
                    #expect(certificate == Self.testServerDER, "SNI \(name)")
                    #expect(response.status == 200)
                }
                // `*.wild.test` does not cover `wild.test`; no SNI at all gets the default too.
                for name in ["other.test", "wild.test", nil] as [String?] {
                    let (certificate, response) = try await Self.exchange(port: tlsPort, serverName: name)
                    #expect(certificate != nil && certificate != Self.testServerDER, "SNI \(name ?? "none")")
                    #expect(response.status == 200)
                }
            }
        }
    }

    /// Kong's serializer gives HTTPS requests `request.tls` (nginx's `$ssl_protocol`,
    /// `$ssl_cipher`, `$ssl_client_verify`); plain ones have none.
    @Test("log plugins see the client's TLS version, cipher and client_verify")
    func logSerializerTLS() async throws {
        let path = NSTemporaryDirectory() + "kgate-tls-log-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withUpstreams(["u"]) { ups in
            let yaml = Self.certificateYAML(upstream: ups[0].port) + """

                plugins:
                - name: file-log
                  config: {path: "\(path)"}
                """
            try await Self.withTLSProxy(yaml) { proxy, tlsPort in
                #expect(try await Self.exchange(port: tlsPort, serverName: "exact.test").response.status == 200)
                #expect(try await proxy.get("/echo").status == 200)
                let lines = await fileLines(path, atLeast: 2)
                try #require(lines.count == 2)
                let requests = try lines.map { line in
                    let root = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    return try #require(root["request"] as? [String: Any])
                }
                let tls = try #require(requests[0]["tls"] as? [String: Any])
                #expect(tls["version"] as? String == "TLSv1.3")
                let cipher = try #require(tls["cipher"] as? String)
                #expect(["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].contains(cipher))
                #expect(tls["client_verify"] as? String == "NONE")
                #expect(requests[1]["tls"] == nil)
            }
        }
    }

    /// A certificate's `cert` and `key` may be `{vault://...}` references (Kong's env vault, by
    /// name or through a `vaults` entity's prefix, a `/key` reading a JSON secret's field): the
    /// secrets serve TLS, and a reference with no value refuses the config, naming it.
    @Test("certificates with vault references are served with the secrets they name")
    func vaultReferencedCertificate() async throws {
        func yaml(upstream: Int) -> String {
            """
            _format_version: "3.0"
            vaults:
            - name: env
              prefix: my-secrets
              config:
                prefix: APP_
            certificates:
            - id: 6f1d7e1c-0000-4000-8000-000000000002
              cert: "{vault://env/tls-cert}"
              key: "{vault://my-secrets/tls/key}"
              snis:
              - name: exact.test
            services:
            - name: s
              url: http://127.0.0.1:\(upstream)
              routes:
              - name: any
                paths: [/echo]
            """
        }
        let escapedKey = TestCertificates.serverKeyPEM.replacingOccurrences(of: "\n", with: "\\n")
        let environment = ["TLS_CERT": TestCertificates.serverPEM, "APP_TLS": "{\"key\": \"\(escapedKey)\"}"]
        try await withUpstreams(["u"]) { ups in
            try await Self.withTLSProxy(yaml(upstream: ups[0].port), environment: environment) { _, tlsPort in
                let (certificate, response) = try await Self.exchange(port: tlsPort, serverName: "exact.test")
                #expect(certificate == Self.testServerDER)
                #expect(response.status == 200)
            }
            await #expect {
                try await Self.withTLSProxy(
                    yaml(upstream: ups[0].port), environment: ["TLS_CERT": TestCertificates.serverPEM]) { _, _ in }
            } throws: { error in
                "\(error)".contains("could not retrieve value for reference {vault://my-secrets/tls/key} (no value found)")
            }
        }
    }

    /// Kong's `ssl_cert` / `ssl_cert_key` (its test configuration names `kong_spec.crt`): the
    /// certificate when no SNI, or an unknown one, is sent; `snis` still win.
    @Test("ssl_cert and ssl_cert_key are the default certificate")
    func configuredDefault() async throws {
        var settings = NodeSettings()
        settings.sslCert = [PEMFile(path: "default.crt", pem: TestCertificates.clientPEM)]
        settings.sslCertKey = [PEMFile(path: "default.key", pem: TestCertificates.clientKeyPEM)]
        let configuredDER = try NIOSSLCertificate.fromPEMBytes(Array(TestCertificates.clientPEM.utf8)).first?.toDERBytes()
        try await withUpstreams(["u"]) { ups in
            try await Self.withTLSProxy(Self.certificateYAML(upstream: ups[0].port), settings: settings) { _, tlsPort in
                for name in ["other.test", nil] as [String?] {
                    let (certificate, response) = try await Self.exchange(port: tlsPort, serverName: name)
                    #expect(certificate == configuredDER, "SNI \(name ?? "none")")
                    #expect(response.status == 200)
                }
                let (certificate, _) = try await Self.exchange(port: tlsPort, serverName: "exact.test")
                #expect(certificate == Self.testServerDER)
            }
        }
    }

    @Test("https is the scheme: forwarding headers, https-only routes, redirects, route snis")
    func httpsScheme() async throws {
        try await withUpstreams(["u"]) { ups in
            try await Self.withTLSProxy(Self.certificateYAML(upstream: ups[0].port)) { proxy, tlsPort in
                let (_, echoed) = try await Self.exchange(port: tlsPort, serverName: "exact.test")
                #expect(echoed.text.contains("X-Forwarded-Proto: https"))
                #expect(echoed.text.contains("X-Forwarded-Port: \(tlsPort)"))

                #expect(try await Self.exchange(port: tlsPort, serverName: "exact.test", path: "/secure").response.status == 200)
                let plain = try await proxy.get("/secure")
                #expect(plain.status == 426)
                #expect(plain.text.contains("Please use HTTPS protocol"))
                let redirect = try await proxy.get("/redirect/x?y=1", host: "example.test")
                #expect(redirect.status == 301)
                #expect(redirect.header("Location") == "https://example.test/redirect/x?y=1")

                // A route with `snis` matches https requests with that SNI only; plain http ones
                // ignore `snis`, as Kong's router does (`net.protocol != "https" || tls.sni ...`).
                #expect(try await Self.exchange(port: tlsPort, serverName: "exact.test", path: "/sni").response.status == 200)
                #expect(try await Self.exchange(port: tlsPort, serverName: "a.wild.test", path: "/sni").response.status == 404)
                #expect(try await proxy.get("/sni").status == 200)
            }
        }
    }

    /// Records the SNI of each handshake in Kong's `certificate` phase.
    final class SNIRecorder: Plugin {
        struct Config: Sendable {}
        static let name = "sni-recorder"
        static let priority = 1
        static let phases: PluginPhases = [.certificate]
        static let schema = Schema.record([])
        let seen = Mutex<[String]>([])

        func makeConfig(_ config: Object, scope: PluginScope) throws -> Config { Config() }

        func certificate(_ config: Config, _ ctx: inout PluginContext) throws {
            let name = ctx.request.serverName ?? "-"
            seen.withLock { $0.append(name) }
        }
    }

    @Test("global plugins run Kong's certificate phase in each TLS handshake, with the SNI")
    func certificatePhase() async throws {
        try await withUpstreams(["u"]) { ups in
            let recorder = SNIRecorder()
            let yaml = Self.certificateYAML(upstream: ups[0].port) + "\nplugins:\n- name: sni-recorder\n"
            let proxy = try await ProxyHarness.start(yaml, extraPlugins: [recorder]) {
                $0.listen.append(ListenAddress(host: "127.0.0.1", port: 0, ssl: true))
            }
            defer { Task { await proxy.stop() } }
            let tlsPort = try #require(proxy.server.localAddresses.dropFirst().first?.port)
            #expect(try await Self.exchange(port: tlsPort, serverName: "exact.test").response.status == 200)
            #expect(try await Self.exchange(port: tlsPort, serverName: nil).response.status == 200)
            #expect(recorder.seen.withLock { $0 } == ["exact.test", "-"])
        }
    }

    @Test("a client that is not speaking TLS to a TLS listener is dropped; the listener keeps serving")
    func garbageOnTLSListener() async throws {
        try await withUpstreams(["u"]) { ups in
            try await Self.withTLSProxy(Self.certificateYAML(upstream: ups[0].port)) { _, tlsPort in
                let raw = try await RawClient.connect(port: tlsPort, group: TestLoops.group)
                try await raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(await raw.waitForClose())
                #expect(try await Self.exchange(port: tlsPort, serverName: "exact.test").response.status == 200)
            }
        }
    }
}
