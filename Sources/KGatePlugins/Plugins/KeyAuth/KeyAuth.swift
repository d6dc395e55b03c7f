import KGateSchema

/// Kong's `key-auth` (PRIORITY 1250): authenticates with an API key from a header, the query
/// string or the body, looked up in `keyauth_credentials`.
///
/// Kong 3.x answers 401 `No API key found in request`, `Unauthorized` (unknown key) or
/// `Duplicate API key found`, with `WWW-Authenticate: Key` (or `Key realm="<realm>"`). With
/// `anonymous`, a failed authentication continues as that consumer (logical OR with other auth
/// plugins).
public struct KeyAuthPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var keyNames: [String]
        var hideCredentials: Bool
        var anonymous: String?
        var keyInHeader: Bool
        var keyInQuery: Bool
        var keyInBody: Bool
        var runOnPreflight: Bool
        var wwwAuthenticate: String
    }

    /// `key-auth`.
    public static let name = "key-auth"
    /// 1250.
    public static let priority = 1250
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Makes the plugin.
    public init() {}

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            keyNames: config.strings("key_names") ?? ["apikey"],
            hideCredentials: config.bool("hide_credentials"),
            anonymous: config.string("anonymous"),
            keyInHeader: config.bool("key_in_header", default: true),
            keyInQuery: config.bool("key_in_query", default: true),
            keyInBody: config.bool("key_in_body"),
            runOnPreflight: config.bool("run_on_preflight", default: true),
            wwwAuthenticate: config.string("realm").map { "Key realm=\"\($0)\"" } ?? "Key")
    }

    /// The body is read when keys may be in it.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { config.keyInBody ? .always : .never }

    /// Authenticates.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if !config.runOnPreflight, ctx.request.method == "OPTIONS" { return }
        try Authentication.run(&ctx, anonymous: config.anonymous, authenticate: { authenticate(config, &$0) }) {
            failure, ctx throws(PluginContext.InvalidExitStatus) in
            try Authentication.unauthorized(&ctx, failure, wwwAuthenticate: config.wwwAuthenticate)
        }
    }

    /// Kong's `do_authentication`: nil on success, else the 401 message.
    private func authenticate(_ config: Config, _ ctx: inout PluginContext) -> String? {
        var body: RequestBody??
        func decodedBody(_ ctx: PluginContext) -> RequestBody? {
            if let body { return body }
            let decoded = try? ctx.request.decodedBody().get()
            body = .some(decoded)
            return decoded
        }
        var key: String?
        for name in config.keyNames {
            var found: RequestBody.Argument?
            if config.keyInHeader {
                if let (value, count) = ctx.request.headers.tableValue(name) { found = count == 1 ? .string(value) : .table }
            }
            if found == nil, config.keyInQuery {
                switch ctx.request.queryArgument(name) {
                case .string(let s)?: found = .string(s)
                case .multiple?: found = .table
                case .flag?: found = .other
                case nil: break
                }
            }
            if found == nil, config.keyInBody { found = decodedBody(ctx)?.argument(name) }

            switch found {
            case .string(let value)?:
                key = value
                if config.hideCredentials {
                    ctx.request.clearQueryArgument(name)
                    ctx.request.clearHeader(name)
                    if config.keyInBody, let decoded = decodedBody(ctx) {
                        ctx.request.setBody(decoded.removing(name))
                    }
                }
            case .table?:
                return "Duplicate API key found"
            case .other?, nil:
                continue
            }
            break
        }
        guard let key, !key.isEmpty else { return "No API key found in request" }
        guard let credential = ctx.db.keyAuthCredential(key: key, at: ctx.request.startTime) else { return "Unauthorized" }
        let consumer = credential.consumerID.flatMap { ctx.db.consumer(id: $0) }
        Authentication.setConsumer(&ctx, consumer: consumer, credential: credential, credentialIdentifier: credential.id)
        return nil
    }
}
