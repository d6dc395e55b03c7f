import KGateConfig
import KGateHTTP
import KGateRouter
import KGateStore
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import KGateProxy

/// Per-step costs of the request path, in ns per operation (release builds; env-gated).
@Suite("Micro benchmarks")
struct BenchMicro {
    private func measure(_ name: String, _ n: Int = 200_000, _ body: () -> Void) {
        for _ in 0..<1000 { body() }
        let start = ContinuousClock.now
        for _ in 0..<n { body() }
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
        print("micro \(name): \(Int(ns / Double(n))) ns/op")
    }

    @Test("request path steps", .enabled(if: getenv("KGATE_MICRO") != nil))
    func steps() throws {
        let store = try ConfigStore(artifacts: [ProxyPlansBuilder()])
        try ProxyHarness.install(
            "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:18080\n  routes:\n  - paths: [/]\n",
            in: store)
        let requestText = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18082\r\nUser-Agent: wrk\r\n\r\n"
        let raw = ByteBuffer(string: requestText)
        var head = MessageHead()
        measure("scan+parse request") {
            var scanner = HeadScanner(firstBuffer: 1024, bufferCount: 4, lineLimit: 8192)
            _ = scanner.scan(raw)
            _ = HeadParser.parseRequest(raw, into: &head)
        }
        measure("facts") { _ = RequestFacts(head) }
        let plans = store.current.artifact(for: ProxyPlansBuilder.self)!
        measure("current generation + artifact") { _ = store.current.artifact(for: ProxyPlansBuilder.self) }
        let target = head.target
        measure("target string") { _ = head.target }
        let rr = RouteRequest(method: "GET", target: target, host: "127.0.0.1:18082", scheme: .http, destinationPort: 18082)
        measure("router.match") { _ = plans.router.match(rr) }
        let match = plans.router.match(rr)!
        measure("match.route.protocols") { _ = ProxyHandler.serves("http", match.route.protocols) }
        measure("match.upstreamTarget") { _ = match.upstreamTarget }
        measure("fast upstream target") { _ = ProxyHandler.upstreamTarget(match, target: target) }
        measure("match's service plan") { _ = plans.service(for: match) }
        let facts = RequestFacts(head)
        let f = ForwardingValues(
            forwardedFor: "127.0.0.1", forwardedProto: "http", forwardedHost: "127.0.0.1", forwardedPort: "18082",
            forwardedPath: "/", forwardedPrefix: nil, realIP: "127.0.0.1", via: "1.1 kong/3.10.0", requestID: RequestID(high: 1, low: 2))
        let allocator = ByteBufferAllocator()
        var out = allocator.buffer(capacity: 1024)
        measure("upstream head write") {
            UpstreamRequestHead.write(
                method: .GET, target: "/", host: "127.0.0.1:18080", from: head, facts: facts, forwarding: f, into: &out)
        }
        let responseText =
            "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 02:09:09 GMT\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n"
        let rawResponse = ByteBuffer(string: responseText)
        var response = MessageHead()
        measure("scan+parse response") {
            var scanner = HeadScanner(headLimit: 65536)
            _ = scanner.scan(rawResponse)
            _ = HeadParser.parseResponse(rawResponse, into: &response)
        }
        measure("response framing") { _ = DownstreamResponseHead.framing(of: response, requestMethod: .GET) }
        let a = ResponseAdditions(
            enabled: .kongDefault, serverToken: "kong/3.10.0", viaToken: "1.1 kong/3.10.0",
            requestID: RequestID(high: 1, low: 2), upstreamLatency: 0, proxyLatency: 0, date: "D", keepAlive: true,
            requestUpgrade: nil, wantsTrailers: false)
        measure("downstream head write") {
            DownstreamResponseHead.write(from: response, upstreamChunked: false, framing: .passthrough, a, into: &out)
        }
        var ids = RequestIDGenerator()
        measure("request id") { _ = ids.next() }
        var dates = HTTPDateCache()
        measure("date") { _ = dates.current() }
    }
}
