import KGateConfig
import KGateProtobuf
import KGateSchema

/// Kong's `grpc-gateway` (PRIORITY 998): serves a gRPC service as a JSON REST API, by the
/// `google.api.http` options of the methods in `proto`.
///
/// A request is matched to a method by its HTTP method and path (``GRPCGatewayEndpoints``); its
/// message is built from the path variables and the JSON body or the query string
/// (``GRPCGatewayPayload``) and sent as a gRPC call: `POST`, `Content-Type: application/grpc`,
/// `TE: trailers`, the query cleared, and, for a `grpc(s)` service, the path
/// `/package.Service/Method` (nginx's `grpc_pass` sends the rewritten URI; an `http` service
/// keeps the routed path, as in Kong). Each message of the answer is decoded with the output type
/// and written as JSON; a `grpc-status` in the response head sets the HTTP status (Kong's map of
/// `google.rpc.Code`). Every response gets `Access-Control-Allow-Origin: *`; `OPTIONS` is
/// answered `200 OK` with Kong's CORS headers.
///
/// The `.proto` file is read when the config loads (Kong reads it at the first request): a file
/// that is missing or does not parse rejects the config with its position.
public struct GRPCGatewayPlugin: Plugin {
    /// The parsed config: the file's endpoints.
    public struct Config: Sendable {
        var schema: ProtoSchema?
        var endpoints: GRPCGatewayEndpoints?
    }

    /// `grpc-gateway`.
    public static let name = "grpc-gateway"
    /// 998.
    public static let priority = 998
    /// access, header_filter, body_filter.
    public static let phases: PluginPhases = [.access, .headerFilter, .bodyFilter]
    /// Kong's `grpc-gateway` config schema.
    public static let schema = Schema.record([("proto", Field.string)])

    /// What the response phases need of a transcoded request (Kong's `kong.ctx.plugin.dec`).
    struct Transcoding: Sendable {
        var outputType: String
    }

    /// Kong's answer to `OPTIONS`.
    static let preflightHeaders: HTTPFields = [
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET,POST,PATCH,DELETE",
        "Access-Control-Allow-Headers": "content-type",
    ]

    /// Kong's HTTP status for each gRPC status (google/rpc/code.proto's mapping).
    static let httpStatus: [Int: Int] = [
        0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 16: 401, 8: 429, 9: 400, 10: 409, 11: 400,
        12: 500, 13: 500, 14: 503, 15: 500,
    ]

    /// The plugin's JSON writer: Kong's grpc-gateway encodes with its own `cjson.safe.new()`,
    /// which keeps cjson's 14 significant digits (Kong's shared cjson has 16).
    static let json = KongJSONEncoder(numberPrecision: 14)

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        guard let proto = config.string("proto") else { return Config() }
        let schema = try ProtoFiles.load(proto)
        return Config(schema: schema, endpoints: try GRPCGatewayEndpoints(schema))
    }

    /// The JSON body becomes the message.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .always }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        ctx.response.setHeader("Access-Control-Allow-Origin", "*")
        if ctx.request.method == "OPTIONS" {
            return try ctx.exit(200, body: .bytes(Array("OK".utf8)), headers: Self.preflightHeaders)
        }
        guard let schema = config.schema, let endpoints = config.endpoints else {
            return try GRPCTranscoding.refuse("transcoding requests require a .proto file defining the service", &ctx)
        }
        let endpoint: GRPCGatewayEndpoints.Endpoint
        let variables: [(String, String)]
        switch endpoints.endpoint(method: ctx.request.method.lowercased(), path: ctx.request.path) {
        case .success(let found): (endpoint, variables) = found
        case .failure(let failure): return try GRPCTranscoding.refuse("failed to transcode .proto file \(failure.message)", &ctx)
        }
        ctx.plugin["transcoding"] = Transcoding(outputType: endpoint.outputType)
        ctx.request.setHeader("Content-Type", "application/grpc")
        ctx.request.setHeader("TE", "trailers")

        var payload = GRPCGatewayPayload(variables: variables)
        do throws(GRPCGatewayPayload.Failure) {
            if let field = endpoint.body {
                try payload.addBody(ctx.request.body ?? [], field: field)
            } else {
                payload.addQuery(ctx.request.query, inputType: endpoint.inputType, schema: schema)
            }
        } catch {
            return try GRPCTranscoding.refuse(error.message, &ctx)
        }
        switch payload.encoded(as: endpoint.inputType, schema: schema) {
        case .success(let body):
            ctx.request.setRawBody(body)
        case .failure(let error):
            ctx.logger.error("\(error.description)")
            return try GRPCTranscoding.refuse("failed to encode payload", &ctx)
        }
        let serviceProtocol = ctx.serviceEntity?["protocol"]?.stringValue
        if serviceProtocol == "grpc" || serviceProtocol == "grpcs" { try ctx.request.setPath(endpoint.grpcPath) }
        ctx.request.setRawQuery("")
        ctx.request.setMethod("POST")
    }

    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard ctx.request.method != "OPTIONS" else { return }
        if ctx.plugin["transcoding"] is Transcoding {
            ctx.response.setHeader("Content-Type", "application/json")
            GRPCTranscoding.dropLength(&ctx.response)
        }
        guard let text = ctx.response.header("grpc-status"), let grpcStatus = Int(text) else { return }
        if let status = Self.httpStatus[grpcStatus] {
            ctx.response.setStatus(status)
        } else {
            ctx.logger.warning("Unable to map grpc-status \(text) to HTTP status code")
            ctx.response.setStatus(500)
        }
    }

    public func bodyFilter(_ config: Config, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        guard let transcoding = ctx.plugin["transcoding"] as? Transcoding, let schema = config.schema else { return }
        let (messages, rest) = GRPCTranscoding.jsonMessages(
            chunk, as: transcoding.outputType, schema: schema, encoder: Self.json, &ctx)
        // Nothing decoded: at the end the undecodable rest goes as it is; before it, nothing.
        chunk = messages.isEmpty && last ? rest : Array(messages.joined())
    }
}
