import NIOCore

extension ProxyHandler {
    /// nginx's gzip and brotli filters on a proxied response whose head is in `headBuffer`
    /// (after `header_filter` and `add_header`): rewrites the head and, when a filter
    /// compresses, sends the body through it, chunked to an HTTP/1.1 client, else until the
    /// connection closes.
    func compressResponse(_ compression: ResponseCompression) {
        var parsed = MessageHead()
        guard HeadParser.parseResponse(headBuffer, into: &parsed) == nil else { return }
        let decision = compression.decide(
            status: x.responseStatus, response: parsed, request: request, isHEAD: request.method == .HEAD)
        guard decision.coding != nil || decision.vary else { return }
        let length = parsed.firstValue("content-length").flatMap { Int($0) }
        guard let coding = decision.coding, let compressor = ResponseCompressor(coding, contentLength: length) else {
            if decision.vary { PluginHeads.write([.init(name: "Vary", value: "Accept-Encoding")], beforeEndOf: &headBuffer) }
            return
        }
        let chunked = request.version.minor >= 1
        if !chunked {
            x.keepAlive = false
            if x.framing != .dechunk { x.framing = .untilClose }
        } else {
            x.framing = .rechunk
        }
        x.compressor = compressor
        x.filtersBody = true
        var head = ByteBuffer()
        ResponseCompression.writeHead(parsed, coding: coding, vary: decision.vary, chunked: chunked, into: &head)
        headBuffer = head
    }

    /// Body bytes through the response's compression stream. An unbuffered response
    /// (`response_buffering` off) is flushed at every read burst, as nginx's gzip filter does
    /// for the buffers an unbuffered upstream passes on.
    func compressed(_ bytes: ByteBuffer, by compressor: ResponseCompressor, last: Bool) -> ByteBuffer {
        var out = context.channel.allocator.buffer(capacity: 0)
        compressor.compress(bytes, flush: !x.buffersResponse, end: last, into: &out)
        return out
    }

    /// A whole response (a generated one, or a buffered proxied one) through the compression
    /// filters: `head` is its head, `body` all of its body. Nil when the filters leave it as it
    /// is. A compressed body goes out as one chunk to an HTTP/1.1 client; an HTTP/1.0 one
    /// gets it until the connection closes.
    func compressedWhole(head: ByteBuffer, body: ByteBuffer) -> ByteBuffer? {
        guard let compression = env.configuration.compression, body.readableBytes > 0 else { return nil }
        var parsed = MessageHead()
        guard HeadParser.parseResponse(head, into: &parsed) == nil else { return nil }
        let decision = compression.decide(
            status: parsed.status, response: parsed, request: request, isHEAD: request.method == .HEAD)
        if decision.coding == nil, !decision.vary { return nil }
        guard let coding = decision.coding, let compressor = ResponseCompressor(coding, contentLength: body.readableBytes)
        else {
            var out = head
            PluginHeads.write([.init(name: "Vary", value: "Accept-Encoding")], beforeEndOf: &out)
            out.writeImmutableBuffer(body)
            return out
        }
        let chunked = request.version.minor >= 1
        if !chunked { x.keepAlive = false }
        var data = context.channel.allocator.buffer(capacity: 0)
        compressor.compress(body, flush: false, end: true, into: &data)
        var out = context.channel.allocator.buffer(capacity: head.readableBytes + data.readableBytes + 32)
        ResponseCompression.writeHead(parsed, coding: coding, vary: decision.vary, chunked: chunked, into: &out)
        if chunked {
            out.writeString(String(data.readableBytes, radix: 16))
            out.writeStaticString("\r\n")
            out.writeImmutableBuffer(data)
            out.writeStaticString("\r\n0\r\n\r\n")
        } else {
            out.writeImmutableBuffer(data)
        }
        return out
    }
}
