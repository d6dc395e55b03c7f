import NIOCore
import NIOSSL
import Testing

@testable import KGateProxy

@Suite("TLS close_notify handling")
struct CloseNotifyTests {
    /// NIOSSL's default (5 s waiting for the peer's close_notify) kept each closed TLS
    /// connection's handler and buffers alive for 5 s: 220 MB after 4 s of closing upstream TLS
    /// connections at ~2,000 a second. Both sides' contexts must not wait, as nginx does not.
    @Test("the listeners' and the upstreams' TLS contexts close without waiting for the peer")
    func contextsDoNotWait() throws {
        #expect(CloseNotify.wait == .zero)
        let server = try #require(ServerCertificates.defaultContext())
        #expect(server.configuration.shutdownTimeout == CloseNotify.wait)
        for verify in [false, true] {
            let identity = TLSProfile.Identity(verify: verify, verifyDepth: VerifyDepthLimit.nginxDefault, caCertificates: [], client: nil)
            let upstream = try TLSProfile(identity: identity, defaultTrustPEM: nil)
            #expect(upstream.context.configuration.shutdownTimeout == CloseNotify.wait)
        }
    }
}
