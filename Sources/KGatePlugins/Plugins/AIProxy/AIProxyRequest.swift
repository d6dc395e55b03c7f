import KGateSchema

/// The request side of ai-proxy for OpenAI's API (Kong's `normalize-request` filter, `kong.llm`
/// and the `openai` and `azure` drivers).
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

    /// The openai driver's `to_format`: `model.options` defaults win over the request's
    /// (`merge_config_defaults`), the model is the configured one, `stream` is explicit and
    /// `top_k` goes.
    static func toOpenAIFormat(_ body: inout Object, model: String?, options: Object) {
        for key in ["temperature", "max_tokens", "top_p", "top_k"] {
            if let option = options[key], !option.isNull { body[key] = option }
        }
        if let model { body["model"] = .string(model) }
        if !LuaTable.isTruthy(body["stream"]) { body["stream"] = .bool(false) }
        body["top_k"] = nil
    }

    /// The openai driver's `from_format`: the body must be JSON with `choices`; the message of
    /// Kong's 500 when not. `decoded` is `body` parsed as JSON.
    static func fromOpenAIFormat(_ body: [UInt8]?, decoded: Value?, routeType: String, provider: String) -> String? {
        let problem: String?
        if let decoded {
            problem = decoded["choices"] == nil ? "'choices' not in \(routeType) response" : nil
        } else {
            problem = body == nil ? nil : "failed to decode \(routeType) response"
        }
        guard let problem else { return body == nil ? "no response body found when transforming response" : nil }
        return "transformation failed from type \(provider)://\(routeType): \(problem)"
    }

    /// The provider of `model` (ai-proxy's and the AI transformers' `model.provider`); throws
    /// for those kgate does not convert for.
    static func supportedProvider(_ model: Object) throws(AIProxyPlugin.UnsupportedProvider) -> String {
        let provider = model.string("provider") ?? "openai"
        let format = model["options"]?.objectValue?.string(provider == "mistral" ? "mistral_format" : "llama2_format")
        guard AIProxyPlugin.providers.contains(provider), provider != "mistral" && provider != "llama2" || format == "openai" else {
            throw AIProxyPlugin.UnsupportedProvider(provider: provider, format: format)
        }
        return provider
    }

    /// The URL requests for `routeType` go to (Kong's `upstream_url_format` and
    /// `operation_map`): `upstream_url`, else the provider's endpoint, with `upstreamPath`
    /// instead of the operation's path when given; the path starts with one `/`.
    static func providerURL(_ provider: String, options: Object, routeType: String, upstreamPath: String?) -> ParsedURL? {
        let operation = routeType == "llm/v1/completions" ? "completions" : "chat/completions"
        var url: ParsedURL?
        if let upstream = options.string("upstream_url") {
            url = ParsedURL(upstream)
        } else if provider == "mistral" {
            url = ParsedURL("https://api.mistral.ai:443")
            url?.path = upstreamPath ?? (routeType == "llm/v1/completions" ? "/" : "/v1/chat/completions")
        } else if provider == "azure" {
            let base = "https://\(options.string("azure_instance") ?? "").openai.azure.com:443/openai/deployments/\(options.string("azure_deployment_id") ?? "")"
            url = ParsedURL(base + (upstreamPath ?? "/" + operation))
        } else {
            url = ParsedURL("https://api.openai.com:443")
            url?.path = upstreamPath ?? "/v1/" + operation
        }
        var path = Substring(url?.path ?? "/")
        while path.first == "/" { path = path.dropFirst() }
        url?.path = "/" + path
        return url
    }

    /// The drivers' `configure_request`: the provider's URL (or `upstream_url`) as the upstream
    /// path, scheme and target (port 443 unless the URL has one), the auth header and query
    /// parameter, and azure's `api-version`.
    static func configureUpstream(_ config: AIProxyPlugin.Config, options: Object, _ ctx: inout PluginContext) {
        let upstreamPath = options.string("upstream_path")
        guard let url = providerURL(config.provider, options: options, routeType: config.routeType, upstreamPath: upstreamPath)
        else { return }
        // `preserve` keeps the request's path unless `upstream_path` says.
        try? ctx.request.setPath(config.routeType == "preserve" && upstreamPath == nil ? ctx.request.path : url.path ?? "/")
        ctx.serviceOverride.scheme = url.scheme
        ctx.serviceOverride.host = url.host ?? ""
        ctx.serviceOverride.port = url.port.flatMap { Int($0) } ?? 443
        ctx.serviceOverride.upstreamHost = url.host
        let auth = config.auth
        if let name = auth.headerName, let value = auth.headerValue, ctx.request.header(name) == nil || !auth.allowOverride {
            ctx.request.setHeader(name, value)
        }
        var query = ctx.request.query
        var queryChanged = false
        if config.provider == "azure" {
            let version = ctx.request.queryArgument("api-version")?.string ?? options.string("azure_api_version")
            query.pairs.removeAll { $0.name == "api-version" }
            if let version { query.pairs.append(.init(name: "api-version", value: version)) }
            queryChanged = true
        }
        if let name = auth.paramName, let value = auth.paramValue, auth.paramLocation == "query",
            query[name] == nil || !auth.allowOverride
        {
            query.pairs.removeAll { $0.name == name }
            query.pairs.append(.init(name: name, value: value))
            queryChanged = true
        }
        if queryChanged { ctx.request.setQuery(query) }
    }
}
