import NIOCore
import KGateSettings
import NIOSSL
import Synchronization
import Testing

@testable import KGateProxy

@Suite("HTTPS upstreams", .serialized)
struct TLSUpstreamTests {
    private func withTLSUpstream(
        _ tls: NIOSSLContext? = nil, _ body: (TestUpstream) async throws -> Void
    ) async throws {
        let upstream = TestUpstream(name: "tls", group: TestLoops.group, tls: try tls ?? TestCertificates.serverContext())
        try await upstream.start()
        do {
            try await body(upstream)
            await upstream.stop()
        } catch {
            await upstream.stop()
            throw error
        }
    }

    /// kong.yml's `certificates` with the client certificate (id `...1a01`) and the other one
    /// (`...1a02`).
    private static let clientCertificatesYAML = """
        certificates:
        \(TestCertificates.certificateEntryYAML(
            id: "0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01", cert: TestCertificates.clientPEM, key: TestCertificates.clientKeyPEM))
        \(TestCertificates.certificateEntryYAML(
            id: "0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a02", cert: TestCertificates.otherClientPEM,
            key: TestCertificates.otherClientKeyPEM))
        """

    /// Services `unverified` (IP, no verification), `verified` (`tls_verify` against `ca`, with
    /// a route keeping the client's Host) and `system-trust` to a TLS upstream on `port`.
    private func httpsYAML(port: Int, ca: String) -> String {
        """
        _format_version: "3.0"
        ca_certificates:
        - id: 8e0e8d2d-7c79-4a4e-8e5e-3c2f1a9d0b01
          cert: |
        \(TestCertificates.indentedForYAML(ca))
        services:
        - name: unverified
          url: https://127.0.0.1:\(port)
          routes:
          - paths: [/unverified]
        - name: verified
          url: https://localhost:\(port)
          tls_verify: true
          ca_certificates: [8e0e8d2d-7c79-4a4e-8e5e-3c2f1a9d0b01]
          routes:
          - paths: [/verified]
          - paths: [/wrong-name]
            preserve_host: true
        - name: system-trust
          url: https://localhost:\(port)
          tls_verify: true
          retries: 0
          routes:
          - paths: [/system]
        """
    }

