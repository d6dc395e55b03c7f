import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` on a free loopback port, started for a test and stopped with it (CI
/// installs Debian's `redis-server`).
public final class RedisServer {
    /// Why the server could not be started.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Its port on 127.0.0.1.
    public let port: Int
    private let process: Process
    private let directory: String
    /// The PEM file of the self-signed certificate a `tls` server presents.
    public var certificatePath: String { directory + "/cert.pem" }

    /// Starts a server without persistence; `arguments` are added to its command line
    /// (`["--requirepass", "secret"]`). With `tls`, the port speaks TLS only, with a
    /// self-signed certificate for `localhost` made by `openssl`. Returns once it accepts
    /// connections.
    public init(arguments: [String] = [], tls: Bool = false) throws {
        port = try Self.freePort()
        directory = NSTemporaryDirectory() + "kgate-redis-\(port)-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var listen = ["--port", String(port)]
        if tls {
            try Self.run(
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "2",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem")
            listen = [
                "--port", "0", "--tls-port", String(port), "--tls-cert-file", directory + "/cert.pem",
                "--tls-key-file", directory + "/key.pem", "--tls-auth-clients", "no",
            ]
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["redis-server"] + listen + [
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no",
            ] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run redis-server (apt-get install redis-server): \(error)")
        }
        for _ in 0..<200 {
            if let fd = try? LoopbackSocket.connect(port: port) {
                close(fd)
                return
            }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        stop()
        throw Failure(description: "redis-server did not start on port \(port) (is it installed? apt-get install redis-server)")
    }

    deinit { stop() }

    /// Stops the server (it refuses connections after this).
    public func stop() {
        if process.isRunning {
            // SIGKILL: the test runner's threads block SIGTERM, and the server inherits that.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `redis-cli` against the server and returns its output, trimmed (`["GET", "k"]`).
    public func cli(_ arguments: [String]) throws -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cli.arguments = ["redis-cli", "-p", String(port)] + arguments
        let pipe = Pipe()
        cli.standardOutput = pipe
        cli.standardError = FileHandle.nullDevice
        try cli.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func run(_ arguments: String...) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "\(arguments.joined(separator: " ")) failed") }
    }

    /// A loopback port nobody listens on right now.
    public static func freePort() throws -> Int {
        let (fd, port) = try boundLoopbackSocket()
        close(fd)
        return port
    }

    /// A TCP socket bound to 127.0.0.1 on a port the kernel chose, and that port; the caller
    /// closes it.
    static func boundLoopbackSocket() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw Failure(description: "bind: \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A loopback listener that accepts connections (the kernel's backlog does) and never answers:
/// a server that hangs, for timeouts.
public final class SilentServer {
    /// Its port on 127.0.0.1.
    public let port: Int
    private let fd: Int32

    /// Starts listening.
    public init() throws {
        (fd, port) = try RedisServer.boundLoopbackSocket()
        guard listen(fd, 64) == 0 else {
            close(fd)
            throw RedisServer.Failure(description: "cannot listen: \(errno)")
        }
    }

    deinit { close(fd) }
}
