import Foundation
import KGateHTTP
import KGateSettings
import KGateStore
import KGateTestSupport
import Logging
import NIOPosix
import Testing

/// What the admin and status listeners take from nginx's http block: the access log
/// (`admin_access_log`, nginx's `combined`) and the `add_header`s of `nginx_http_add_header`.
struct ListenerLoggingTests {
    @Test func accessLogAndAddedHeaders() async throws {
        let path = NSTemporaryDirectory() + "kgate-admin-access-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener = HTTPListener(
            name: "admin", addresses: [ListenerAddress(host: "127.0.0.1", port: 0)], group: group,
            accessLog: AccessLog(file: try LogFile(path: path), format: .combined),
            addedHeaders: [
                AddHeaderDirective(name: "X-Frame-Options", value: "DENY"),
                AddHeaderDirective(name: "X-Always", value: "yes", always: true),
            ],
            logger: Logger(label: "test")
        ) { request in
            request.path == "/missing" ? .json(.notFound, #"{"message":"Not found"}"#) : .json(.ok, "{}")
        }
        try await listener.bind()
        let port = try #require(listener.localAddresses.first?.port)
        let result = Result {
            let client = TestHTTPClient(port: port)
            return (try client.get("/status?x=1"), try client.get("/missing"))
        }
        try await group.shutdownGracefully()
        let (ok, missing) = try result.get()
        // nginx adds a header without `always` to 2xx/3xx answers only.
        #expect(ok.header("X-Frame-Options") == "DENY")
        #expect(ok.header("X-Always") == "yes")
        #expect(missing.header("X-Frame-Options") == nil)
        #expect(missing.header("X-Always") == "yes")

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        try #require(lines.count == 2)
        #expect(lines[0].wholeMatch(of: #/127\.0\.0\.1 - - \[[^\]]+\] "GET \/status\?x=1 HTTP\/1\.1" 200 2 "-" "[^"]*"/#) != nil)
        #expect(lines[1].contains(#""GET /missing HTTP/1.1" 404 23 "-" "#))
    }
}
