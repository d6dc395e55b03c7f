import KGateSchema

/// The request side of ai-proxy (Kong's `normalize-request` filter, `kong.llm` and the drivers'
/// `configure_request`).
enum AIProxyRequest {
    /// A template of `model` that does not resolve (Kong's `merge_model_options` error).
    struct TemplateFailure: Error {
        let message: String
    }

    /// `model` with each string's `$(source.key)` replaced from the request (Kong's
    /// `merge_model_options`): `headers`, `uri_captures` (named) or `query_params`.
    static func resolvedTemplates(_ value: Value, _ ctx: PluginContext) -> Result<Value, TemplateFailure> {
        switch value {
        case .object(let object):
            var resolved = Object()
            for (key, v) in object {
                switch resolvedTemplates(v, ctx) {
                case .success(let r): resolved[key] = r
                case .failure(let f): return .failure(f)
                }
            }
            return .success(.object(resolved))
        case .string(let text):
            guard let dollar = text.indices.first(where: { text[$0] == "$" && text[text.index(after: $0)...].first == "(" }),
                case let start = text.index(dollar, offsetBy: 2), let close = text[start...].firstIndex(of: ")")
            else {
                return .success(value)
            }
            let expression = text[start..<close]
            let parts = expression.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return .failure(TemplateFailure(message: "cannot parse expression for field '\(text)'")) }
            let (source, key) = (String(parts[0]), String(parts[1]))
            let found: String?
            switch source {
            case "uri_captures": found = ctx.captures?.named[key]
            case "headers": found = ctx.request.header(key)
            case "query_params": found = ctx.request.queryArgument(key)?.string
            default: return .failure(TemplateFailure(message: "source '\(source)' is not supported"))
            }
            guard let found else { return .failure(TemplateFailure(message: "\(source) key \(key) was not provided")) }
            return .success(.string(String(text[..<dollar]) + found + String(text[text.index(after: close)...])))
        default:
            return .success(value)
        }
    }

    /// Kong's `validate_incoming`: a non-empty `messages` array, or a `prompt` string.
    static func hasPrompts(_ body: Object) -> Bool {
        if case .array(let messages)? = body["messages"], !messages.isEmpty { return true }
        if case .string? = body["prompt"] { return true }
        return false
    }

    /// Kong's `llm.is_compatible`: the body's format against `routeType`; the message when they
    /// do not fit.
    static func incompatibility(_ body: Object, routeType: String) -> String? {
        var formats: [String] = []
        if case .array(let messages)? = body["messages"], !messages.isEmpty { formats.append("llm/v1/chat") }
        if case .string? = body["prompt"] { formats.append("llm/v1/completions") }
        if formats.count > 1 { return "request matches multiple LLM request formats" }
        guard let format = formats.first else { return "request format not recognised" }
        return format == routeType ? nil : "[\(format)] message format is not compatible with [\(routeType)] route type"
    }

    /// The drivers' `configure_request`: the driver's URL as the upstream path, scheme and target
    /// (port 443 unless the URL has one), its headers and query arguments, and `auth`'s header
    /// and query parameter as the driver applies them.
    static func configureUpstream(_ config: AIProxyPlugin.Config, model: LLMModel, stream: Bool, _ ctx: inout PluginContext) {
        let driver = config.driver
        guard var url = driver.endpoint(model, routeType: config.routeType, stream: stream) else { return }
        if driver.normalizesPath {
            // `preserve` keeps the request's path unless `upstream_path` says.
            if config.routeType == "preserve", model.options.string("upstream_path") == nil { url.path = ctx.request.path }
            var path = Substring(url.path ?? "/")
            while path.first == "/" { path = path.dropFirst() }
            try? ctx.request.setPath("/" + path)
        } else if let path = url.path {
            try? ctx.request.setPath(path)
        }
        ctx.serviceOverride.scheme = url.scheme
        ctx.serviceOverride.host = url.host ?? ""
        ctx.serviceOverride.port = url.port.flatMap { Int($0) } ?? 443
        ctx.serviceOverride.upstreamHost = url.host
        for (name, value) in driver.requestHeaders(model) { ctx.request.setHeader(name, value) }
        let auth = config.auth
        let always = driver.authStyle != .overridable
        if driver.authStyle != .signed, let name = auth.headerName, let value = auth.headerValue, always || ctx.request.header(name) == nil || !auth.allowOverride {
            ctx.request.setHeader(name, value)
        }
        var query = ctx.request.query
        var queryChanged = false
        let request = ctx.request
        for (name, value) in driver.queryParameters(model, clientValue: { request.queryArgument($0)?.string }) {
            query.pairs.removeAll { $0.name == name }
            if let value { query.pairs.append(.init(name: name, value: value)) }
            queryChanged = true
        }
        if driver.authStyle != .headerOnly, driver.authStyle != .signed, let name = auth.paramName, let value = auth.paramValue, auth.paramLocation == "query",
            always || query[name] == nil || !auth.allowOverride
        {
            query.pairs.removeAll { $0.name == name }
            query.pairs.append(.init(name: name, value: value))
            queryChanged = true
        }
        if queryChanged { ctx.request.setQuery(query) }
    }

    /// Bedrock's `configure_request` signature of the body as sent, to the upstream host and
    /// path: at once with configured keys, else once the credential chain gave its own (access
    /// waits; a failure is Kong's bare 500).
    static func sign(_ identity: AWSIdentity, _ ctx: inout PluginContext) {
        let host = ctx.serviceOverride.host ?? ""
        let path = ctx.request.upstreamPath ?? ctx.request.path
        let body = ctx.request.body ?? ctx.request.spooledBody ?? []
        @Sendable func apply(_ credentials: AWSSigV4.Credentials, _ ctx: inout PluginContext) {
            for (name, value) in identity.signature(credentials, host: host, path: path, body: body, at: Int(WallClock.now())) {
                ctx.request.setHeader(name, value)
            }
        }
        if let credentials = identity.credentials { return apply(credentials, &ctx) }
        ctx.wait(forTask: { try await identity.resolvedCredentials() }) { ctx, result in
            switch result {
            case .success(let credentials): apply(credentials, &ctx)
            case .failure: try ctx.exit(500)
            }
        }
    }
}
