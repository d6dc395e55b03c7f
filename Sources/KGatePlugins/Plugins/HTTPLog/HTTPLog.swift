import KGateSchema
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Kong's `http-log` (PRIORITY 12): `kong.log.serialize()` (``LogSerializer``) of each request,
/// JSON-encoded, sent through Kong's queue (``LogQueue``) to `http_endpoint` with `method`,
/// `content_type`, `headers` and Basic credentials from the endpoint's user info. A batch of
/// one entry is that entry; a larger batch is a JSON array. A status of 300 or more, or no
/// answer within `timeout`, is a failure the queue retries.
///
/// Configs with the same endpoint, method, content type, timeout and keepalive share a queue
/// (Kong's queue name). `custom_fields_by_lua` runs Lua, which kgate does not: such a config
/// is refused when the config loads.
public final class HTTPLogPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var queueName: String
        var endpoint: PluginHTTPClient.Endpoint
        var authorization: String?
        var method: HTTPMethod
        var contentType: String
        var timeout: TimeAmount
        var headers: [(String, String)]
        var queue: LogQueue.Settings
        var customFields: CustomFieldsByLua
    }

    /// `http-log`.
    public static let name = "http-log"
    /// 12.
    public static let priority = 12
    /// log.
    public static let phases: PluginPhases = [.log]
    /// log: stream sessions are logged too (Kong's stream serializer).
    public static let streamPhases: PluginPhases = [.log]
    /// Kong's `http-log` config schema.
    public static let schema = ObservabilitySchemas.httpLog(luaCode: Typedefs.luaCode)

    /// Queues by name, made on first use.
    private let queues = LogQueues(plugin: "http-log")

    /// How `custom_fields_by_lua` runs (`untrusted_lua`).
    let luaMode: LuaCodeMode

    /// The plugin for a node's `untrusted_lua`.
    public init(luaMode: LuaCodeMode = .sandbox) { self.luaMode = luaMode }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let endpointText = config.string("http_endpoint") ?? ""
        guard let url = ParsedURL(endpointText), let endpoint = PluginHTTPClient.Endpoint(url: url) else {
            throw InvalidEndpoint(endpoint: endpointText)
        }
        let method = config.string("method") ?? "POST"
        let contentType = config.string("content_type") ?? "application/json"
        let timeout = config.number("timeout") ?? 10000
        let keepalive = config.number("keepalive") ?? 60000
        var headers: [(String, String)] = []
        if case .object(let h)? = config["headers"] {
            for (name, value) in h { if let v = value.stringValue { headers.append((name, v)) } }
        }
        let queue = LogQueue.Settings(pluginConfig: config)
        func text(_ key: String) -> String {
            guard let v = config[key], !v.isNull else { return "nil" }
            return v.stringValue ?? v.doubleValue.map(Value.formatNumber) ?? "nil"
        }
        let name = [
            endpointText, method, contentType, Value.formatNumber(timeout), Value.formatNumber(keepalive),
            text("retry_count"),
        ].joined(separator: ":")
        return Config(
            queueName: name, endpoint: endpoint,
            authorization: url.userinfo.map { "Basic " + Base64.encode(Array(QueryArgs.decode($0.utf8, plusIsSpace: false).utf8)) },
            method: HTTPMethod(rawValue: method), contentType: contentType, timeout: .milliseconds(Int64(timeout)),
            headers: headers, queue: queue, customFields: CustomFieldsByLua(config, mode: luaMode))
    }

    /// An endpoint that does not parse (the schema lets only valid URLs through).
    struct InvalidEndpoint: Error, CustomStringConvertible {
        var endpoint: String
        var description: String { "http_endpoint '\(endpoint)' is not a URL with a host" }
    }

    public func log(_ config: Config, _ ctx: inout PluginContext) {
        guard config.customFields.applied(&ctx, plugin: Self.name) else { return }
        queue(for: config, logger: ctx.db.logger).enqueue(LogSerializer.json(ctx))
    }

    /// The queue of a config (shared by configs with the same name).
    func queue(for config: Config, logger: Logger) -> LogQueue {
        queues.queue(config.queueName, settings: config.queue, logger: logger) { _ in
            let client = PluginHTTPClient(endpoint: config.endpoint)
            return { try await Self.send($0, config: config, client: client) }
        }
    }

    /// One batch: the entry itself, or a JSON array of the entries.
    static func send(_ batch: [[UInt8]], config: Config, client: PluginHTTPClient) async throws {
        let body = batch.count == 1 && config.queue.maxBatchSize == 1 ? batch[0] : LogQueue.jsonArray(batch)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: config.contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        if let authorization = config.authorization { headers.add(name: "Authorization", value: authorization) }
        // Configured headers never override the four above.
        for (name, value) in config.headers where !headers.contains(name: name) {
            headers.add(name: name, value: value)
        }
        let endpoint = client.endpoint
        let response: PluginHTTPClient.Response
        do {
            response = try await client.send(
                method: config.method, headers: headers, body: body, timeout: config.timeout)
        } catch {
            throw PluginHTTPClient.Failure(description: "failed request to \(endpoint.host):\(endpoint.port): \(error)")
        }
        guard response.status < 300 else {
            let server = "\(endpoint.host):\(endpoint.port)"
            throw PluginHTTPClient.Failure(
                description: "request to \(server) returned status code \(response.status) and body \(response.body)")
        }
    }
}
