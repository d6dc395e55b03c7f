import NIOCore

extension ProxyHandler {
    /// What nginx's gzip and brotli header filters make of a response head.
    enum CompressionOutcome {
        /// The head is sent as it is.
        case unchanged
        /// The head gains `Vary: Accept-Encoding`; the body is sent as it is.
        case varies(ByteBuffer)
        /// The body goes through `compressor`; `head` says so, and frames the body chunked to
        /// an HTTP/1.1 client or until the connection closes (then not kept alive).
        case compressed(head: ByteBuffer, compressor: ResponseCompressor, chunked: Bool)
    }

    /// nginx's gzip and brotli header filters on a response head (after `header_filter` and
    /// `add_header`). Its `Content-Length`, when it has one, sizes the zlib window as nginx's.
    func compressionOutcome(of head: ByteBuffer) -> CompressionOutcome {
        guard let compression = env.configuration.compression else { return .unchanged }
        var parsed = MessageHead()
        guard HeadParser.parseResponse(head, into: &parsed) == nil else { return .unchanged }
        let decision = compression.decide(
            status: parsed.status, response: parsed, request: request, isHEAD: request.method == .HEAD)
        let length = parsed.firstValue("content-length").flatMap { Int($0) }
        guard let coding = decision.coding, let compressor = ResponseCompressor(coding, contentLength: length) else {
            guard decision.vary else { return .unchanged }
            var varied = head
            PluginHeads.write([.init(name: "Vary", value: "Accept-Encoding")], beforeEndOf: &varied)
            return .varies(varied)
        }
        let chunked = request.version.minor >= 1
        if !chunked { x.keepAlive = false }
        var out = context.channel.allocator.buffer(capacity: head.readableBytes + 64)
        ResponseCompression.writeHead(parsed, coding: coding, vary: decision.vary, chunked: chunked, into: &out)
        return .compressed(head: out, compressor: compressor, chunked: chunked)
    }

    /// The filters on a proxied response whose head is in `headBuffer`: when they compress,
    /// the body goes through `upstreamBodyFiltered` and its stream.
    func compressResponse() {
        switch compressionOutcome(of: headBuffer) {
        case .unchanged: return
        case .varies(let head): headBuffer = head
        case .compressed(let head, let compressor, let chunked):
            headBuffer = head
            if chunked {
                x.framing = .rechunk
            } else if x.framing != .dechunk {
                x.framing = .untilClose
            }
            x.compressor = compressor
            x.filtersBody = true
        }
    }

    /// Body bytes through the response's compression stream. An unbuffered response
    /// (`response_buffering` off) is flushed at every read burst, as nginx's gzip filter does
    /// for the buffers an unbuffered upstream passes on.
    func compressed(_ bytes: ByteBuffer, by compressor: ResponseCompressor, last: Bool) -> ByteBuffer {
        var out = context.channel.allocator.buffer(capacity: 0)
        compressor.compress(bytes, flush: !x.buffersResponse, end: last, into: &out)
        return out
    }

    /// A whole response (a generated one, or a buffered proxied one) through the filters:
    /// `head` is its head, `body` all of its body. Nil when they leave it as it is. A
    /// compressed body goes out as one chunk.
    func compressedWhole(head: ByteBuffer, body: ByteBuffer) -> ByteBuffer? {
        guard body.readableBytes > 0 else { return nil }
        switch compressionOutcome(of: head) {
        case .unchanged:
            return nil
        case .varies(var out):
            out.writeImmutableBuffer(body)
            return out
        case .compressed(var out, let compressor, let chunked):
            var data = context.channel.allocator.buffer(capacity: 0)
            compressor.compress(body, flush: false, end: true, into: &data)
            guard chunked else {
                out.writeImmutableBuffer(data)
                return out
            }
            var chunk = ChunkGroup()
            chunk.append(data)
            chunk.drain(allocator: context.channel.allocator) { out.writeImmutableBuffer($0) }
            out.writeStaticString("0\r\n\r\n")
            return out
        }
    }
}
