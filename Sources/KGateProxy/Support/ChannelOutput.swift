import NIOCore

/// Where a handler's writes and flushes go.
///
/// A handler that is the only handler of its channel (plain TCP: no TLS handler in front of
/// it) hands its bytes straight to the channel (`ChannelCore`), the call the pipeline's head
/// would make at the end of the pipeline walk. That skips the walk and the channel look-ups on
/// the way, four times per proxied request. A channel with other handlers (TLS) is written
/// through the handler's context, as usual.
struct ChannelOutput {
    /// The channel itself, while the handler is its only handler; nil: use the context.
    private var core: (any ChannelCore)?
    /// Bytes written so far (for `$body_bytes_sent`).
    private(set) var bytesWritten = 0

    /// Writes through `context` (always correct).
    init() {}

    /// Writes straight to the channel of `context`: only for a handler that is and stays the
    /// only outbound handler of its channel.
    init(direct context: ChannelHandlerContext) {
        core = context.channel._channelCore
    }

    /// Forgets the channel (when the handler leaves it), breaking the reference cycle
    /// channel → pipeline → handler → channel.
    mutating func detach() {
        core = nil
    }

    /// Writes bytes (not flushed).
    @inline(__always)
    mutating func write(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        bytesWritten &+= buffer.readableBytes
        if let core {
            core.write0(NIOAny(buffer), promise: nil)
        } else {
            context.write(NIOAny(buffer), promise: nil)
        }
    }

    /// Flushes what was written.
    @inline(__always)
    func flush(_ context: ChannelHandlerContext) {
        if let core {
            core.flush0()
        } else {
            context.flush()
        }
    }
}
