import KGateHTTP
import KGatePlugins
import NIOCore

extension ProxyHandler {
    /// Appends the exchange's line to the loop's access log (`proxy_access_log`), written at
    /// the end of the tick. Reads the request's bytes where they are: no strings are made.
    func writeAccessLog(status: Int) {
        guard let log = loop.accessLog else { return }
        let sent = output.bytesWritten &- x.outputMark &- x.headBytes &- (x.continueSent ? Self.continueLine.utf8CodeUnitCount : 0)
        var address = clientAddress
        let epochSeconds = Int(loop.wallClock())
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { id in
            RequestIDText.write(high: x.requestID.high, low: x.requestID.low, into: id)
            address.withUTF8 { address in
                withRequestLine { line in
                    withLoggedFields { user, referer, agent in
                        log.append(
                            AccessLogEntry(
                                remoteAddress: UnsafeRawBufferPointer(address), remoteUser: user, requestLine: line,
                                status: status, bodyBytesSent: max(0, sent), referer: referer, userAgent: agent,
                                requestID: UnsafeRawBufferPointer(id)),
                            epochSeconds: epochSeconds)
                    }
                }
            }
        }
        loop.flushes.flushSoon(log)
    }

    /// `$remote_addr`: the address already worked out for `X-Real-IP`, when the request got
    /// that far.
    var clientAddress: String { x.forwarding?.realIP ?? realClientIP() }

    /// A client that went away mid-exchange: nginx logs 499 when no response had begun.
    func logAbortedExchange() {
        switch phase {
        case .readingBody, .connecting, .proxying:
            writeAccessLog(status: x.responseHeadSent ? x.responseStatus : 499)
        case .idle, .responding, .tunnel, .closing:
            break
        }
    }

    /// The request line as received: the head's first line, or a refused head's.
    /// An HTTP/2 stream's says `HTTP/2.0`, as nginx's `$request` does.
    private func withRequestLine<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var line = x.refusedLine ?? Self.firstLine(request.buffer)
        if http2, line.readableBytesView.suffix(9).elementsEqual(" HTTP/1.1".utf8) {
            line = ByteBuffer(bytes: line.readableBytesView.dropLast(8))
            line.writeString(protocolName)
        }
        return line.withUnsafeReadableBytes(body)
    }

    /// `$server_protocol`.
    var protocolName: String { http2 ? "HTTP/2.0" : request.version.minor == 0 ? "HTTP/1.0" : "HTTP/1.1" }

    /// The `Basic` user, `Referer` and `User-Agent` of the request (the first of each), nil
    /// when absent.
    private func withLoggedFields<R>(
        _ body: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) -> R
    ) -> R {
        var referer: HeaderField?
        var agent: HeaderField?
        var authorization: HeaderField?
        if x.refusedLine == nil {
            for field in request.fields {
                if referer == nil, request.nameEquals(field, "referer") {
                    referer = field
                } else if agent == nil, request.nameEquals(field, "user-agent") {
                    agent = field
                } else if authorization == nil, request.nameEquals(field, "authorization") {
                    authorization = field
                }
            }
        }
        return request.buffer.withUnsafeReadableBytes { raw in
            func value(_ field: HeaderField?) -> UnsafeRawBufferPointer? {
                guard let field else { return nil }
                let start = Int(field.valueStart)
                return UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(field.valueLength)])
            }
            let user = value(authorization).flatMap(BasicAuthUser.decode)
            return withOptionalBytes(user) { user in body(user, value(referer), value(agent)) }
        }
    }

    /// The first line of raw head bytes (at most 8 KiB of it).
    static func firstLine(_ bytes: ByteBuffer) -> ByteBuffer {
        let limit = min(bytes.readableBytes, 8192)
        let line = bytes.withUnsafeReadableBytes { raw in
            var end = 0
            while end < limit, raw[end] != 0x0D, raw[end] != 0x0A { end += 1 }
            return end
        }
        return bytes.getSlice(at: bytes.readerIndex, length: line) ?? ByteBuffer()
    }
}
