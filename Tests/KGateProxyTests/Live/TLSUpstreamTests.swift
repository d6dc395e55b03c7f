import NIOCore
import Testing

@testable import KGateProxy

@Suite("HTTPS upstreams", .serialized)
struct TLSUpstreamTests {
    private func withTLSUpstream(_ body: (TestUpstream) async throws -> Void) async throws {
        let upstream = TestUpstream(name: "tls", group: TestLoops.group, tls: try TestCertificates.serverContext())
        try await upstream.start()
        do {
            try await body(upstream)
            await upstream.stop()
        } catch {
            await upstream.stop()
            throw error
        }
    }

    private func indented(_ pem: String) -> String {
        pem.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
    }

    @Test("https services: TLS with SNI, tls_verify against ca_certificates, pooled like plain ones")
    func https() async throws {
        try await withTLSUpstream { up in
            let yaml = """
                _format_version: "3.0"
                ca_certificates:
                - id: 8e0e8d2d-7c79-4a4e-8e5e-3c2f1a9d0b01
                  cert: |
                \(indented(TestCertificates.caPEM))
                services:
                - name: unverified
                  url: https://127.0.0.1:\(up.port)
                  routes:
                  - paths: [/unverified]
                - name: verified
                  url: https://localhost:\(up.port)
                  tls_verify: true
                  ca_certificates: [8e0e8d2d-7c79-4a4e-8e5e-3c2f1a9d0b01]
                  routes:
                  - paths: [/verified]
                  - paths: [/wrong-name]
                    preserve_host: true
                - name: system-trust
                  url: https://localhost:\(up.port)
                  tls_verify: true
                  retries: 0
                  routes:
                  - paths: [/system]
                """
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
                // Our test CA is not in the system store.
                #expect(try await proxy.get("/system/echo").status == 502)
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
}
