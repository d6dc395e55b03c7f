import KGateSettings
import NIOPosix
import NIOSSL
import Testing

/// `ssl_cipher_suite`, `ssl_protocols` and `ssl_ciphers` on `ssl` listeners: the TLS versions
/// and (TLSv1.2) ciphers a client may negotiate, as Kong's suites set nginx's `ssl_protocols`
/// and `ssl_ciphers`.
@Suite("TLS listeners: ssl_cipher_suite, ssl_protocols, ssl_ciphers")
struct TLSPolicyTests {
    /// A client offering only `versions` (and, for TLSv1.2, only `ciphers`).
    static func client(_ minimum: TLSVersion, _ maximum: TLSVersion, ciphers: [NIOTLSCipher]? = nil) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.minimumTLSVersion = minimum
        configuration.maximumTLSVersion = maximum
        if let ciphers { configuration.cipherSuiteValues = ciphers }
        return configuration
    }

    /// The version a client negotiated for a proxied request, nil when the handshake failed.
    static func negotiated(_ port: Int, _ configuration: TLSConfiguration) async -> TLSVersion? {
        guard
            let client = try? await RawClient.connect(
                port: port, group: MultiThreadedEventLoopGroup.singleton, tlsConfiguration: configuration)
        else { return nil }
        defer { Task { await client.close() } }
        do {
            try await client.send("GET /echo HTTP/1.1\r\nHost: tls.test\r\n\r\n")
            let response = try await client.readResponse(timeout: .seconds(5))
            guard response.status == 200 else { return nil }
            return try await client.tlsVersion()
        } catch {
            return nil
        }
    }

    static func settings(_ apply: (inout NodeSettings) -> Void) -> NodeSettings {
        var settings = NodeSettings()
        apply(&settings)
        return settings
    }

    static func yaml(_ upstream: Int) -> String {
        "_format_version: \"3.0\"\nservices:\n- url: http://127.0.0.1:\(upstream)\n  routes:\n  - paths: [/echo]\n"
    }

    @Test("intermediate (the default): TLSv1.2 and TLSv1.3, not TLSv1.1")
    func intermediate() async throws {
        try await withUpstreams(["u"]) { ups in
            try await TLSListenerTests.withTLSProxy(Self.yaml(ups[0].port)) { _, port in
                #expect(await Self.negotiated(port, Self.client(.tlsv13, .tlsv13)) == .tlsv13)
                #expect(await Self.negotiated(port, Self.client(.tlsv12, .tlsv12)) == .tlsv12)
                #expect(await Self.negotiated(port, Self.client(.tlsv1, .tlsv11)) == nil)
                // A TLSv1.2 cipher outside Mozilla's intermediate list (CBC; the default certificate is ECDSA).
                #expect(await Self.negotiated(port, Self.client(.tlsv12, .tlsv12, ciphers: [.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA])) == nil)
            }
        }
    }

    @Test("modern: TLSv1.3 only")
    func modern() async throws {
        try await withUpstreams(["u"]) { ups in
            let settings = Self.settings { $0.sslCipherSuite = .modern }
            try await TLSListenerTests.withTLSProxy(Self.yaml(ups[0].port), settings: settings) { _, port in
                #expect(await Self.negotiated(port, Self.client(.tlsv12, .tlsv13)) == .tlsv13)
                #expect(await Self.negotiated(port, Self.client(.tlsv12, .tlsv12)) == nil)
            }
        }
    }

    @Test("custom: ssl_protocols and ssl_ciphers as given")
    func custom() async throws {
        try await withUpstreams(["u"]) { ups in
            let settings = Self.settings {
                $0.sslCipherSuite = .custom
                $0.sslProtocols = [.tlsv1_2]
                $0.sslCiphers = "ECDHE-ECDSA-AES256-GCM-SHA384"
            }
            try await TLSListenerTests.withTLSProxy(Self.yaml(ups[0].port), settings: settings) { _, port in
                #expect(await Self.negotiated(port, Self.client(.tlsv13, .tlsv13)) == nil)
                #expect(
                    await Self.negotiated(port, Self.client(.tlsv12, .tlsv12, ciphers: [.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]))
                        == .tlsv12)
                #expect(
                    await Self.negotiated(port, Self.client(.tlsv12, .tlsv12, ciphers: [.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]))
                        == nil)
            }
        }
    }

    @Test("fips: TLSv1.2 with FIPS ciphers; a cipher string the TLS library cannot use fails the load")
    func fipsAndUnusableCiphers() async throws {
        try await withUpstreams(["u"]) { ups in
            let settings = Self.settings { $0.sslCipherSuite = .fips }
            try await TLSListenerTests.withTLSProxy(Self.yaml(ups[0].port), settings: settings) { _, port in
                #expect(await Self.negotiated(port, Self.client(.tlsv12, .tlsv13)) == .tlsv12)
                #expect(await Self.negotiated(port, Self.client(.tlsv13, .tlsv13)) == nil)
            }
            let unusable = Self.settings {
                $0.sslCipherSuite = .custom
                $0.sslCiphers = "FOOBAR:!ALL"
            }
            // The default certificate cannot be offered with it: the generation does not load
            // (nginx refuses to start on such a list); the process does not stop.
            await #expect(throws: (any Error).self) {
                try await TLSListenerTests.withTLSProxy(Self.yaml(ups[0].port), settings: unusable) { _, _ in }
            }
        }
    }
}