    @Test("https services: TLS with SNI, tls_verify against ca_certificates, pooled like plain ones")
    func https() async throws {
        try await withTLSUpstream { up in
            let yaml = httpsYAML(port: up.port, ca: TestCertificates.caPEM)
            try await withProxy(yaml) { proxy in
                let plain = try await proxy.get("/unverified/echo")
                #expect(plain.status == 200)
                #expect(plain.header("X-Upstream") == "tls")
                let verified = try await proxy.get("/verified/echo")
                #expect(verified.status == 200)
                #expect(EchoedRequest(verified).header("Host") == "localhost:\(up.port)")
                // The client's Host becomes the SNI and verification name: not in the certificate
                // (a handshake failure is a connection failure: tried `retries` more times).
                let wrong = try await proxy.get("/wrong-name/echo", host: "other.example")
                #expect(wrong.status == 502)
                // Logged as nginx logs it (05-proxy/06-ssl_spec, 04-admin_api/22-debug_spec).
                #expect(proxy.errors.messages.contains {
                    $0.contains("upstream SSL certificate does not match \"other.example\" while SSL handshaking to upstream")
                        && $0.contains(", upstream: \"https://127.0.0.1:\(up.port)/echo\", host: \"other.example\"")
                })
                // Our test CA is not in the system store.
                #expect(try await proxy.get("/system/echo").status == 502)
                // The test server sends its certificate without the CA's.
                #expect(proxy.errors.messages.contains {
                    $0.contains(
                        "upstream SSL certificate verify error: (21:unable to verify the first certificate) "
                            + "while SSL handshaking to upstream")
                })
                let before = up.connectionsAccepted
                let c = try await proxy.client()
                for _ in 0..<5 {
                    try await c.send(ProxyHarness.request("GET", "/verified/echo"))
                    #expect(try await c.readResponse().status == 200)
                }
                await c.close()
                // Reused: at most one new connection (the pool of the client connection's loop).
                #expect(up.connectionsAccepted - before <= 1)
            }
        }
    }

    /// Kong's mock upstream presents `kong_spec.crt`, a P-256-signed certificate with a P-521
    /// key: nginx (OpenSSL) offers `ecdsa_secp521r1_sha512`, which BoringSSL's client leaves out
    /// by default (06-ssl_spec, 18-upstream_tls_spec: every https service reaches it).
    @Test("an upstream whose certificate has a P-521 key is reached, verified or not")
    func p521() async throws {
        let context = try TestCertificates.serverContext(
            certificate: TestCertificates.p521PEM, key: TestCertificates.p521KeyPEM)
        try await withTLSUpstream(context) { up in
            let yaml = httpsYAML(port: up.port, ca: TestCertificates.p521PEM)
            try await withProxy(yaml) { proxy in
                let unverified = try await proxy.get("/unverified/echo")
                #expect(unverified.status == 200)
                let verified = try await proxy.get("/verified/echo")
                #expect(verified.status == 200)
            }
        }
    }

    /// Kong's `fallback_upstream_client_cert`: a service without `client_certificate` that
    /// names an upstream presents the upstream's; the service's own wins over it
    /// (18-upstream_tls_spec "mutual TLS authentication against upstream with Upstream object").
    @Test("client_certificate of the service, else of the upstream the service names")
    func clientCertificates() async throws {
        let context = try TestCertificates.serverContext(requiringClient: TestCertificates.clientPEM)
        try await withTLSUpstream(context) { up in
            let yaml = """
                _format_version: "3.0"
                \(Self.clientCertificatesYAML)
                upstreams:
                - name: plain-backend
                  targets: [{target: "127.0.0.1:\(up.port)"}]
                - name: mtls-backend
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01
                  targets: [{target: "127.0.0.1:\(up.port)"}]
                - name: other-backend
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a02
                  targets: [{target: "127.0.0.1:\(up.port)"}]
                services:
                - {name: none, url: "https://plain-backend", retries: 0, routes: [{paths: [/none]}]}
                - name: service-cert
                  url: https://127.0.0.1:\(up.port)
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01
                  routes: [{paths: [/service-cert]}]
                - {name: upstream-cert, url: "https://mtls-backend", routes: [{paths: [/upstream-cert]}]}
                - name: service-wins
                  url: https://other-backend
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01
                  routes: [{paths: [/service-wins]}]
                """
            try await withProxy(yaml) { proxy in
                let none = try await proxy.get("/none/echo")
                #expect(none.status == 502)
                for path in ["/service-cert/echo", "/upstream-cert/echo", "/service-wins/echo"] {
                    let response = try await proxy.get(path)
                    #expect(response.status == 200, "\(path)")
                }
            }
        }
    }

    /// `client_ssl` (nginx's `proxy_ssl_certificate`): with no `client_certificate` on the
    /// service or its upstream, connections and `https` probes present `client_ssl_cert`; a
    /// service's own certificate still wins (01-healthchecks_spec "mTLS").
    @Test("client_ssl: the node's client certificate for proxied connections and https probes")
    func clientSSL() async throws {
        let context = try TestCertificates.serverContext(requiringClient: TestCertificates.otherClientPEM)
        try await withTLSUpstream(context) { up in
            let yaml = """
                _format_version: "3.0"
                \(Self.clientCertificatesYAML)
                upstreams:
                - name: probed
                  healthchecks:
                    active:
                      type: https
                      http_path: /status/200
                      https_verify_certificate: false
                      healthy: {interval: 0.1, successes: 1}
                      unhealthy: {interval: 0.1, tcp_failures: 1, http_failures: 1}
                  targets: [{target: "127.0.0.1:\(up.port)"}]
                services:
                - {name: global, url: "https://127.0.0.1:\(up.port)", routes: [{paths: [/global]}]}
                - name: own
                  url: https://127.0.0.1:\(up.port)
                  retries: 0
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01
                  routes: [{paths: [/own]}]
                - {name: balanced, url: "https://probed", routes: [{paths: [/balanced]}]}
                """
            var settings = NodeSettings()
            settings.clientSSL = true
            settings.clientSSLCert = [PEMFile(path: "client.crt", pem: TestCertificates.otherClientPEM)]
            settings.clientSSLCertKey = [PEMFile(path: "client.key", pem: TestCertificates.otherClientKeyPEM)]
            try await withProxy(yaml, settings: settings) { proxy in
                #expect(try await proxy.get("/global/echo").status == 200)
                // The service's certificate is not one the upstream trusts.
                #expect(try await proxy.get("/own/echo").status == 502)
                // Probes with the node's certificate keep the target healthy.
                try await Task.sleep(for: .milliseconds(500))
                #expect(up.requests.contains { $0.head.uri == "/status/200" })
                #expect(try await proxy.get("/balanced/echo").status == 200)
            }
        }
    }

    /// Verifying `https` probes trust `lua_ssl_trusted_certificate` (the system's store by
    /// default) and accept `lua_ssl_verify_depth` intermediates, as Kong's cosockets do: a
    /// target whose chain they cannot verify is marked unhealthy.
    @Test("https probes verify with lua_ssl_trusted_certificate and lua_ssl_verify_depth")
    func probesTrustLuaCertificates() async throws {
        let context = try TestCertificates.serverContext(
            certificate: TestCertificates.oneIntermediateChainPEM, key: TestCertificates.oneIntermediateKeyPEM)
        try await withTLSUpstream(context) { up in
            let yaml = """
                _format_version: "3.0"
                upstreams:
                - name: probed
                  healthchecks:
                    active:
                      type: https
                      http_path: /status/200
                      https_sni: localhost
                      healthy: {interval: 0.1, successes: 1}
                      unhealthy: {interval: 0.1, tcp_failures: 1, http_failures: 1}
                  targets: [{target: "127.0.0.1:\(up.port)"}]
                services:
                - {name: balanced, url: "https://probed", routes: [{paths: [/balanced]}]}
                """
            let root = PEMFile(path: "root.crt", pem: TestCertificates.chainRootPEM)
            // (trust, depth, status once probed)
            let cases: [(TrustedCertificates, Int, Int)] = [
                (.system, 1, 503),
                (TrustedCertificates(includesSystem: true, certificates: [root]), 1, 200),
                (TrustedCertificates(includesSystem: false, certificates: [root]), 1, 200),
                (TrustedCertificates(includesSystem: true, certificates: [root]), 0, 503),
            ]
            for (trust, depth, expected) in cases {
                var settings = NodeSettings()
                settings.luaSSLTrustedCertificate = trust
                settings.luaSSLVerifyDepth = depth
                try await withProxy(yaml, settings: settings) { proxy in
                    try await Task.sleep(for: .milliseconds(400))
                    let status = try await proxy.get("/balanced/echo").status
                    #expect(status == expected, "\(trust.entries), depth \(depth)")
                }
            }
        }
    }

    /// 25-upstream_keepalive_spec: Kong's pool key holds the SNI and the client certificate, so
    /// requests to one ip:port with another SNI or certificate never reuse a connection made
    /// for a different one.
    @Test("upstream connections are pooled per SNI and per client certificate")
    func poolKeys() async throws {
        let names = Mutex<[String?]>([])
        let sniContext = try TestCertificates.serverContext(onHandshake: { name in names.withLock { $0.append(name) } })
        try await withTLSUpstream(sniContext) { up in
            let yaml = """
                _format_version: "3.0"
                services:
                - {name: sni, url: "https://127.0.0.1:\(up.port)", routes: [{paths: [/sni], preserve_host: true}]}
                """
            try await withProxy(yaml) { proxy in
                let c = try await proxy.client()
                for host in ["a.test", "b.test", "a.test", "b.test", "a.test"] {
                    try await c.send(ProxyHarness.request("GET", "/sni/echo", host: host))
                    #expect(try await c.readResponse().status == 200, "\(host)")
                }
                await c.close()
                #expect(up.connectionsAccepted == 2)
                #expect(names.withLock { $0 } == ["a.test", "b.test"])
            }
        }
        let trusted = TestCertificates.clientPEM + "\n" + TestCertificates.otherClientPEM
        try await withTLSUpstream(try TestCertificates.serverContext(requiringClient: trusted)) { up in
            let yaml = """
                _format_version: "3.0"
                \(Self.clientCertificatesYAML)
                services:
                - name: cert-a
                  url: https://127.0.0.1:\(up.port)
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a01
                  routes: [{paths: [/cert-a]}]
                - name: cert-b
                  url: https://127.0.0.1:\(up.port)
                  client_certificate: 0b9f2a1e-3c4d-4e5f-8a6b-7c8d9e0f1a02
                  routes: [{paths: [/cert-b]}]
                """
            try await withProxy(yaml) { proxy in
                let c = try await proxy.client()
                for path in ["/cert-a/echo", "/cert-b/echo", "/cert-a/echo", "/cert-b/echo"] {
                    try await c.send(ProxyHarness.request("GET", path))
                    #expect(try await c.readResponse().status == 200, "\(path)")
                }
                await c.close()
                #expect(up.connectionsAccepted == 2)
            }
        }
    }

    /// `nginx_http_proxy_ssl_verify = on` with `nginx_http_proxy_ssl_trusted_certificate`: a
    /// service whose `tls_verify` is null verifies against that file (06-ssl_spec "proxy ssl
    /// verify", 18-upstream_tls_spec "default is on, request is blocked"); `tls_verify: false`
    /// and `ca_certificates` still decide for their service.
    @Test("nginx_http_proxy_ssl_verify and its trusted certificate stand for a null tls_verify")
    func verifyByDefault() async throws {
        try await withTLSUpstream { up in
            let yaml = httpsYAML(port: up.port, ca: TestCertificates.caPEM) + """

                - name: null-verify
                  url: https://localhost:\(up.port)
                  retries: 0
                  routes: [{paths: [/null-verify]}]
                - name: no-verify
                  url: https://localhost:\(up.port)
                  tls_verify: false
                  routes: [{paths: [/no-verify]}]
                """
            for (trusted, expected) in [(TestCertificates.caPEM, 200), (TestCertificates.p521PEM, 502)] {
                var settings = NodeSettings()
                settings.nginxProxySSLVerify = true
                settings.nginxProxySSLTrustedCertificate = PEMFile(path: "ca.crt", pem: trusted)
                try await withProxy(yaml, settings: settings) { proxy in
                    let null = try await proxy.get("/null-verify/echo")
                    #expect(null.status == expected)
                    let off = try await proxy.get("/no-verify/echo")
                    #expect(off.status == 200)
                    let own = try await proxy.get("/verified/echo")
                    #expect(own.status == 200)
                }
            }
        }
    }

    /// nginx's `proxy_ssl_verify_depth` (18-upstream_tls_spec "tls_verify_depth"): at most that
    /// many intermediate CAs between the upstream's certificate and the trusted root, 1 when
    /// the service's `tls_verify_depth` is null; a longer chain is a failed handshake, a 502.
    @Test("tls_verify_depth limits the intermediates of a verified chain; nginx's 1 when null")
    func verifyDepth() async throws {
        let chains = [
            ("one", TestCertificates.oneIntermediateChainPEM, TestCertificates.oneIntermediateKeyPEM),
            ("two", TestCertificates.twoIntermediatesChainPEM, TestCertificates.twoIntermediatesKeyPEM),
        ]
        // (depth in kong.yml, status for the one-intermediate chain, for the two-intermediates one)
        let cases: [(depth: Int?, one: Int, two: Int)] = [(nil, 200, 502), (0, 502, 502), (1, 200, 502), (2, 200, 200)]
        for (name, chain, key) in chains {
            try await withTLSUpstream(TestCertificates.serverContext(certificate: chain, key: key)) { up in
                var yaml = """
                    _format_version: "3.0"
                    ca_certificates:
                    - id: 8e0e8d2d-7c79-4a4e-8e5e-3c2f1a9d0b02
                      cert: |
                    \(TestCertificates.indentedForYAML(TestCertificates.chainRootPEM))
                    services:
                    - name: unverified
                      url: https://localhost:\(up.port)
                      tls_verify_depth: 0
                      routes: [{paths: [/unverified]}]

                    """
                for (i, c) in cases.enumerated() {
                    yaml += """
                        - url: https://localhost:\(up.port)
                          tls_verify: true
                          \(c.depth.map { "tls_verify_depth: \($0)" } ?? "")
                          ca_certificates: [8e0e8d2d-7c79-4a4e-8e5e-3c2f1a9d0b02]
                          retries: 0
                          routes: [{paths: [/case\(i)]}]

                        """
                }
                try await withProxy(yaml) { proxy in
                    #expect(try await proxy.get("/unverified/echo").status == 200, "\(name)")
                    for (i, c) in cases.enumerated() {
                        let status = try await proxy.get("/case\(i)/echo").status
                        #expect(status == (name == "one" ? c.one : c.two), "\(name) intermediate(s), depth \(String(describing: c.depth))")
                    }
                    // Logged with OpenSSL's reason, as nginx logs it.
                    #expect(proxy.errors.messages.contains {
                        $0.contains("upstream SSL certificate verify error: (22:certificate chain too long)")
                    })
                }
                // `nginx_http_proxy_ssl_verify_depth` is the depth of services without one.
                var settings = NodeSettings()
                settings.nginxProxySSLVerifyDepth = 2
                let statuses = try await withProxy(yaml, settings: settings) { proxy in
                    (try await proxy.get("/case0/echo").status, try await proxy.get("/case1/echo").status)
                }
                #expect(statuses.0 == 200, "\(name) intermediate(s), node depth 2")
                #expect(statuses.1 == 502, "\(name) intermediate(s), depth 0")
            }
        }
    }
}
