import NIOCore
import NIOHTTP1
import Testing

@testable import KGateProxy

@Suite("Head scanning and parsing")
struct HeadParserTests {
    /// Scans a request head with nginx's default buffers (`1k`, `4 8k`).
    private func scan(_ text: String, first: Int = 1024) -> HeadScanner.Result {
        var scanner = HeadScanner(firstBuffer: first, bufferCount: 4, lineLimit: 8192)
        return scanner.scan(ByteBuffer(string: text))
    }

    private func parseRequest(_ text: String) -> (MessageHead, HeadError?) {
        var head = MessageHead()
        guard case .complete(let start, let length) = scan(text) else { return (head, .badRequest) }
        let bytes = ByteBuffer(string: text).getSlice(at: start, length: length)!
        let error = HeadParser.parseRequest(bytes, into: &head)
        return (head, error)
    }

    /// Where a string's UTF-8 is stored: equal for a string and its copies only.
    private func storage(_ s: String) -> UnsafeRawPointer? {
        s.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
    }

    @Test("a repeated Host or target reuses the connection's last string, any other is read anew")
    func reusedStrings() {
        let target = "/v1/customers/12345/orders?page=2"
        let host = "api.example-service.com"
        let (first, _) = parseRequest("GET \(target) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        let firstTarget = first.target
        let firstHost = RequestFacts(first).host
        #expect(firstTarget == target && firstHost == host)

        let (same, _) = parseRequest("GET \(target) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        let sameTarget = same.target(reusing: firstTarget)
        #expect(sameTarget == target && storage(sameTarget) == storage(firstTarget))
        let sameHost = RequestFacts(same, previousHost: firstHost).host
        #expect(sameHost == host && storage(sameHost!) == storage(firstHost!))

        // The same length with other bytes, another length, and bytes that are not UTF-8.
        let (other, _) = parseRequest("GET /v1/customers/12345/orders?page=3 HTTP/1.1\r\nHost: api.example-service.org\r\n\r\n")
        #expect(other.target(reusing: firstTarget) == "/v1/customers/12345/orders?page=3")
        #expect(RequestFacts(other, previousHost: firstHost).host == "api.example-service.org")
        let (longer, _) = parseRequest("GET \(target)0 HTTP/1.1\r\nHost: a.\(host)\r\n\r\n")
        #expect(longer.target(reusing: firstTarget) == target + "0")
        #expect(RequestFacts(longer, previousHost: firstHost).host == "a." + host)
        let (short, _) = parseRequest("GET /a HTTP/1.1\r\nHost: b\r\n\r\n")
        #expect(short.target(reusing: firstTarget) == "/a")
        #expect(RequestFacts(short, previousHost: firstHost).host == "b")
        var bytes = ByteBuffer(string: "GET /v1/customers/12345/orders?page=")
        bytes.writeBytes([0xFF])
        bytes.writeString(" HTTP/1.1\r\nHost: a\r\n\r\n")
        var invalid = MessageHead()
        #expect(HeadParser.parseRequest(bytes, into: &invalid) == nil)
        #expect(invalid.target(reusing: firstTarget) == invalid.target)
        #expect(invalid.target(reusing: firstTarget) != firstTarget)
    }

    @Test("RecentRequestStrings keeps only strings that cost an allocation, up to its limit")
    func recentStrings() {
        var recent = RecentRequestStrings()
        recent.remember(host: "short.host")
        recent.remember(target: "/short")
        #expect(recent.host == nil && recent.target == nil)
        recent.remember(host: "a-host-of-more-than-15-bytes")
        recent.remember(target: "/a/target/of/more/than/15/bytes")
        #expect(recent.host == "a-host-of-more-than-15-bytes" && recent.target == "/a/target/of/more/than/15/bytes")
        recent.remember(target: "/" + String(repeating: "x", count: RecentRequestStrings.targetLimit))
        #expect(recent.target == "/a/target/of/more/than/15/bytes")
    }

    @Test("finds the end of a head, with CRLF or bare LF, across reads")
    func scanning() {
        #expect(scan("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody") == .complete(start: 0, length: 27))
        #expect(scan("GET / HTTP/1.1\nHost: a\n\n") == .complete(start: 0, length: 24))
        #expect(scan("\r\nGET / HTTP/1.1\r\n\r\n") == .complete(start: 2, length: 18))
        #expect(scan("GET / HTTP/1.1\r\nHost: a\r\n") == .incomplete)
        var scanner = HeadScanner(firstBuffer: 1024, bufferCount: 4, lineLimit: 8192)
        var buffer = ByteBuffer(string: "GET / HT")
        #expect(scanner.scan(buffer) == .incomplete)
        buffer.writeString("TP/1.1\r\nHost: x\r")
        #expect(scanner.scan(buffer) == .incomplete)
        buffer.writeString("\n\r\n")
        #expect(scanner.scan(buffer) == .complete(start: 0, length: 27))
    }

    @Test("limits: request line → 414, header line or head → 494")
    func limits() {
        let long = String(repeating: "a", count: 9000)
        #expect(scan("GET /\(long) HTTP/1.1\r\n\r\n") == .error(.uriTooLong))
        #expect(scan("GET /\(long)") == .error(.uriTooLong))
        #expect(scan("GET / HTTP/1.1\r\nX: \(long)\r\n\r\n") == .error(.headerTooLarge))
        let many = (0..<40).map { "X-\($0): \(String(repeating: "b", count: 1000))\r\n" }.joined()
        #expect(scan("GET / HTTP/1.1\r\n\(many)\r\n") == .error(.headerTooLarge))
    }

    /// nginx's `ngx_http_alloc_large_header_buffer`: a line that does not fit in what is left
    /// of its buffer moves whole to the next 8k buffer, and there are four of them.
    @Test("limits as nginx's buffers: a line with its CRLF fits in 8k; lines fill at most four buffers, their ends wasted")
    func bufferPacking() {
        func line(_ length: Int) -> String { "X-H: " + String(repeating: "a", count: length - 5) + "\r\n" }
        let start = "GET / HTTP/1.1\r\n"
        // 8192 bytes with the line end fit one buffer; 8193 do not (Kong: 400).
        #expect(scan(start + line(8190) + "\r\n") == .complete(start: 0, length: start.utf8.count + 8192 + 2))
        #expect(scan(start + line(8191) + "\r\n") == .error(.headerTooLarge))
        // A request line of 8192 bytes with its CRLF is taken; one byte more is 414.
        let target = { (n: Int) in "GET /" + String(repeating: "p", count: n - 16) + " HTTP/1.1\r\n" }
        #expect(scan(target(8192) + "\r\n") == .complete(start: 0, length: 8194))
        #expect(scan(target(8193) + "\r\n") == .error(.uriTooLong))
        // Two 4097-byte lines do not share an 8k buffer: four fit, the fifth does not.
        let four = String(repeating: line(4095), count: 4)
        #expect(scan(start + four + "\r\n") == .complete(start: 0, length: start.utf8.count + 4 * 4097 + 2))
        #expect(scan(start + four + line(4095) + "\r\n") == .error(.headerTooLarge))
        // 3002-byte lines: two per buffer, eight in all.
        let eight = String(repeating: line(3000), count: 8)
        #expect(scan(start + eight + "\r\n") == .complete(start: 0, length: start.utf8.count + 8 * 3002 + 2))
        #expect(scan(start + eight + line(3000) + "\r\n") == .error(.headerTooLarge))
        // The same across reads: refused as soon as the ninth line cannot be placed.
        var scanner = HeadScanner(firstBuffer: 1024, bufferCount: 4, lineLimit: 8192)
        var buffer = ByteBuffer(string: start + eight + "X-H: aaa")
        #expect(scanner.scan(buffer) == .incomplete)
        buffer.writeString(String(repeating: "a", count: 2500))
        #expect(scanner.scan(buffer) == .error(.headerTooLarge))
        // A head that fits in a larger client_header_buffer_size needs no large buffer.
        #expect(scan(start + line(12000) + "\r\n", first: 16384) == .complete(start: 0, length: start.utf8.count + 12002 + 2))
    }

    @Test("a valid request head")
    func validRequest() {
        let (head, error) = parseRequest("POST /a/b?c=1 HTTP/1.1\r\nHost: example.test\r\nX-Empty:\r\nX-Pad:  v  w \t\r\n\r\n")
        #expect(error == nil)
        #expect(head.method == .POST)
        #expect(head.target == "/a/b?c=1")
        #expect(head.version == .http1_1)
        #expect(head.headerPairs.map(\.0) == ["Host", "X-Empty", "X-Pad"])
        #expect(head.headerPairs.map(\.1) == ["example.test", "", "v  w"])
        #expect(head.firstValue("host") == "example.test")
    }

    @Test(
        "malformed request heads",
        arguments: [
            "GET  HTTP/1.1\r\n\r\n",  // no target
            "GET /\u{1}x HTTP/1.1\r\n\r\n",  // control byte in target
            "GE(T / HTTP/1.1\r\n\r\n",  // not a token
            "GET / HTTP/1.1 x\r\n\r\n",  // junk after version
            "GET / HTTP/1.1\r\r\n",  // CR not followed by LF
            "GET Wx HTTP/1.1\r\n\r\n",  // neither a path nor an absolute URI
            "OPTIONS * HTTP/1.1\r\n\r\n",  // nginx takes no asterisk form
            "CONNECT a:443 HTTP/1.1\r\n\r\n",  // nor an authority form
            "GET http:///x HTTP/1.1\r\n\r\n",  // empty host
            "GET http://a_b/x HTTP/1.1\r\n\r\n",  // `_` in a host
            "GET / HTTP/1.1000\r\n\r\n",  // minor version over 999
            "GET /\r\n\r\n",  // HTTP/0.9
            "GET / XTTP/1.1\r\n\r\n",
            "GET / HTTP/0.9\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",  // space before colon
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",  // obsolete folding
            "GET / HTTP/1.1\r\n: a\r\n\r\n",  // empty name
            "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",  // bare CR in value
            "GET / HTTP/1.1\r\nX-\u{0}: a\r\n\r\n",
        ])
    func malformed(_ text: String) {
        #expect(parseRequest(text).1 == .badRequest)
    }

    @Test("HTTP/2 on an HTTP/1 connection is 505")
    func version() {
        #expect(parseRequest("GET / HTTP/2.0\r\n\r\n").1 == .versionNotSupported)
        #expect(parseRequest("GET / HTTP/10.1\r\n\r\n").1 == .versionNotSupported)
    }

    @Test("request lines nginx takes: spaces after the version, long minor versions, CRs before LF")
    func lenientRequestLines() {
        for text in ["GET / HTTP/1.1  \r\nHost: a\r\n\r\n", "GET /  HTTP/1.10\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"] {
            let (head, error) = parseRequest(text)
            #expect(error == nil, "\(text.debugDescription)")
            #expect(head.version == .http1_1)
            #expect(head.target == "/")
        }
    }

    @Test("an absolute-form target: the path is the target, the host nginx's $host")
    func absoluteForm() {
        var (head, error) = parseRequest("GET http://Example.TEST:8000/a/b?c=1 HTTP/1.1\r\nHost: other\r\n\r\n")
        #expect(error == nil)
        #expect(head.target == "/a/b?c=1")
        #expect(head.uriHost == "example.test")
        (head, error) = parseRequest("GET https://[::1] HTTP/1.1\r\nHost: other\r\n\r\n")
        #expect(error == nil)
        #expect(head.target == "/")
        #expect(head.uriHost == "[::1]")
        (head, error) = parseRequest("GET /x HTTP/1.1\r\nHost: other\r\n\r\n")
        #expect(head.uriHost == nil)
    }

    @Test("header lines as nginx: odd names ignored, a line without a colon is an empty header")
    func nginxHeaderLines() {
        let (head, error) = parseRequest("GET / HTTP/1.1\r\nHost: a\r\nX.Dotted: 1\r\nBare\r\nX_Under: 2\r\n\u{E9}t\u{E9}: 3\r\n\r\n")
        #expect(error == nil)
        #expect(head.headerPairs.map(\.0) == ["Host", "Bare", "X_Under"])
        #expect(head.headerPairs.map(\.1) == ["a", "", "2"])
        #expect(head.fields[1].isBare)
        #expect(!head.fields[0].isBare)
        // Upstream response heads keep every line.
        var response = MessageHead()
        #expect(HeadParser.parseResponse(ByteBuffer(string: "HTTP/1.1 200 OK\r\nX.Dotted: 1\r\n\r\n"), into: &response) == nil)
        #expect(response.headerPairs.map(\.0) == ["X.Dotted"])
    }

    @Test("the beginning of a head is refused at its first impossible byte, as nginx parses")
    func prefixes() {
        func prefix(_ text: String) -> HeadError? { HeadParser.prefixError(ByteBuffer(string: text)) }
        #expect(prefix("") == nil)
        #expect(prefix("\r\nGE") == nil)
        #expect(prefix("GET /a?b HTTP/1.1\r\nHost: a\r\nX-Long-Na") == nil)
        #expect(prefix("GET http://host:80") == nil)
        #expect(prefix("get / HTTP/1.1\r\n") == .badRequest)
        #expect(prefix("GET / HTT#P/1.1") == .badRequest)
        #expect(prefix("GET / HTTP/5") == .versionNotSupported)
        #expect(prefix("GET / HTTP/1.1\r\nHo st: a") == .badRequest)
        #expect(prefix("GET / HTTP/1.1\r\nX: \u{0}") == .badRequest)
        // The path is checked once the request line has ended, Host once its line has.
        #expect(prefix("GET /a%00 HTTP/1.1\r") == nil)
        #expect(prefix("GET /a%00 HTTP/1.1\r\n") == .badRequest)
        #expect(prefix("GET / HTTP/1.1\r\nHost: a b") == nil)
        #expect(prefix("GET / HTTP/1.1\r\nHost: a b\r\n") == .badRequest)
        #expect(prefix("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n") == .badRequest)
        #expect(prefix("GET x") == nil)
        #expect(prefix("GET x/") == .badRequest)
    }

    @Test("response heads: status, reason, fields")
    func response() {
        var head = MessageHead()
        #expect(HeadParser.parseResponse(ByteBuffer(string: "HTTP/1.1 404 Not Found\r\nA: b\r\n\r\n"), into: &head) == nil)
        #expect(head.status == 404)
        #expect(head.buffer.getString(at: head.reasonStart, length: head.reasonLength) == "Not Found")
        #expect(head.headerPairs.count == 1)
        #expect(HeadParser.parseResponse(ByteBuffer(string: "HTTP/1.0 200\r\n\r\n"), into: &head) == nil)
        #expect(head.version == .http1_0)
        #expect(HeadParser.parseResponse(ByteBuffer(string: "HTTP/1.1 2x0 OK\r\n\r\n"), into: &head) == .badResponse)
        #expect(HeadParser.parseResponse(ByteBuffer(string: "ICY 200 OK\r\n\r\n"), into: &head) == .badResponse)
    }

    @Test("request framing facts: smuggling shapes are refused")
    func framing() {
        func facts(_ headers: String, version: String = "1.1") -> RequestFacts {
            RequestFacts(parseRequest("POST / HTTP/\(version)\r\nHost: a\r\n\(headers)\r\n").0)
        }
        #expect(facts("Content-Length: 5\r\n").framing == .length(5))
        #expect(facts("Transfer-Encoding: chunked\r\n").framing == .chunked)
        #expect(facts("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n").malformed)
        #expect(facts("Content-Length: 5\r\nContent-Length: 6\r\n").malformed)
        #expect(facts("Content-Length: 5\r\nContent-Length: 5\r\n").malformed)
        #expect(facts("Content-Length: +5\r\n").malformed)
        #expect(facts("Content-Length: 5, 5\r\n").malformed)
        #expect(facts("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n").malformed)
        #expect(facts("Transfer-Encoding: chunked\r\n", version: "1.0").malformed)
        #expect(facts("Transfer-Encoding: gzip, chunked\r\n").unsupportedTransferEncoding)
        #expect(facts("Host: b\r\n").malformed)
        // Headers nginx takes once.
        for name in ["Authorization", "If-None-Match", "If-Match", "If-Range", "Content-Range", "If-Modified-Since",
            "If-Unmodified-Since", "Expect"] {
            #expect(!facts("\(name): 1\r\n").malformed)
            #expect(facts("\(name): 1\r\n\(name.lowercased()): 2\r\n").malformed, "\(name)")
        }
        #expect(!facts("Accept: a\r\nAccept: b\r\n").malformed)
        #expect(!facts("Content-Length: 0\r\n").malformed)
    }

    @Test("connection semantics: keep-alive, upgrade, hop-by-hop tokens")
    func connection() {
        let f = RequestFacts(
            parseRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Foo, Upgrade\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n").0)
        #expect(f.upgrade == "websocket")
        #expect(f.connectionTokens == ["x-foo"])
        #expect(f.wantsTrailers)
        #expect(f.keepAlive)
        #expect(!RequestFacts(parseRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").0).keepAlive)
        #expect(!RequestFacts(parseRequest("GET / HTTP/1.0\r\n\r\n").0).keepAlive)
        #expect(RequestFacts(parseRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").0).keepAlive)
        // Kong's hop-by-hop checks read the first `Connection` and `TE` lines only.
        let repeated = RequestFacts(
            parseRequest(
                "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: X-Bar\r\nTE: gzip\r\nTE: trailers\r\n\r\n").0)
        #expect(repeated.connectionTokens.isEmpty)
        #expect(!repeated.wantsTrailers)
        let first = RequestFacts(
            parseRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Foo\r\nConnection: X-Bar\r\n\r\n").0)
        #expect(first.connectionTokens == ["x-foo"])
    }
}

@Suite("Request paths nginx refuses")
struct RequestPathTests {
    private func valid(_ target: String) -> Bool {
        Array(target.utf8).withUnsafeBytes { RequestPath.isValid($0) }
    }

    @Test(
        "taken",
        arguments: [
            "/", "/a/b?x=%zz&y=../../..", "/a/..", "/a/./b/../c", "/..foo/...", "/a%2fb", "/%41%62", "/a/%2e%2e", "/a#/../..",
            "/a/%25/..", "?x", "/a%3f/..", "//a/..",
        ])
    func taken(_ target: String) {
        #expect(valid(target))
    }

    @Test(
        "refused",
        arguments: ["/..", "/../x", "/a/../..", "/%2e%2e/x", "/%2E./x", "/a/..%2f..", "/%", "/%4", "/%zz", "/a%00b", "/a/../../?x"])
    func refused(_ target: String) {
        #expect(!valid(target))
    }
}
