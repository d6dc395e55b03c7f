import KGateSchema

/// The JSON a Lambda function is invoked with (Kong's `request-util.lua`,
/// `build_request_payload`).
extension AWSLambdaPlugin {
    /// Content types whose body is sent as text even when `base64_encode_body`.
    static let rawContentTypes: Set<String> = [
        "text/plain", "text/html", "application/xml", "text/xml", "application/soap+xml",
    ]

    /// - `awsgateway_compatible`: an API Gateway (REST, payload 1.0) proxy event;
    /// - any `forward_request_*`: `request_method`, `request_headers`, `request_uri` and
    ///   `request_uri_args`, `request_body`, `request_body_args` (and `request_body_base64`);
    /// - otherwise the query arguments merged with the decoded body's.
    static func payload(_ config: Config, _ ctx: PluginContext) -> Value {
        let request = ctx.request
        if config.awsGatewayCompatible { return gatewayEvent(config, ctx) }
        guard config.forwardsMethod || config.forwardsHeaders || config.forwardsURI || config.forwardsBody else {
            let args = try? request.decodedBody().get()
            return merged(LogSerializer.queryTable(request.query), args.map(\.table))
        }
        var out: Object = [:]
        if config.forwardsMethod { out["request_method"] = .string(request.method) }
        if config.forwardsHeaders { out["request_headers"] = LogSerializer.headerTable(request.headers, redacting: false) }
        if config.forwardsURI {
            let query = request.rawQuery ?? ""
            out["request_uri"] = .string(query.isEmpty ? request.path : request.path + "?" + query)
            out["request_uri_args"] = LogSerializer.queryTable(request.query)
        }
        if config.forwardsBody {
            let contentType = request.header("content-type")
            var raw = body(skippingLarge: config.skipLargeBodies, ctx)
            var args: Value?
            switch request.decodedBody() {
            case .success(let decoded): args = decoded.table
            case .failure(let failure) where failure.message.contains("content type"):
                args = .object([:])
                if !rawContentTypes.contains(contentType ?? ""), config.base64EncodeBody {
                    // ngx.encode_base64(nil) is "".
                    raw = Array(Base64.encode(raw ?? []).utf8)
                    out["request_body_base64"] = .bool(true)
                }
            case .failure: args = nil
            }
            if let raw { out["request_body"] = .string(String(decoding: raw, as: UTF8.self)) }
            if let args { out["request_body_args"] = args }
        }
        return .object(out)
    }

    /// `ngx.req.get_body_data()`: nil for no body; a body nginx spooled to a file is read only
    /// without `skip_large_bodies`.
    private static func body(skippingLarge: Bool, _ ctx: PluginContext) -> [UInt8]? {
        if ctx.request.bodyFileSize != nil {
            if !skippingLarge, let spooled = ctx.request.spooledBody { return spooled }
            ctx.logger.error("request body was buffered to disk, too large")
            return nil
        }
        guard let body = ctx.request.body, !body.isEmpty else { return nil }
        return body
    }

    /// `kong.table.merge(query, body)`: the body's keys over the query's. A JSON array body
    /// stays an array when there is no query (cjson encodes a table of keys 1...n as one);
    /// otherwise its items take the keys "1", "2", ...
    static func merged(_ query: Value, _ body: Value?) -> Value {
        var table = query.objectValue ?? [:]
        switch body {
        case .object(let fields)?:
            for (k, v) in fields { table[k] = v }
        case .array(let items)?:
            if table.isEmpty { return .array(items) }
            for (i, v) in items.enumerated() { table[String(i + 1)] = v }
        default: break
        }
        return .object(table)
    }

    /// Kong's `aws_serializer`: the request as an API Gateway proxy event (payload 1.0).
    static func gatewayEvent(_ config: Config, _ ctx: PluginContext) -> Value {
        let request = ctx.request
        let (headers, multiHeaders) = singleAndMulti(LogSerializer.headerTable(request.headers, redacting: false))
        let (query, multiQuery) = singleAndMulti(LogSerializer.queryTable(request.query))
        var pathParameters: Object = [:]
        for (name, value) in ctx.captures?.named ?? [:] { pathParameters[name] = .string(value) }
        var body = ""
        var encoded = false
        if let bytes = Self.body(skippingLarge: config.skipLargeBodies, ctx) {
            if config.base64EncodeBody {
                body = Base64.encode(bytes)
                encoded = true
            } else {
                body = String(decoding: bytes, as: UTF8.self)
            }
        }
        let uri = ctx.request.upstreamPath ?? request.rawPath
        let path = String(uri.prefix { $0 != "?" })
        let start = request.startTime
        var context: Object = [
            "path": .string(path),
            "protocol": .string("HTTP/" + Value.formatNumber(request.httpVersion)),
            "httpMethod": .string(request.method),
            "domainName": .string(request.host),
            "domainPrefix": .string(String(request.host.prefix { $0 != "." })),
            "identity": .object(["sourceIp": .string(request.forwardedIP)]),
            "requestId": .string(request.requestID),
            "requestTime": .string(clfTime(start)),
            "requestTimeEpoch": .number(start * 1000),
            "resourcePath": .string(path),
        ]
        if let agent = headers["user-agent"] {
            context["identity"] = .object(["sourceIp": .string(request.forwardedIP), "userAgent": agent])
        }
        var event: Object = [
            "version": .string("1.0"),
            "path": .string(path),
            "httpMethod": .string(request.method),
            "headers": .object(headers),
            "multiValueHeaders": .object(multiHeaders),
            "pathParameters": .object(pathParameters),
            "queryStringParameters": .object(query),
            "multiValueQueryStringParameters": .object(multiQuery),
            "body": .string(body),
            "isBase64Encoded": .bool(encoded),
            "requestContext": .object(context),
        ]
        if let resource = ctx.matchedPath { event["resource"] = .string(resource) }
        return .object(event)
    }

    /// An API Gateway event's two views of a table whose values may be lists: the first value
    /// of each, and every value of each as a list.
    private static func singleAndMulti(_ table: Value) -> (single: Object, multi: Object) {
        var single: Object = [:]
        var multi: Object = [:]
        for (name, value) in table.objectValue ?? [:] {
            if case .array(let values) = value {
                multi[name] = value
                single[name] = values.first ?? .null
            } else {
                multi[name] = .array([value])
                single[name] = value
            }
        }
        return (single, multi)
    }

    /// The CLF time of `seconds` (`dd/Mon/yyyy:HH:MM:SS +0000`, in UTC as Kong's `date` does).
    static func clfTime(_ seconds: Double) -> String { HTTPTime.utc(Int(seconds.rounded(.down)), "%d/%b/%Y:%H:%M:%S +0000") }
}
