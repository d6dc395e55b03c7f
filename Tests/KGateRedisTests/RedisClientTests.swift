import KGateRedis
import KGateTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The client against a real `redis-server`.
@Suite(.serialized) struct RedisClientTests {
    private func send(_ client: RedisClient, _ endpoint: RedisEndpoint, _ commands: [RedisCommand]) throws -> [RESPValue] {
        try client.send(commands, to: endpoint).wait()
    }

    @Test func pipelinesCommandsOnOneConnectionPerLoop() throws {
        let server = try RedisServer()
        let client = RedisClient()
        defer { client.closeAll() }
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: server.port)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(try client.send([RedisCommand("PING")], to: endpoint, on: loop).wait() == [.simpleString("PONG")])
        let replies = try client.send(
            [RedisCommand("SET", "k", "v"), RedisCommand("GET", "k"), RedisCommand("GET", "none"), RedisCommand("INCRBY", "n", "5"), RedisCommand("NOPE")],
            to: endpoint, on: loop
        ).wait()
        #expect(replies.count == 5)
        #expect(replies[0] == .simpleString("OK"))
        #expect(replies[1] == .bulkString(Array("v".utf8)))
        #expect(replies[2].isNull)
        #expect(replies[3] == .integer(5))
        if case .error(let message) = replies[4] { #expect(message.hasPrefix("ERR unknown command")) } else { Issue.record("\(replies[4])") }

        // Many callers at once share the loop's connection; each gets its own replies.
        let futures = (0..<200).map { i in
            client.send([RedisCommand("INCR", "c"), RedisCommand("ECHO", "\(i)")], to: endpoint, on: loop)
        }
        var counts: [Int] = []
        for (i, future) in futures.enumerated() {
            let r = try future.wait()
            counts.append(r[0].integer ?? -1)
            #expect(r[1] == .bulkString(Array("\(i)".utf8)))
        }
        #expect(counts == Array(1...200))
        #expect(client.connectionCount == 1)
        #expect(try server.cli(["CLIENT", "LIST"]).split(separator: "\n").count == 2)  // kgate's and redis-cli's
    }

    @Test func closesIdleConnections() throws {
        let server = try RedisServer()
        let client = RedisClient(idleTimeout: .milliseconds(200))
        defer { client.closeAll() }
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: server.port)
        #expect(try send(client, endpoint, [RedisCommand("PING")]) == [.simpleString("PONG")])
        #expect(client.connectionCount == 1)
        var closed = false
        for _ in 0..<100 where !closed {
            closed = client.connectionCount == 0
            if !closed { usleep(20_000) }
        }
        #expect(closed)
        #expect(try send(client, endpoint, [RedisCommand("PING")]) == [.simpleString("PONG")])
    }

    @Test func authenticatesAndSelectsTheDatabase() throws {
        let server = try RedisServer(arguments: ["--requirepass", "s3cret"])
        let client = RedisClient()
        defer { client.closeAll() }
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: server.port, database: 3, password: "s3cret")
        _ = try send(client, endpoint, [RedisCommand("SET", "in3", "x")])
        #expect(try server.cli(["-a", "s3cret", "--no-auth-warning", "-n", "3", "GET", "in3"]) == "x")
        #expect(try server.cli(["-a", "s3cret", "--no-auth-warning", "-n", "0", "EXISTS", "in3"]) == "0")

        // An ACL user (AUTH user password).
        _ = try server.cli(["-a", "s3cret", "--no-auth-warning", "ACL", "SETUSER", "kong", "on", ">pw", "~*", "+@all"])
        let user = RedisEndpoint(host: "127.0.0.1", port: server.port, username: "kong", password: "pw")
        #expect(try send(client, user, [RedisCommand("PING")]) == [.simpleString("PONG")])

        // A wrong password fails the call with the server's words, and every call tries again.
        let wrong = RedisEndpoint(host: "127.0.0.1", port: server.port, password: "nope")
        for _ in 0..<2 {
            #expect {
                try send(client, wrong, [RedisCommand("PING")])
            } throws: { error in
                guard case .server(let message) = error as? RedisError else { return false }
                return message.hasPrefix("WRONGPASS")
            }
        }
        // Without a password: NOAUTH on the command itself.
        let none = RedisEndpoint(host: "127.0.0.1", port: server.port)
        if case .error(let message) = try send(client, none, [RedisCommand("GET", "x")])[0] {
            #expect(message.hasPrefix("NOAUTH"))
        } else {
            Issue.record("no NOAUTH")
        }
    }

    @Test func speaksTLS() throws {
        let server = try RedisServer(tls: true)
        let client = RedisClient()
        defer { client.closeAll() }
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: server.port, ssl: true, serverName: "localhost")
        #expect(try send(client, endpoint, [RedisCommand("SET", "t", "1"), RedisCommand("GET", "t")])[1] == .bulkString([49]))
        // Verified against the system's trust store, the self-signed certificate is refused.
        var verified = endpoint
        verified.sslVerify = true
        #expect {
            try send(client, verified, [RedisCommand("PING")])
        } throws: { error in
            guard case .connect = error as? RedisError else { return false }
            return true
        }
        // Trusting the server's certificate (as `lua_ssl_trusted_certificate` does), it is.
        let trusting = RedisClient()
        defer { trusting.closeAll() }
        let certificate = try NIOSSLCertificate.fromPEMFile(server.certificatePath)
        trusting.verify { $0.trustRoots = .certificates(certificate) }
        #expect(try send(trusting, verified, [RedisCommand("PING")]) == [.simpleString("PONG")])
        // Plain text to a TLS port gets no reply.
        let plain = RedisEndpoint(host: "127.0.0.1", port: server.port, timeoutMilliseconds: 300)
        #expect(throws: RedisError.self) { try send(client, plain, [RedisCommand("PING")]) }
    }

    @Test func failsClearlyAndRecovers() throws {
        let client = RedisClient()
        defer { client.closeAll() }
        // Nobody listening.
        let port = try RedisServer.freePort()
        #expect(throws: RedisError.connect("connection refused")) {
            try send(client, RedisEndpoint(host: "127.0.0.1", port: port), [RedisCommand("PING")])
        }
        #expect(client.connectionCount == 0)
        // From the loop itself (as a proxy request calls it), where a failure may call back at
        // once: still the error, and nothing kept.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for _ in 0..<3 {
            #expect(throws: RedisError.connect("connection refused")) {
                try loop.flatSubmit { client.send([RedisCommand("PING")], to: RedisEndpoint(host: "127.0.0.1", port: port), on: loop) }
                    .wait()
            }
        }
        #expect(client.connectionCount == 0)

        // A server that accepts and never answers: the timeout, then the connection is gone.
        let silent = try SilentServer()
        let silentEndpoint = RedisEndpoint(host: "127.0.0.1", port: silent.port, timeoutMilliseconds: 200)
        #expect(throws: RedisError.timeout) { try send(client, silentEndpoint, [RedisCommand("PING")]) }

        // A server that restarts: the dropped connection fails its callers, the next call reconnects.
        let server = try RedisServer()
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: server.port)
        _ = try send(client, endpoint, [RedisCommand("SET", "a", "1")])
        _ = try server.cli(["CLIENT", "KILL", "TYPE", "normal"])
        var recovered = false
        for _ in 0..<50 where !recovered {
            recovered = (try? send(client, endpoint, [RedisCommand("GET", "a")])) == [.bulkString(Array("1".utf8))]
            if !recovered { usleep(20_000) }
        }
        #expect(recovered)
    }
}
