import KGateSchema

/// Kong's `request-size-limiting` (PRIORITY 951): rejects bodies larger than
/// `allowed_payload_size` `size_unit`s with 413 `Request size limit exceeded` (417 when the
/// client sent `Expect: 100-continue`), judged by `Content-Length`, else by the body read
/// (the proxy reads it when there is no valid `Content-Length`; beyond
/// `client_body_buffer_size` only its size is kept, as nginx's body file). With
/// `require_content_length`, a request without one (and not chunked) gets 411.
public struct RequestSizeLimitingPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var allowedBytes: Double
        var requireContentLength: Bool
    }

    /// `request-size-limiting`.
    public static let name = "request-size-limiting"
    /// 951.
    public static let priority = 951
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Kong's `size_units`, default first.
    static let sizeUnits = ["megabytes", "kilobytes", "bytes"]

    /// Kong's `request-size-limiting` config schema.
    public static let schema = Schema.record([
        ("allowed_payload_size", Field.integer.defaulting(128)),
        ("size_unit", Field.string.with {
            $0.required = true
            $0.defaultValue = "megabytes"
            $0.oneOf = sizeUnits.map(Value.string)
        }),
        ("require_content_length", Field.boolean.isRequired.defaulting(false)),
    ])

    /// Makes the plugin.
    public init() {}

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let factor: Double
        switch config.string("size_unit") {
        case "bytes": factor = 1
        case "kilobytes": factor = 1024
        default: factor = 1_048_576
        }
        return Config(
            allowedBytes: Double(config.integer("allowed_payload_size") ?? 128) * factor,
            requireContentLength: config.bool("require_content_length"))
    }

    /// The body is needed only when `Content-Length` does not tell the size.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .withoutContentLength }

    /// Checks the size.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if let length = Self.string(ctx, "content-length").flatMap({ Double($0.trimmingSpaces()) }) {
            try check(length, config, &ctx)
            return
        }
        if config.requireContentLength, Self.string(ctx, "Transfer-Encoding") != "chunked" {
            try ctx.error(411, message: "A valid Content-Length header is required")
            return
        }
        if let size = ctx.request.body?.count ?? ctx.request.bodyFileSize {
            try check(Double(size), config, &ctx)
        } else {
            ctx.logger.warning("missing request body")
        }
    }

    /// `kong.request.get_headers()[name]` when it is a string (one field).
    private static func string(_ ctx: PluginContext, _ name: String) -> String? {
        ctx.request.headers.tableValue(name).flatMap { $0.count == 1 ? $0.value : nil }
    }

    private func check(_ length: Double, _ config: Config, _ ctx: inout PluginContext) throws {
        guard length > config.allowedBytes else { return }
        let expect = Self.string(ctx, "expect")?.lowercased().trimmingSpaces()
        try ctx.error(expect == "100-continue" ? 417 : 413, message: "Request size limit exceeded")
    }
}
