import Foundation
import KGateTestSupport
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import KGateProxy

/// Resident memory of this process, in MiB.
func residentMiB() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0
    var resident = 0
    _ = withUnsafeMutablePointer(to: &size) { s in
        withUnsafeMutablePointer(to: &resident) { r in
            withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / (1024 * 1024)
}

@Suite("Bodies and streaming", .serialized)
struct StreamingTests {
    private func yaml(_ port: Int) -> String {
        ProxyHarness.oneService(port: port)
    }

    @Test("uploads of 0 B to 1 MiB arrive whole, with Content-Length and chunked")
    func uploads() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let c = try await proxy.client()
                for size in [0, 1, 1000, 70000, 1 << 20] {
                    let body = String(repeating: "b", count: size)
                    try await c.send(ProxyHarness.request("POST", "/upload", body: body))
                    let r = try await c.readResponse()
                    #expect(r.text.split(separator: " ").first == "\(size)")
                }
                // Chunked, split across writes, with an extension and a trailer.
                try await c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhel")
                try await c.send("lo\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n")
                let chunked = try await c.readResponse()
                #expect(chunked.text.split(separator: " ").first == "11")
                await c.close()
            }
        }
    }

    @Test("a chunked request body goes upstream with Content-Length (nginx's request buffering)")
    func chunkedRequestBodies() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send("PUT /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhel")
                try await Task.sleep(for: .milliseconds(20))
                try await c.send("lo\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
                let small = try await c.readResponse()
                #expect(small.text == "hello world")
                #expect(small.header("X-Echo-Content-Length") == "11")
                #expect(small.header("X-Echo-Transfer-Encoding") == nil)

                // Expect: 100-continue: the 100 comes before the body is read.
                try await c.send("PUT /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
                let interim = try await c.readResponse()
                #expect(interim.status == 100)
                try await c.send("3\r\nabc\r\n0\r\n\r\n")
                let continued = try await c.readResponse()
                #expect(continued.text == "abc")
                #expect(continued.header("X-Echo-Content-Length") == "3")

                let large = String(repeating: "z", count: 20000)
                try await c.send("PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\(String(large.utf8.count, radix: 16))\r\n\(large)\r\n0\r\n\r\n")
                let streamed = try await c.readResponse()
                #expect(streamed.text.split(separator: " ").first == "20000")
                await c.close()
            }
        }
    }

    /// Kong's 27-unbuffered_spec: routes with `request_buffering` / `response_buffering` on
    /// (the default) and off.
    private func bufferingYAML(_ buffered: Int, _ unbuffered: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - url: http://127.0.0.1:\(buffered)
          routes:
          - paths: [/buffered]
        - url: http://127.0.0.1:\(unbuffered)
          routes:
          - paths: [/unbuffered]
            request_buffering: false
            response_buffering: false
        """
    }

    @Test("response_buffering: on, a chunked upstream body reaches the client in larger chunks (nginx's proxy_buffering); off, chunk by chunk")
    func responseBuffering() async throws {
        try await withUpstreams(["u", "v"]) { ups in
            try await withProxy(bufferingYAML(ups[0].port, ups[1].port)) { proxy in
                let buffered = try await proxy.get("/buffered/chunks/200")
                #expect(buffered.text == String(repeating: "line\n", count: 200))
                #expect(buffered.chunked)
                #expect(buffered.chunkCount < 200)
                let unbuffered = try await proxy.get("/unbuffered/chunks/200")
                #expect(unbuffered.text == String(repeating: "line\n", count: 200))
                #expect(unbuffered.chunkCount == 200)
            }
        }
    }

    @Test("request_buffering: on, the upstream is reached once the whole body is in (chunked: with Content-Length); off, at once, chunked as sent")
    func requestBuffering() async throws {
        try await withUpstreams(["u", "v"]) { ups in
            try await withProxy(bufferingYAML(ups[0].port, ups[1].port)) { proxy in
                let c = try await proxy.client()
                try await c.send("POST /buffered/echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
                try await Task.sleep(for: .milliseconds(100))
                #expect(ups[0].connectionsAccepted == 0)
                try await c.send("world")
                let whole = try await c.readResponse()
                #expect(whole.text == "helloworld")

                // Larger than `client_body_buffer_size`, still held whole.
                let large = String(repeating: "z", count: 100_000)
                try await c.send(
                    "PUT /buffered/echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "\(String(large.utf8.count, radix: 16))\r\n\(large)\r\n0\r\n\r\n")
                let held = try await c.readResponse()
                #expect(held.header("X-Echo-Content-Length") == "100000")
                #expect(held.header("X-Echo-Transfer-Encoding") == nil)
                await c.close()

                let u = try await proxy.client()
                try await u.send("PUT /unbuffered/echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                #expect(await waitUntil { ups[1].connectionsAccepted == 1 })
                try await u.send("0\r\n\r\n")
                let streamed = try await u.readResponse()
                #expect(streamed.text == "hello")
                #expect(streamed.header("X-Echo-Transfer-Encoding") == "chunked")
                await u.close()
            }
        }
    }

    @Test("request_buffering: a body past client_body_buffer_size waits in an unlinked temporary file, then goes up whole with its length")
    func spooledBody() async throws {
        let directory = "/tmp/kgate-spool-test-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withUpstreams(["u", "v"]) { ups in
            try await withProxy(bufferingYAML(ups[0].port, ups[1].port), configure: { $0.clientBodyTempPath = directory }) { proxy in
                let c = try await proxy.client()
                // Under 1 MiB, so the test upstream's checksum covers every byte.
                let size = 200_000
                try await c.send("PUT /buffered/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                var expected: UInt64 = 0
                for i in 0..<4 {
                    let piece = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
                    try await c.send(Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8))
                    for byte in piece { expected = expected &* 31 &+ UInt64(byte) }
                    if i == 1 {
                        // Half the body is in: it waits in a file nobody can open, and nothing
                        // reached the upstream.
                        func spooled() -> Int {
                            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
                            return open.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
                                .filter { $0.hasPrefix(directory + "/kgate-body-") && $0.hasSuffix("(deleted)") }.count
                        }
                        #expect(await waitUntil { spooled() == 1 })
                        #expect((try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true)
                        #expect(ups[0].connectionsAccepted == 0)
                    }
                }
                try await c.send("0\r\n\r\n")
                let r = try await c.readResponse(timeout: .seconds(30))
                #expect(r.status == 200)
                #expect(r.text == "\(4 * size) \(expected)")
                #expect(ups[0].requests.last?.head.headers["Content-Length"] == ["\(4 * size)"])
                #expect(ups[0].requests.last?.head.headers["Transfer-Encoding"].isEmpty == true)
                await c.close()
            }
        }
    }

    @Test("downloads: Content-Length and chunked bodies up to 8 MiB")
    func downloads() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let c = try await proxy.client()
                for size in [0, 10, 100_000, 8 << 20] {
                    try await c.send(ProxyHarness.request("GET", "/bytes/\(size)"))
                    let r = try await c.readResponse(timeout: .seconds(30))
                    #expect(r.body.count == size)
                    try await c.send(ProxyHarness.request("GET", "/chunked/\(size)"))
                    let ch = try await c.readResponse(timeout: .seconds(30))
                    #expect(ch.body.count == size)
                    #expect(size == 0 || ch.chunked)
                }
                await c.close()
            }
        }
    }

    @Test("Expect: 100-continue: the gateway says 100 once, before it reads the body")
    func expectContinue() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let c = try await proxy.client()
                try await c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
                let interim = try await c.readResponse()
                #expect(interim.status == 100)
                try await c.send("abcd")
                let r = try await c.readResponse()
                #expect(r.status == 200)
                #expect(r.text.hasPrefix("4 "))
                #expect(ups[0].requests.last?.head.headers["Expect"].isEmpty == true)
                // As nginx (ngx_http_test_expect): the 100 comes even when the body came with
                // the head; never to HTTP/1.0.
                try await c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nab")
                #expect(try await c.readResponse().status == 100)
                #expect(try await c.readResponse().text.hasPrefix("2 "))
                await c.close()
                let old = try await proxy.client()
                try await old.send("POST /upload HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nab")
                #expect(try await old.readResponse().status == 200)
                await old.close()
            }
        }
    }

    @Test("100 MiB both ways through a streaming client: memory stays flat")
    func large() async throws {
        try await withUpstreams(["u"]) { ups in
            try await withProxy(yaml(ups[0].port)) { proxy in
                let size = 100 << 20
                let before = residentMiB()
                let down = try await StreamingClient.download(port: proxy.port, path: "/bytes/\(size)")
                #expect(down == size)
                let up = try await StreamingClient.upload(port: proxy.port, path: "/upload", size: size)
                #expect(up.hasPrefix("\(size) "))
                let growth = residentMiB() - before
                #expect(growth < 64, "resident memory grew by \(growth) MiB")
            }
        }
    }
}
