import Foundation
import KGateSettings
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import KGateServer

/// `ssl` addresses of `admin_listen` and `status_listen` (Kong's default admin listeners include
/// `127.0.0.1:8444 http2 ssl`): HTTP/1.1 over TLS with the certificate made at start-up, and
/// `kgate drain` reaches an `ssl` status listener (17-drain_spec "Kong with SSL-enabled status
/// listener").
@Suite(.serialized)
struct TLSListenerTests {
    @Test(.timeLimit(.minutes(1))) func adminAndStatusOverTLS() async throws {
        let dir = NSTemporaryDirectory() + "kgate-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tls = [ListenAddress(host: "127.0.0.1", port: 0, ssl: true, http2: true)]
        let settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: [], adminListen: tls, statusListen: tls,
            declarativeConfigString: "_format_version: \"3.0\"\nservices:\n- {name: s, url: http://127.0.0.1:9}\n")
        let node = try Node(settings: settings, logger: Logger(label: "test"))
        try await node.start()
        let task = Task { try await node.run() }

        let admin = try #require(node.boundPorts("admin").first)
        let root = try await Self.get(port: admin, "/")
        #expect(root.hasPrefix("HTTP/1.1 200 "))
        #expect(root.contains(#""tagline":"Welcome to kong""#))
        let status = try #require(node.boundPorts("status").first)
        #expect(try await Self.get(port: status, "/status/ready").hasPrefix("HTTP/1.1 200 "))

        let listener = ListenAddress(host: "127.0.0.1", port: status, ssl: true)
        #expect(DrainRequest.url(listener) == "https://127.0.0.1:\(status)/status/ready")
        #expect(DrainRequest.send(to: listener) == .drained)
        #expect(try await Self.get(port: status, "/status/ready").hasPrefix("HTTP/1.1 503 "))

        await node.shutdown()
        try await task.value
    }

    /// `admin_ssl_cert` / `admin_ssl_cert_key` are what the Admin API's `ssl` address presents.
    @Test(.timeLimit(.minutes(1))) func configuredAdminCertificate() async throws {
        let dir = NSTemporaryDirectory() + "kgate-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var settings = NodeSettings(
            prefix: dir + "/prefix", proxyListen: [], adminListen: [ListenAddress(host: "127.0.0.1", port: 0, ssl: true)],
            statusListen: [])
        settings.adminSSLCert = [PEMFile(path: "admin.crt", pem: Self.adminCertificatePEM)]
        settings.adminSSLCertKey = [PEMFile(path: "admin.key", pem: Self.adminKeyPEM)]
        let node = try Node(settings: settings, logger: Logger(label: "test"))
        try await node.start()
        let task = Task { try await node.run() }
        let admin = try #require(node.boundPorts("admin").first)
        let presented = try await Self.peerCertificate(port: admin)
        #expect(presented == (try NIOSSLCertificate.fromPEMBytes(Array(Self.adminCertificatePEM.utf8)).first?.toDERBytes()))
        await node.shutdown()
        try await task.value
    }

    /// The DER of the certificate a TLS listener presents.
    static func peerCertificate(port: Int) async throws -> [UInt8]? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
        let certificate = try await channel.nioSSL_peerCertificate().get()
        try? await channel.close()
        return try certificate?.toDERBytes()
    }

    /// A self-signed `localhost` certificate (`CN=kgate-admin-test`), the test's `admin_ssl_cert`.
    static let adminCertificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBozCCAUmgAwIBAgIUBLkRQC/0zSwaNWC1dKXdDHEJR5swCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQa2dhdGUtYWRtaW4tdGVzdDAgFw0yNjExMjEyMzIyMTBaGA8y
        MTI2MTAyODIzMjIxMFowGzEZMBcGA1UEAwwQa2dhdGUtYWRtaW4tdGVzdDBZMBMG
        ByqGSM49AgEGCCqGSM49AwEHA0IABLWgyQPxPj187DuN7b5zbIQOdn9obDsYxdq6
        6A/T0gPq1Q38CtJjHE13e0c84E5WUqR/pimum7ofrJosKdMndpijaTBnMB0GA1Ud
        DgQWBBRonmWKCGGgRDAAYz9LaKgJ7i4JvjAfBgNVHSMEGDAWgBRonmWKCGGgRDAA
        Yz9LaKgJ7i4JvjAPBgNVHRMBAf8EBTADAQH/MBQGA1UdEQQNMAuCCWxvY2FsaG9z
        dDAKBggqhkjOPQQDAgNIADBFAiBMEHnXNoKTf5I1gPoHIpD3rkOiQPoIWX+6delL
        vPYLOwIhAN7wFIR6+xaGlrf1df8kCeQ+oKWiWI/q0o20COFo9E6x
        -----END CERTIFICATE-----
        """

    /// Its key.
    static let adminKeyPEM = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEIBaMEpsdAgoC+uhFTg7gprbJfgsBY9PjkFKW0O+dGPk3oAoGCCqGSM49
        AwEHoUQDQgAEtaDJA/E+PXzsO43tvnNshA52f2hsOxjF2rroD9PSA+rVDfwK0mMc
        TXd7RzzgTlZSpH+mKa6buh+smiwp0yd2mA==
        -----END EC PRIVATE KEY-----
        """

    /// A GET over TLS (any certificate) with `Connection: close`: the whole response as text.
    static func get(port: Int, _ path: String) async throws -> String {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        let received = Collected()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(received)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let request = "GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        try await channel.closeFuture.get()
        return received.text
    }

    /// Collects what a connection receives until it closes.
    final class Collected: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let bytes = Mutex<[UInt8]>([])
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
