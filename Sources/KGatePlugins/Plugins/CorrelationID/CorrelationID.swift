#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Atomics
import KGateSchema

/// Kong's `correlation-id` (PRIORITY 100001): keeps the request's `header_name`
/// (`Kong-Request-ID`) or sets a generated one upstream (`uuid`, `uuid#counter`: the node's
/// UUID and a counter, `tracker`: address, port, pid, connection, request and time), and
/// echoes it to the client with `echo_downstream`.
public final class CorrelationIDPlugin: Plugin {
    /// How ids are made.
    public enum Generator: String, Sendable {
        /// A random UUID per request.
        case uuid
        /// The node's UUID, `#`, and a counter.
        case uuidCounter = "uuid#counter"
        /// Server address, port, pid, connection, request number and time.
        case tracker
    }

    /// The parsed config.
    public struct Config: Sendable {
        var headerName: String
        var generator: Generator
        var echoDownstream: Bool
    }

    /// `correlation-id`.
    public static let name = "correlation-id"
    /// 100001.
    public static let priority = 100_001
    /// access, header_filter.
    public static let phases: PluginPhases = [.access, .headerFilter]

    /// The node's UUID for `uuid#counter` (Kong's per-worker `worker_uuid`).
    let nodeUUID: String
    private let counter = ManagedAtomic<Int>(0)

    /// Makes the plugin (one per node: it owns the counter).
    public init() {
        nodeUUID = Self.uuid()
    }

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            headerName: config.string("header_name") ?? "Kong-Request-ID",
            generator: Generator(rawValue: config.string("generator") ?? "uuid#counter") ?? .uuidCounter,
            echoDownstream: config.bool("echo_downstream"))
    }

    /// Sets the id upstream when the request has none.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        var id = Self.nonEmpty(ctx.request.header(config.headerName))
        if id == nil {
            let generated = generate(config.generator, ctx)
            ctx.request.setHeader(config.headerName, generated)
            id = generated
        }
        ctx.serializedValues["correlation_id"] = .string(id!)
        if config.echoDownstream { ctx.plugin["correlation_id"] = id! }
    }

    /// Echoes the id to the client.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard config.echoDownstream else { return }
        let id =
            ctx.plugin["correlation_id"] as? String ?? Self.nonEmpty(ctx.request.header(config.headerName))
            ?? generate(config.generator, ctx)
        ctx.response.setHeader(config.headerName, id)
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, value.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return nil }
        return value
    }

    private func generate(_ generator: Generator, _ ctx: PluginContext) -> String {
        switch generator {
        case .uuid:
            return Self.uuid()
        case .uuidCounter:
            return nodeUUID + "#" + String(counter.wrappingIncrementThenLoad(ordering: .relaxed))
        case .tracker:
            let r = ctx.request
            let ms = Int((WallClock.now() * 1000).rounded(.down))
            let now = "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)"
            return "\(r.serverAddress)-\(r.port)-\(getpid())-\(r.connectionID)-\(r.connectionRequests)-\(now)"
        }
    }

    /// A random (v4) UUID in lower case.
    static func uuid() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &g) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
