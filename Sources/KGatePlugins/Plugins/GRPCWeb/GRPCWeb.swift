import KGateConfig
import KGateProtobuf
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
/// JSON (`application/grpc-web(-text)+json`, framed, and `application/json`, bare) is
/// transcoded with the methods of `proto`, looked up by the request path
/// (`/package.Service/Method`): the request's JSON becomes the method's input message, and each
/// message of the answer is written as JSON. Without `proto`, JSON requests get Kong's 400.
/// The `.proto` file is read when the config loads: one that is missing or does not parse
/// rejects the config with its position.
public struct GRPCWebPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var allowOrigin: String
        /// Methods are looked up by, and the upstream gets, the path the router made
        /// (`strip_path` applied) instead of the request's.
        var passStrippedPath = false
        var schema: ProtoSchema?
        /// Input and output types by gRPC path.
        var methods: [String: (input: String, output: String)] = [:]
    }

    /// `grpc-web`.
    public static let name = "grpc-web"
    /// 3.
    public static let priority = 3
    /// access, header_filter, body_filter.
    public static let phases: PluginPhases = [.access, .headerFilter, .bodyFilter]
    /// Kong's `grpc-web` config schema.
    public static let schema = Schema.record([
        ("proto", Field.string),
        ("pass_stripped_path", Field.boolean),
        ("allow_origin_header", Field.string.defaulting("*")),
    ])

    /// How a content type is carried (Kong's `deco` tables by mimetype).
    struct Encoding: Sendable {
        /// The body is base64 text (`-text` types).
        var base64: Bool
        /// Messages are framed, and the answer ends with the trailer frame.
        var framed: Bool
        /// The request's message is JSON, to encode with the method's input type.
        var jsonRequest: Bool
        /// The answer's messages are written as JSON.
        var jsonResponse: Bool

        static let proto = Encoding(base64: false, framed: true, jsonRequest: false, jsonResponse: false)
        static let protoText = Encoding(base64: true, framed: true, jsonRequest: false, jsonResponse: false)
        /// A content type Kong's tables lack: with `proto`, the body goes as it is and the
        /// answer's messages are decoded to bare JSON.
        static let unknown = Encoding(base64: false, framed: false, jsonRequest: false, jsonResponse: true)
    }

    /// The content types Kong knows.
    static let encodings: [String: Encoding] = [
        "application/grpc-web": .proto,
        "application/grpc-web+proto": .proto,
        "application/grpc-web-text": .protoText,
        "application/grpc-web-text+proto": .protoText,
        "application/grpc-web+json": Encoding(base64: false, framed: true, jsonRequest: true, jsonResponse: true),
        "application/grpc-web-text+json": Encoding(base64: true, framed: true, jsonRequest: true, jsonResponse: true),
        "application/json": Encoding(base64: false, framed: false, jsonRequest: true, jsonResponse: true),
    ]

    /// What the response phases need of a request (Kong's `deco`).
    struct Decoding: Sendable {
        var mimetype: String
        var encoding: Encoding
        /// The method's output type, when the answer is transcoded.
        var outputType: String?
    }

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
        var parsed = Config(allowOrigin: config.string("allow_origin_header") ?? "*")
        parsed.passStrippedPath = config.bool("pass_stripped_path")
        if let proto = config.string("proto") {
            let schema = try ProtoFiles.load(proto)
            parsed.schema = schema
            for method in schema.methods {
                parsed.methods[ProtoFiles.path(of: method)] = (method.inputType, method.outputType)
            }
        }
        return parsed
    }

    /// The body is decoded before it goes upstream.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .always }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.setHeader("Access-Control-Allow-Origin", config.allowOrigin)
        if ctx.request.method == "OPTIONS" {
            return try ctx.exit(200, body: .bytes(Array("OK".utf8)), headers: Self.preflightHeaders(origin: config.allowOrigin))
        }
        var path = ctx.request.path
        if config.passStrippedPath, let routed = ctx.routedPath {
            // Kong's `ngx.req.set_uri(upstream_uri)`: what nginx's grpc_pass then sends.
            path = routed
            try ctx.request.setPath(routed)
        }
        let mimetype = ctx.request.header("Content-Type") ?? ""
        let encoding = Self.encodings[mimetype] ?? .unknown
        var types: (input: String, output: String)?
        if encoding.jsonResponse {
            guard config.schema != nil else {
                return try GRPCTranscoding.refuse("transcoding requests require a .proto file defining the service", &ctx)
            }
            guard let found = config.methods[path] else {
                return try GRPCTranscoding.refuse("Unknown path \(LuaQuote.percentQ(path))", &ctx)
            }
            types = found
        }
        ctx.plugin["decoding"] = Decoding(mimetype: mimetype, encoding: encoding, outputType: types?.output)
        ctx.request.setHeader("Content-Type", "application/grpc")
        ctx.request.setHeader("TE", "trailers")
        var body = ctx.request.body ?? []
        if encoding.base64 { body = Base64.decode(body) ?? [] }
        if encoding.jsonRequest, let schema = config.schema, let types {
            body = try Self.jsonMessage(body, framed: encoding.framed, as: types.input, schema: schema)
        }
        ctx.request.setRawBody(body)
    }

    /// The gRPC frame of a JSON request (its first frame when framed): Kong raises on JSON or
    /// encoding errors, which answers 500.
    static func jsonMessage(_ body: [UInt8], framed: Bool, as type: String, schema: ProtoSchema) throws -> [UInt8] {
        var text = body
        if framed {
            var buffer = body
            text = GRPCFrame.unframe(&buffer).first ?? []
        }
        let value: Value
        switch JSONReader.read(text) {
        case .success(let document): value = document.value
        case .failure(let error): throw error
        }
        return GRPCFrame.frame(0, try schema.encode(value, as: type))
    }

    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard ctx.request.method != "OPTIONS", let decoding = ctx.plugin["decoding"] as? Decoding else { return }
        ctx.response.setHeader("Content-Type", decoding.mimetype)
        if decoding.outputType != nil { GRPCTranscoding.dropLength(&ctx.response) }
    }

    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        guard ctx.request.method == "POST", let decoding = ctx.plugin["decoding"] as? Decoding else { return }
        if let outputType = decoding.outputType, let schema = config.schema {
            let messages = GRPCTranscoding.jsonMessages(
                chunk, as: outputType, schema: schema, encoder: KongJSONEncoderShim.encoder, &ctx
            ).messages
            // Framed again for gRPC-Web.
            chunk = Array(messages.map { decoding.encoding.framed ? GRPCFrame.frame(0, $0) : $0 }.joined())
        }
        if decoding.encoding.base64 { chunk = Array(Base64.encode(chunk).utf8) }
        guard last, decoding.encoding.framed else { return }
        // Kong reads `$sent_trailer_grpc_status` and `_message`: the upstream's trailers.
        let trailers = ctx.response.trailers
        let status = trailers.firstValue("grpc-status")?.value ?? "0"
        let message = trailers.firstValue("grpc-message")?.value ?? ""
        let frame = GRPCFrame.frame(0x80, Array("grpc-status:\(status)\r\ngrpc-message:\(message)\r\n".utf8))
        chunk += decoding.encoding.base64 ? Array(Base64.encode(frame).utf8) : frame
    }
}
