import Crypto
import KGateRegex
import KGateSchema

/// Kong's `hmac-auth` (PRIORITY 1030, `kong/plugins/hmac-auth`): authenticates with an HMAC
/// signature in `Proxy-Authorization` or `Authorization`:
///
/// ```
/// hmac username="alice", algorithm="hmac-sha256", headers="date request-line", signature="<base64>"
/// ```
///
/// The signature covers the named headers (`name: value` lines; `request-line` and
/// `@request-target` stand for the request line), made with the secret of the
/// `hmacauth_credentials` credential of that username. `X-Date` or `Date` must be within
/// `clock_skew` seconds of now; `enforce_headers` must be signed; `algorithms` limits the
/// algorithm; `validate_request_body` checks the body against `Digest: SHA-256=<base64>`.
/// Failures answer 401 with Kong's messages and `WWW-Authenticate: hmac` (with `realm`).
public struct HMACAuthPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var hideCredentials: Bool
        var clockSkew: Double
        var anonymous: String?
        var validateRequestBody: Bool
        var enforceHeaders: [String]
        var algorithms: [String]
        var challenge: String
    }

    /// `hmac-auth`.
    public static let name = "hmac-auth"
    /// 1030.
    public static let priority = 1030
    /// access.
    public static let phases: PluginPhases = [.access]
    static let allAlgorithms = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
    /// Kong's `hmac-auth` config schema.
    public static let schema = Schema.record([
        ("hide_credentials", Field.boolean.isRequired.defaulting(false)),
        ("clock_skew", Field.number.with {
            $0.defaultValue = 300
            $0.gt = 0
        }),
        ("anonymous", Field.string),
        ("validate_request_body", Field.boolean.isRequired.defaulting(false)),
        ("enforce_headers", Field.array(of: .string).defaulting([])),
        ("algorithms", Field.array(of: Field.string.with { $0.oneOf = allAlgorithms.map(Value.string) })
            .defaulting(.array(allAlgorithms.map(Value.string)))),
        ("realm", Field.string),
    ])

    /// Kong's `Authorization` pattern (greedy groups, as PCRE backtracks them).
    static let fields = try! PCRERegex(
        #"\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)""#)
    static let notVerifiable = "HMAC signature cannot be verified"
    static let noMatch = "HMAC signature does not match"

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            hideCredentials: config.bool("hide_credentials"), clockSkew: config.number("clock_skew") ?? 300,
            anonymous: config.string("anonymous"), validateRequestBody: config.bool("validate_request_body"),
            enforceHeaders: config.strings("enforce_headers") ?? [], algorithms: config.strings("algorithms") ?? Self.allAlgorithms,
            challenge: config.string("realm").map { "hmac realm=\"\($0)\"" } ?? "hmac")
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { config.validateRequestBody ? .always : .never }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        try Authentication.run(&ctx, anonymous: config.anonymous, authenticate: { authenticate(config, &$0) }) {
            message, ctx throws(PluginContext.InvalidExitStatus) in
            try Authentication.unauthorized(&ctx, message, wwwAuthenticate: config.challenge)
        }
    }

    /// What the `Authorization` value names.
    struct Parameters {
        var username: String
        var algorithm: String
        var headers: [String]
        var signature: String
    }

    /// Kong's `do_authentication`: nil on success, else the 401 message.
    func authenticate(_ config: Config, _ ctx: inout PluginContext) -> String? {
        let authorization = ctx.request.header("authorization")
        let proxyAuthorization = ctx.request.header("proxy-authorization")
        guard authorization != nil || proxyAuthorization != nil else { return "Unauthorized" }
        let now = ctx.request.startTime.rounded(.down)
        guard Self.dateWithinSkew(ctx.request.header("x-date"), now: now, skew: config.clockSkew)
            || Self.dateWithinSkew(ctx.request.header("date"), now: now, skew: config.clockSkew)
        else {
            return Self.notVerifiable + ", a valid date or x-date header is required for HMAC Authentication"
        }
        var parameters = Self.parameters(proxyAuthorization)
        if parameters == nil {
            parameters = Self.parameters(authorization)
            if config.hideCredentials { ctx.request.clearHeader("authorization") }
        } else if config.hideCredentials {
            ctx.request.clearHeader("proxy-authorization")
        }
        guard let parameters, Self.valid(parameters, config),
            let credential = ctx.db.hmacAuthCredential(username: parameters.username)
        else { return Self.notVerifiable }
        let secret = Array((credential.row.string("secret") ?? "").utf8)
        guard let expected = Base64.decode(Array(parameters.signature.utf8)),
            Self.signature(parameters, secret: secret, request: ctx.request) == expected
        else { return Self.noMatch }
        if config.validateRequestBody, !Self.bodyMatchesDigest(ctx.request) { return Self.noMatch }
        let consumer = credential.consumerID.flatMap { ctx.db.consumer(id: $0) }
        Authentication.setConsumer(
            &ctx, consumer: consumer, credential: credential, credentialIdentifier: credential.row.string("username"))
        return nil
    }

    /// `retrieve_hmac_fields`: the four fields, or nil when the value does not have them.
    static func parameters(_ value: String?) -> Parameters? {
        guard let value, let match = try? fields.firstMatch(in: value), let username = match[1], let algorithm = match[2],
            let headers = match[3], let signature = match[4]
        else { return nil }
        return Parameters(
            username: username, algorithm: algorithm,
            headers: headers.split(separator: " ", omittingEmptySubsequences: false).map(String.init), signature: signature)
    }

    /// `validate_params`: every enforced header signed, and an allowed algorithm.
    static func valid(_ parameters: Parameters, _ config: Config) -> Bool {
        if !config.enforceHeaders.allSatisfy(parameters.headers.contains) { return false }
        return config.algorithms.contains(parameters.algorithm)
    }

    /// `validate_clock_skew`: a date nginx can parse, within `skew` seconds of now.
    static func dateWithinSkew(_ value: String?, now: Double, skew: Double) -> Bool {
        guard let value, let time = HTTPTime.parse(value) else { return false }
        return abs(now - Double(time)) <= skew
    }

    /// `create_hash`: the signing string of the named headers, MAC'd with the algorithm.
    static func signature(_ parameters: Parameters, secret: [UInt8], request: PluginRequest) -> [UInt8] {
        let target = request.rawPath + (request.rawQuery.map { "?" + $0 } ?? "")
        let lines = parameters.headers.map { name -> String in
            if let value = request.header(name) { return name + ": " + value }
            switch name {
            case "@request-target": return name + ": " + request.method.lowercased() + " " + target
            case "request-line": return "\(request.method) \(target) HTTP/\(request.httpVersion)"
            default: return name + ":"
            }
        }
        let text = Array(lines.joined(separator: "\n").utf8)
        let key = SymmetricKey(data: secret)
        switch parameters.algorithm {
        case "hmac-sha1": return Array(HMAC<Insecure.SHA1>.authenticationCode(for: text, using: key))
        case "hmac-sha256": return Array(HMAC<SHA256>.authenticationCode(for: text, using: key))
        case "hmac-sha384": return Array(HMAC<SHA384>.authenticationCode(for: text, using: key))
        default: return Array(HMAC<SHA512>.authenticationCode(for: text, using: key))
        }
    }

    /// `validate_body`: without `Digest` the body must be empty; with it,
    /// `SHA-256=<base64 of the body's SHA-256>`.
    static func bodyMatchesDigest(_ request: PluginRequest) -> Bool {
        let body = request.body ?? []
        guard let digest = request.header("digest") else { return body.isEmpty }
        return digest == "SHA-256=" + Base64.encode(Array(SHA256.hash(data: body)))
    }
}
