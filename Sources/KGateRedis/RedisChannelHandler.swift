import NIOCore

/// One Redis connection's pipeline end: writes batches of commands and hands each batch its
/// replies, in order (Redis answers a connection's commands in the order sent, so batches from
/// many requests share it without waiting for each other).
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Batch
    typealias OutboundOut = ByteBuffer

    /// Commands sent together, answered together.
    struct Batch: Sendable {
        var commands: [RedisCommand]
        var promise: EventLoopPromise<[RESPValue]>
    }

    private struct Waiting {
        var expected: Int
        var replies: [RESPValue]
        var promise: EventLoopPromise<[RESPValue]>
    }

    private var waiting = CircularBuffer<Waiting>()
    private var received: ByteBuffer?
    private var failure: RedisError?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let batch = unwrapOutboundIn(data)
        if let failure {
            batch.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        guard !batch.commands.isEmpty else {
            promise?.succeed(())
            return batch.promise.succeed([])
        }
        var out = context.channel.allocator.buffer(capacity: 64 * batch.commands.count)
        for command in batch.commands { command.write(into: &out) }
        var replies: [RESPValue] = []
        replies.reserveCapacity(batch.commands.count)
        waiting.append(Waiting(expected: batch.commands.count, replies: replies, promise: batch.promise))
        context.write(wrapOutboundOut(out), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        do {
            while let value = try RESPValue.read(from: &received!) {
                guard !waiting.isEmpty else { throw RESPProtocolError(description: "a reply nobody asked for") }
                waiting[waiting.startIndex].replies.append(value)
                if waiting[waiting.startIndex].replies.count == waiting[waiting.startIndex].expected {
                    let done = waiting.removeFirst()
                    done.promise.succeed(done.replies)
                }
            }
            if received!.readableBytes == 0 { received = nil }
        } catch {
            fail(.protocolError("\(error)"), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .closed)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        // Idle only when nothing waits for a reply (the timeout covers those).
        if waiting.isEmpty { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error as? RedisError ?? .connect("\(error)"), context: context)
    }

    /// Fails every waiting batch with `error` and closes the connection.
    private func fail(_ error: RedisError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        while let next = waiting.popFirst() { next.promise.fail(error) }
    }
}
