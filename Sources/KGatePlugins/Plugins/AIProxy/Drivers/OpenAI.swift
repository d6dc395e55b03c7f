import KGateSchema

/// The providers that speak OpenAI's API (Kong's `openai` and `azure` drivers, and `mistral`
/// and `llama2` with `openai` as their format): the request keeps its shape, the answer must
/// have `choices`, streamed events keep their data (re-framed, and counted for the analytics).
struct OpenAIDriver: LLMDriver {
    let provider: String

    /// Its `to_format`: the configured model, an explicit `stream`, no `top_k`.
    func requestBody(_ request: Object, model: LLMModel, routeType: String) -> Result<Object, LLMDriverFailure> {
        var body = request
        if let name = model.name { body["model"] = .string(name) }
        if !LuaTable.isTruthy(body["stream"]) { body["stream"] = .bool(false) }
        body["top_k"] = nil
        return .success(body)
    }

    /// Its `from_format`: the body unchanged when it is JSON with `choices`.
    func answer(_ body: [UInt8], model: LLMModel, routeType: String, transformer: Bool) -> Result<LLMAnswer, LLMDriverFailure> {
        decodedAnswer(body, routeType, failure: "failed to decode \(routeType) response").flatMap { decoded in
            decoded["choices"] == nil
                ? .failure(transformationFailure(routeType, "'choices' not in \(routeType) response"))
                : .success(LLMAnswer(body: body, decoded: decoded))
        }
    }

    /// `upstream_url`, else mistral's or OpenAI's endpoint, or azure's deployment; the
    /// operation's path unless `upstream_path` says.
    func endpoint(_ model: LLMModel, routeType: String, stream: Bool) -> ParsedURL? {
        let completions = routeType == "llm/v1/completions"
        switch provider {
        case "mistral":
            return LLMDrivers.url(model, base: "https://api.mistral.ai:443", path: completions ? "/" : "/v1/chat/completions")
        case "azure":
            if let upstream = model.options.string("upstream_url") { return ParsedURL(upstream) }
            let base = "https://\(model.options.string("azure_instance") ?? "").openai.azure.com:443/openai/deployments/\(model.options.string("azure_deployment_id") ?? "")"
            return ParsedURL(base + (model.options.string("upstream_path") ?? (completions ? "/completions" : "/chat/completions")))
        case "llama2":
            return model.options.string("upstream_url").flatMap { ParsedURL($0) }
        default:
            return LLMDrivers.url(model, base: "https://api.openai.com:443", path: completions ? "/v1/completions" : "/v1/chat/completions")
        }
    }

    /// Azure's `api-version`: the client's, else `azure_api_version`.
    func queryParameters(_ model: LLMModel, clientValue: (String) -> String?) -> [(String, String?)] {
        guard provider == "azure" else { return [] }
        return [("api-version", clientValue("api-version") ?? model.options.string("azure_api_version"))]
    }

    /// Its `handle_stream_event`: the event's data as it is.
    func streamEvent(_ event: LLMStreamEvent, model: LLMModel, routeType: String, state: inout LLMStreamState) -> LLMStreamOutput? {
        guard let data = event.data else { return .skip }
        return data == "[DONE]" ? .done : LLMStreamOutput(frame: .raw(data))
    }

    var acceptEncoding: String? { provider == "openai" || provider == "azure" ? "gzip, identity" : nil }
    var clearsSetCookie: Bool { provider != "llama2" }
    var convertsInPlace: Bool { true }
    var countsTokens: Bool { provider == "llama2" }
}
