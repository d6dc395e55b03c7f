import NIOCore
import NIOPosix
import NIOSSL
import Testing

@testable import KGateProxy

@Suite("nginx's error-log wording of upstream failures")
struct ProxyErrorLogTests {
    private func message(_ error: ProxyError, headReceived: Bool = false) -> String {
        error.nginxMessage(serverName: "example.com", headReceived: headReceived)
    }

    @Test("connect failures carry the errno as nginx prints it")
    func connect() {
        let refused = ProxyError.connect(IOError(errnoCode: 111, reason: "connect"))
        #expect(message(refused) == "connect() failed (111: Connection refused) while connecting to upstream")
        let unreachable = ProxyError.connect(IOError(errnoCode: 113, reason: "connect"))
        #expect(message(unreachable) == "connect() failed (113: No route to host) while connecting to upstream")
    }

    @Test("TLS: a name the certificate does not carry, other handshake failures")
    func tls() {
        let mismatch = ProxyError(kind: .connectFailed, underlying: NIOSSLExtraError.failedToValidateHostname)
        #expect(message(mismatch) == "upstream SSL certificate does not match \"example.com\" while SSL handshaking to upstream")
        let handshake = ProxyError(kind: .connectFailed, underlying: NIOSSLError.handshakeFailed(.sslError([])))
        #expect(message(handshake).hasPrefix("SSL_do_handshake() failed (SSL: "))
        #expect(message(handshake).hasSuffix(") while SSL handshaking to upstream"))
        let unverified = ProxyError(kind: .connectFailed, underlying: CertificateVerifyError.firstUnverifiable)
        #expect(
            message(unverified)
                == "upstream SSL certificate verify error: (21:unable to verify the first certificate) "
                + "while SSL handshaking to upstream")
    }

    @Test("timeouts, by what was waited for")
    func timeouts() {
        let timedOut = "upstream timed out (110: Connection timed out)"
        #expect(message(ProxyError(kind: .connectTimeout)) == "\(timedOut) while connecting to upstream")
        #expect(message(ProxyError(kind: .writeTimeout)) == "\(timedOut) while sending request to upstream")
        #expect(message(ProxyError(kind: .readTimeout)) == "\(timedOut) while reading response header from upstream")
        #expect(message(ProxyError(kind: .readTimeout), headReceived: true) == "\(timedOut) while reading upstream")
    }

    @Test("closed connections and invalid heads")
    func responses() {
        #expect(
            message(ProxyError(kind: .badResponse))
                == "upstream prematurely closed connection while reading response header from upstream")
        #expect(
            message(ProxyError(kind: .badResponse), headReceived: true)
                == "upstream prematurely closed connection while reading upstream")
        #expect(
            message(ProxyError(kind: .badResponse, underlying: HeadError.badRequest))
                == "upstream sent invalid header while reading response header from upstream")
        #expect(message(ProxyError(kind: .noPeer)) == "failure to get a peer from the ring-balancer")
    }
}
