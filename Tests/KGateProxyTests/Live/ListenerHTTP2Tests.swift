import Foundation
import KGateHTTP
import KGateProxy
import KGateSettings
import KGateStore
import KGateTestSupport
import Logging
import NIOPosix
import Testing

/// `admin_listen` and `status_listen` addresses marked `http2` (Kong's default admin address
/// `127.0.0.1:8444 http2 ssl`; Kong's status API spec "supports HTTP/2" on `ssl http2`):
/// HTTP/2 by ALPN or prior knowledge, HTTP/1.1 still served, each stream answered as an
/// HTTP/1.1 request is.
@Suite("Admin and Status listeners: HTTP/2 on http2 addresses")
struct ListenerHTTP2Tests {
    @Test("ssl http2 negotiates h2, plain http2 takes h2c and HTTP/1.1, ssl alone offers http/1.1; counters see connections")
    func servesHTTP2() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counters = ServerCounters()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-lh2-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let listener = HTTPListener(
            name: "status",
            addresses: [
                ListenerAddress(host: "127.0.0.1", port: 0, tls: true, http2: true),
                ListenerAddress(host: "127.0.0.1", port: 0, http2: true),
                ListenerAddress(host: "127.0.0.1", port: 0, tls: true),
            ],
            group: group, counters: counters,
            secureChannel: try ListenerTLS.secureChannel(certificates: [], keys: [], setting: "status_ssl_cert"),
            accessLog: AccessLog(file: try LogFile(path: path), format: .kong),
            logger: Logger(label: "test")
        ) { request in
            .json(.ok, #"{"path":"\#(request.path)","method":"\#(request.method.rawValue)","body":\#(request.body.readableBytes)}"#)
        }
        try await listener.bind()
        let ports = listener.localAddresses.compactMap(\.port)
        try #require(ports.count == 3)
        do {
            let h2 = try await H2Client.connect(port: ports[0], tls: true)
            #expect(h2.negotiated == "h2")
            let status = try await h2.request("/status", authority: "127.0.0.1:\(ports[0])")
            #expect(status.status == 200)
            #expect(status.text == #"{"path":"/status","method":"GET","body":0}"#)
            #expect(status.header("content-type") == "application/json; charset=utf-8")
            #expect(status.header("date") != nil)
            #expect(status.header("connection") == nil)
            // Several streams on the connection, one with a body.
            let posted = try await h2.request("/config", method: "POST", body: Array(repeating: 0x7B, count: 40000))
            #expect(posted.text == #"{"path":"/config","method":"POST","body":40000}"#)
            #expect(try await h2.request("/status").status == 200)
            #expect(counters.snapshot().active >= 1)
            await h2.close()

            let clear = try await H2Client.connect(port: ports[1], tls: false)
            #expect(try await clear.request("/h2c", scheme: "http").text.contains(#""path":"/h2c""#))
            await clear.close()
            let http1 = try TestHTTPClient(port: ports[1]).get("/h1")
            #expect(http1.status == 200)
            #expect(http1.body.contains(#""path":"/h1""#))
            #expect(http1.header("Connection") == "close")  // as the test client asks

            let h1Only = try await H2Client.connect(port: ports[2], tls: true)
            #expect(h1Only.negotiated == "http/1.1")
            await h1Only.close()

            // nginx logs an HTTP/2 stream's request line with HTTP/2.0.
            let text = await fileLines(path, atLeast: 5).joined(separator: "\n")
            #expect(text.contains("\"GET /status HTTP/2.0\" 200"))
            #expect(text.contains("\"GET /h1 HTTP/1.1\" 200"))
            #expect(counters.snapshot().accepted >= 4)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
