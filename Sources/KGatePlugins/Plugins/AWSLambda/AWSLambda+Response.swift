import KGateConfig
import KGateSchema

/// What a Lambda invocation is answered with (Kong's `aws-lambda` handler after `invoke`, and
/// `extract_proxy_response`).
extension AWSLambdaPlugin {
    /// An invocation's body as lua-resty-aws hands it over: decoded when its `Content-Type`
    /// is `application/...json` and it parses, else as it came.
    enum Content {
        case none
        case text([UInt8])
        case json(Value)
    }

    static func answer(_ response: PluginHTTPClient.Response, _ config: Config, via: Bool, _ ctx: inout PluginContext) throws {
        var content: Content = response.status == 204 || response.status == 304 ? .none : .text(response.bytes)
        if let type = response.headers.first(name: "Content-Type"), isJSON(type), let value = KongJSONEncoderShim.decode(response.bytes) {
            content = .json(value)
        }
        if response.status >= 400 {
            var message = "\(response.status)"
            if case .json(.object(let fields)) = content, let text = fields["Message"]?.stringValue { message = text }
            throw InvocationFailure(description: message)
        }
        var headers = FunctionResponseHeaders.fields(response.headers)
        var status: Int?
        if config.proxyIntegration {
            switch proxyResponse(content) {
            case .failure(let failure):
                ctx.logger.error("[aws-lambda] \(failure.message)")
                if failure.fatal { throw InvocationFailure(description: failure.message) }
                return try ctx.exit(
                    502,
                    body: .json([
                        "message": .string("Bad Gateway"),
                        "error": .string("could not JSON decode Lambda function response: \(failure.message)"),
                    ]))
            case .success(let proxied):
                status = proxied.status
                for (name, values) in proxied.headers {
                    headers.remove(name)
                    for value in values { headers.add(name, value) }
                }
                content = .text(proxied.body)
            }
        }
        if status == nil {
            let unhandled = headers.fields.contains { HTTPFields.sameName($0.name, "X-Amz-Function-Error") && $0.value == "Unhandled" }
            status = config.unhandledStatus.flatMap { unhandled ? $0 : nil } ?? response.status
        }
        if via { FunctionResponseHeaders.addVia(to: &headers) }
        if config.legacyEmptyArrays, case .json(let value) = content,
            let type = headers.fields.first(where: { HTTPFields.sameName($0.name, "Content-Type") })?.value, isJSON(type)
        {
            content = .json(emptyArraysAsObjects(value))
        }
        let body: PluginExit.Body
        switch content {
        case .none: body = .empty
        case .text(let bytes): body = bytes.isEmpty ? .empty : .bytes(bytes)
        case .json(let value): body = .json(value)
        }
        try ctx.exit(status ?? response.status, body: body, headers: headers)
    }

    /// A function's proxy-integration answer.
    struct ProxyResponse {
        var status: Int
        var headers: [(String, [String])]
        var body: [UInt8]
    }

    /// Why a proxy-integration answer is refused (502), or, when `fatal`, fails the request
    /// (500: Kong's handler raises on a body that is not base64).
    struct ProxyResponseFailure: Error {
        var message: String
        var fatal = false
    }

    /// Kong's `extract_proxy_response` and `validate_custom_response`.
    static func proxyResponse(_ content: Content) -> Result<ProxyResponse, ProxyResponseFailure> {
        let decoded: Value
        switch content {
        case .json(let value): decoded = value
        case .none, .text:
            var bytes: [UInt8] = []
            if case .text(let b) = content { bytes = b }
            switch JSONReader.read(bytes) {
            case .success(let doc): decoded = doc.value
            case .failure(let error): return .failure(ProxyResponseFailure(message: error.message))
            }
        }
        guard case .object(let fields) = decoded else {
            return .failure(ProxyResponseFailure(message: "statusCode validation failed"))
        }
        let status: Int?
        switch fields["statusCode"] {
        case .integer(let n)?: status = n
        case .number(let d)?: status = d == d.rounded() ? Int(exactly: d) : nil
        case .string(let s)?: status = Int(s) ?? Double(s).flatMap { $0 == $0.rounded() ? Int(exactly: $0) : nil }
        default: status = nil
        }
        guard let status, (100...599).contains(status) else {
            return .failure(ProxyResponseFailure(message: "statusCode validation failed"))
        }
        var headers: [(String, [String])] = []
        switch fields["headers"] {
        case nil: break
        case .object(let table)?:
            for (name, value) in table { headers.append((name, headerValues(value))) }
        default: return .failure(ProxyResponseFailure(message: "headers must be a table"))
        }
        var body: [UInt8] = []
        switch fields["body"] {
        case nil: break
        case .string(let s)?: body = Array(s.utf8)
        default: return .failure(ProxyResponseFailure(message: "body must be a string"))
        }
        switch fields["isBase64Encoded"] {
        case nil, .bool(false)?: break
        case .bool(true)?:
            guard let bytes = Base64.decode(body) else {
                return .failure(ProxyResponseFailure(message: "body is not valid base64", fatal: true))
            }
            body = bytes
        default: return .failure(ProxyResponseFailure(message: "isBase64Encoded must be a boolean"))
        }
        if case .object(let table)? = fields["multiValueHeaders"] {
            for (name, value) in table {
                headers.removeAll { $0.0 == name }
                headers.append((name, headerValues(value)))
            }
        }
        return .success(ProxyResponse(status: status, headers: headers, body: body))
    }

    /// A header value of the function's table as `ngx.header` takes it: a list is one field
    /// per item, other values their Lua text.
    private static func headerValues(_ value: Value) -> [String] {
        if case .array(let items) = value { return items.map(\.luaString) }
        return [value.luaString]
    }

    /// lua-resty-aws's test `ct:lower():match("application/.*json")`.
    static func isJSON(_ contentType: String) -> Bool {
        let lower = contentType.lowercased()
        guard let start = lower.firstRange(of: "application/") else { return false }
        return lower[start.upperBound...].contains("json")
    }

    /// `remove_array_mt_for_empty_table`: empty arrays encode as `{}` (Kong's legacy mode).
    static func emptyArraysAsObjects(_ value: Value) -> Value {
        switch value {
        case .array(let items): return items.isEmpty ? .object([:]) : .array(items.map(emptyArraysAsObjects))
        case .object(let fields): return .object(fields.mapValues(emptyArraysAsObjects))
        default: return value
        }
    }
}
