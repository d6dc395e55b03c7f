import Crypto
import KGateSchema

/// Kong's `standard-webhooks` (PRIORITY 760, `kong/plugins/standard-webhooks`): a webhook
/// request must carry `webhook-id`, `webhook-timestamp` (at most `tolerance_second` old) and
/// `webhook-signature` equal to `v1,<base64 HMAC-SHA256 of id.timestamp.body>` keyed with
/// `secret_v1`, and a body; otherwise 400.
public struct StandardWebhooksPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var secret: SymmetricKey
        var tolerance: Double
    }

    /// `standard-webhooks`.
    public static let name = "standard-webhooks"
    /// 760.
    public static let priority = 760
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's `standard-webhooks` config schema.
    public static let schema = Schema.record([
        ("secret_v1", Field.string.with {
            $0.required = true
            $0.referenceable = true
        }),
        ("tolerance_second", Field.integer.with {
            $0.required = true
            $0.gt = -1
            $0.defaultValue = 300
        }),
    ])

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            secret: SymmetricKey(data: Array((config.string("secret_v1") ?? "").utf8)),
            tolerance: config.number("tolerance_second") ?? 300)
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .always }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let headers = ctx.request.headers
        guard let id = headers.tableValue("webhook-id")?.value, let signature = headers.tableValue("webhook-signature")?.value,
            let timestampText = headers.tableValue("webhook-timestamp")?.value
        else { return try ctx.error(400) }
        // Kong's `tonumber(ts) or 0`: a timestamp that does not parse fails the tolerance check.
        let timestamp = ParsedURL.luaToNumber(timestampText) ?? 0
        guard ctx.request.startTime - timestamp <= config.tolerance else { return try ctx.error(400) }
        guard let body = ctx.request.body, !body.isEmpty else { return try ctx.error(400) }
        guard signature == Self.signature(config.secret, id: id, timestamp: timestamp, body: body) else {
            return try ctx.error(400)
        }
    }

    /// `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` (the timestamp as Lua prints
    /// the number).
    static func signature(_ secret: SymmetricKey, id: String, timestamp: Double, body: [UInt8]) -> String {
        let signed = Array("\(id).\(Value.formatNumber(timestamp)).".utf8) + body
        return "v1," + Base64.encode(Array(HMAC<SHA256>.authenticationCode(for: signed, using: secret)))
    }
}
