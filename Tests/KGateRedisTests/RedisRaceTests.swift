import KGateTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import KGateRedis

/// A batch written to a connection that closed meanwhile fails at once instead of waiting
/// forever (the pipeline that would have failed it is gone).
struct RedisRaceTests {
    @Test func aBatchOnAClosedConnectionFails() throws {
        let server = try RedisServer()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let channel = try ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RedisChannelHandler()) }
            }
            .connect(host: "127.0.0.1", port: server.port).wait()
        #expect(try RedisClient.send([RedisCommand("PING")], on: channel, timeout: .seconds(5)).wait() == [.simpleString("PONG")])
        try channel.close().wait()
        let started = ContinuousClock.now
        #expect(throws: RedisError.closed) {
            try RedisClient.send([RedisCommand("PING")], on: channel, timeout: .seconds(5)).wait()
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
