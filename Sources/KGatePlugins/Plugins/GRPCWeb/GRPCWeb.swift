import KGateSchema

/// Kong's `grpc-web` (PRIORITY 3): lets gRPC-Web clients (browsers, over HTTP/1.1) call a gRPC
/// service. The request body of `application/grpc-web(+proto)` goes upstream as it is, that of
/// `application/grpc-web-text(+proto)` base64-decoded, as `application/grpc` with
/// `TE: trailers`; the response keeps the request's content type, its body base64-encoded (each
/// chunk on its own, as Kong's) for the text types, and ends with a gRPC-Web trailer frame
/// (flag `0x80`) carrying the upstream's `grpc-status` and `grpc-message` trailers (a
/// trailers-only answer, `Content-Length: 0`, keeps its status in the head and gets no frame,
/// which could not follow its announced length). An `OPTIONS`
/// request is answered `200 OK` with Kong's CORS headers; every response gets
/// `Access-Control-Allow-Origin: allow_origin_header`.
///
/// JSON transcoding (`application/json`, `+json`) needs `proto`, a `.proto` file kgate does not
/// compile: a config that sets `proto` is refused by the schema (with its position, in
/// `kgate config parse` too), and JSON requests get Kong's 400 for a config without one.
public struct GRPCWebPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var allowOrigin: String
    }

    /// `grpc-web`.
    public static let name = "grpc-web"
    /// 3.
    public static let priority = 3
    /// access, header_filter, body_filter.
    public static let phases: PluginPhases = [.access, .headerFilter, .bodyFilter]
    /// Kong's `grpc-web` config schema.
    public static let schema = Schema.record([
        ("proto", Field.string.with { $0.customValidator = { _ in ProtoUnsupported().description } }),
        ("pass_stripped_path", Field.boolean),
        ("allow_origin_header", Field.string.defaulting("*")),
    ])

    /// A `proto` file to transcode JSON with.
    struct ProtoUnsupported: Error, CustomStringConvertible {
        var description: String {
            "JSON transcoding with .proto files is not implemented by kgate; without proto, "
                + "application/grpc-web(-text)(+proto) requests are served"
        }
    }

    /// What the response phases need of a request's content type (Kong's `deco`).
    struct Decoding: Sendable {
        var mimetype: String
        var base64: Bool
    }

    /// The content types served without `proto`, and whether each is base64 text.
    static let protoTypes: [String: Bool] = [
        "application/grpc-web": false,
        "application/grpc-web+proto": false,
        "application/grpc-web-text": true,
        "application/grpc-web-text+proto": true,
    ]

    /// Kong's answer to `OPTIONS`.
    static func preflightHeaders(origin: String) -> HTTPFields {
        [
            "Content-Type": "application/grpc-web-text+proto",
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "content-type,x-grpc-web,x-user-agent",
        ]
    }

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        if config.string("proto") != nil { throw ProtoUnsupported() }
        // `pass_stripped_path` chooses the path `.proto` methods are looked up by: without
        // `proto` it changes nothing upstream.
        return Config(allowOrigin: config.string("allow_origin_header") ?? "*")
    }

    /// The body is decoded before it goes upstream.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .always }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.setHeader("Access-Control-Allow-Origin", config.allowOrigin)
        if ctx.request.method == "OPTIONS" {
            return try ctx.exit(200, body: .bytes(Array("OK".utf8)), headers: Self.preflightHeaders(origin: config.allowOrigin))
        }
        let mimetype = ctx.request.header("Content-Type") ?? ""
        guard let base64 = Self.protoTypes[mimetype] else {
            ctx.logger.error("transcoding requests require a .proto file defining the service")
            return try ctx.exit(400, body: .bytes(Array("transcoding requests require a .proto file defining the service".utf8)))
        }
        ctx.plugin["decoding"] = Decoding(mimetype: mimetype, base64: base64)
        ctx.request.setHeader("Content-Type", "application/grpc")
        ctx.request.setHeader("TE", "trailers")
        let body = ctx.request.body ?? []
        ctx.request.setRawBody(base64 ? Base64.decode(body) ?? [] : body)
    }

    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard ctx.request.method != "OPTIONS", let decoding = ctx.plugin["decoding"] as? Decoding else { return }
        ctx.response.setHeader("Content-Type", decoding.mimetype)
    }

    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        guard ctx.request.method == "POST", let decoding = ctx.plugin["decoding"] as? Decoding else { return }
        if decoding.base64 { chunk = Array(Base64.encode(chunk).utf8) }
        guard last else { return }
        // Kong reads `$sent_trailer_grpc_status` and `_message`: the upstream's trailers.
        let trailers = ctx.response.trailers
        let status = trailers.firstValue("grpc-status")?.value ?? "0"
        let message = trailers.firstValue("grpc-message")?.value ?? ""
        let frame = Self.frame(0x80, Array("grpc-status:\(status)\r\ngrpc-message:\(message)\r\n".utf8))
        chunk += decoding.base64 ? Array(Base64.encode(frame).utf8) : frame
    }

    /// A gRPC frame: its flags, its length (4 bytes, big-endian) and the message.
    static func frame(_ flags: UInt8, _ message: [UInt8]) -> [UInt8] {
        let n = UInt32(message.count)
        return [flags, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + message
    }
}
