import NIOCore
import NIOPosix

/// A client for large bodies that never holds one: downloads are counted as they arrive,
/// uploads are produced 64 KiB at a time while the socket is writable.
enum StreamingClient {
    /// GETs `path` (with `Connection: close`) and returns the number of body bytes.
    static func download(port: Int, path: String) async throws -> Int {
        let request = "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let handler = Counter(request: ByteBuffer(string: request), uploadSize: 0)
        let channel = try await connect(port: port, handler: handler)
        _ = try await channel.closeFuture.get()
        return handler.bodyBytes
    }

    /// POSTs `size` bytes to `path` and returns the response body.
    static func upload(port: Int, path: String, size: Int) async throws -> String {
        let request = "POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(size)\r\n\r\n"
        let handler = Counter(request: ByteBuffer(string: request), uploadSize: size)
        let channel = try await connect(port: port, handler: handler)
        _ = try await channel.closeFuture.get()
        return handler.bodyText
    }

    private static func connect(port: Int, handler: Counter) async throws -> Channel {
        try await ClientBootstrap(group: TestLoops.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }

    /// Sends the request (and an upload), then counts the response.
    private final class Counter: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked Sendable: only touched on its channel's event loop, read after the close.
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let request: ByteBuffer
        var remaining: Int
        var head: [UInt8] = []
        var inBody = false
        var bodyBytes = 0
        var bodyPrefix: [UInt8] = []
        var chunk: ByteBuffer

        init(request: ByteBuffer, uploadSize: Int) {
            self.request = request
            self.remaining = uploadSize
            var chunk = ByteBuffer()
            chunk.writeRepeatingByte(UInt8(ascii: "u"), count: 65536)
            self.chunk = chunk
        }

        var bodyText: String { String(decoding: bodyPrefix, as: UTF8.self) }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(request), promise: nil)
            pump(context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            pump(context)
        }

        private func pump(_ context: ChannelHandlerContext) {
            while remaining > 0, context.channel.isWritable {
                let n = min(remaining, chunk.readableBytes)
                remaining -= n
                context.write(wrapOutboundOut(chunk.getSlice(at: 0, length: n)!), promise: nil)
            }
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            if inBody {
                count(buffer.readableBytesView)
                return
            }
            head += buffer.readableBytesView
            if let end = RawResponseParser.find(head, [13, 10, 13, 10], from: 0) {
                inBody = true
                count(head[(end + 4)...])
            }
        }

        private func count<C: Collection>(_ bytes: C) where C.Element == UInt8 {
            bodyBytes += bytes.count
            if bodyPrefix.count < 256 { bodyPrefix += bytes.prefix(256 - bodyPrefix.count) }
        }
    }
}
