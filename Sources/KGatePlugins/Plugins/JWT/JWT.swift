import KGateSchema
import Synchronization

/// Kong's `jwt` (PRIORITY 1450, `kong/plugins/jwt`): authenticates with a JSON Web Token from
/// the query string (`uri_param_names`), cookies (`cookie_names`) or headers (`header_names`,
/// `Bearer <token>`), signed with the `jwt_secrets` credential named by its `key_claim_name`
/// claim (or header field): HS256/384/512 with the credential's `secret` (base64 with
/// `secret_is_base64`), RS*, PS*, ES* and EdDSA with its `rsa_public_key`.
///
/// Failures answer 401 with Kong's messages and `WWW-Authenticate: Bearer` (with `realm`, and
/// `error="invalid_token"` once a token was found); `claims_to_verify` (`exp`, `nbf`) and
/// `maximum_expiration` failures answer their errors by claim. With `anonymous`, a failed
/// authentication continues as that consumer.
public final class JWTPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var uriParamNames: [String]
        var cookieNames: [String]
        var headerNames: [String]
        var keyClaimName: String
        var secretIsBase64: Bool
        var claimsToVerify: [String]
        var anonymous: String?
        var runOnPreflight: Bool
        var maximumExpiration: Double
        /// `Bearer` or `Bearer realm="..."`.
        var challenge: String
        /// The same with `error="invalid_token"`.
        var invalidTokenChallenge: String
    }

    /// `jwt`.
    public static let name = "jwt"
    /// 1450.
    public static let priority = 1450
    /// access.
    public static let phases: PluginPhases = [.access]

    /// What a parsed key is cached under: the algorithm, how the text is read, the text.
    private struct KeySource: Hashable {
        var algorithm: JWTAlgorithm
        var base64: Bool
        var text: String
    }

    /// Parsed credential keys for the current generation.
    private let keys = Mutex<[KeySource: JWTVerificationKey]>([:])

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let challenge = config.string("realm").map { "Bearer realm=\"\($0)\"" } ?? "Bearer"
        return Config(
            uriParamNames: config.strings("uri_param_names") ?? ["jwt"],
            cookieNames: config.strings("cookie_names") ?? [],
            headerNames: config.strings("header_names") ?? ["authorization"],
            keyClaimName: config.string("key_claim_name") ?? "iss",
            secretIsBase64: config.bool("secret_is_base64"),
            claimsToVerify: config.strings("claims_to_verify") ?? [],
            anonymous: config.string("anonymous"),
            runOnPreflight: config.bool("run_on_preflight", default: true),
            maximumExpiration: config.number("maximum_expiration") ?? 0,
            challenge: challenge,
            invalidTokenChallenge: challenge == "Bearer" ? #"Bearer error="invalid_token""# : challenge + #", error="invalid_token""#)
    }

    /// A new generation's credentials: parsed keys of the previous one go.
    public func configure(_ configs: [ScopedConfig<Config>]) {
        keys.withLock { $0.removeAll() }
    }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        if !config.runOnPreflight, ctx.request.method == "OPTIONS" { return }
        try Authentication.run(&ctx, anonymous: config.anonymous, authenticate: { authenticate(config, &$0) }) {
            failure, ctx throws(PluginContext.InvalidExitStatus) in
            try ctx.exit(failure.status, body: .json(failure.body), headers: failure.headers)
        }
    }

    /// A failed authentication: Kong's status, JSON body and headers.
    struct Failure {
        var status = 401
        var body: Value
        var headers: HTTPFields

        init(_ message: String, challenge: String?) {
            body = ["message": .string(message)]
            headers = challenge.map { ["WWW-Authenticate": $0] } ?? [:]
        }

        init(errors: Object, challenge: String) {
            body = .object(errors)
            headers = ["WWW-Authenticate": challenge]
        }
    }

    /// Kong's `do_authentication`: nil on success, else the failure.
    func authenticate(_ config: Config, _ ctx: inout PluginContext) -> Failure? {
        let invalid = config.invalidTokenChallenge
        let token: String
        switch Self.tokens(config, ctx.request) {
        case .none: return Failure("Unauthorized", challenge: config.challenge)
        case .several: return Failure("Multiple tokens provided", challenge: invalid)
        case .unrecognizable: return Failure("Unrecognizable token", challenge: invalid)
        case .one(let found): token = found
        }
        let jwt: JWTToken
        do { jwt = try JWTToken(token) } catch { return Failure("Bad token; " + error.rawValue, challenge: invalid) }

        let claimName = config.keyClaimName
        guard let keyValue = jwt.claims[claimName] ?? jwt.header[claimName] else {
            return Failure("No mandatory '\(claimName)' in claims", challenge: invalid)
        }
        if keyValue == .string("") { return Failure("Invalid '\(claimName)' in claims", challenge: invalid) }
        guard let key = keyValue.stringValue, let secret = ctx.db.jwtSecret(key: key) else {
            return Failure("No credentials found for given '\(claimName)'", challenge: invalid)
        }
        let algorithm = secret.row.string("algorithm") ?? "HS256"
        guard jwt.algorithm.rawValue == algorithm else { return Failure("Invalid algorithm", challenge: invalid) }
        guard let verificationKey = verificationKey(secret, jwt.algorithm, base64: config.secretIsBase64) else {
            return Failure("Invalid key/secret", challenge: invalid)
        }
        guard verificationKey.verifies(jwt.signature, of: jwt.signingInput, algorithm: jwt.algorithm) else {
            return Failure("Invalid signature", challenge: invalid)
        }
        let now = ctx.request.startTime.rounded(.down)
        let claimErrors = jwt.registeredClaimErrors(config.claimsToVerify, now: now)
        if !claimErrors.isEmpty { return Failure(errors: claimErrors, challenge: invalid) }
        if jwt.exceedsMaximumExpiration(config.maximumExpiration, now: now) {
            return Failure(errors: ["exp": "exceeds maximum allowed expiration"], challenge: invalid)
        }
        guard let consumer = secret.consumerID.flatMap({ ctx.db.consumer(id: $0) }) else {
            return Failure("Could not find consumer for '\(claimName)=\(key)'", challenge: nil)
        }
        Authentication.setConsumer(&ctx, consumer: consumer, credential: secret, credentialIdentifier: secret.row.string("key"))
        ctx.shared["authenticated_jwt_token"] = token
        return nil
    }

    /// The credential's key for the token's algorithm, parsed once per generation; nil when
    /// it has none or it does not load.
    private func verificationKey(_ secret: CredentialEntity, _ algorithm: JWTAlgorithm, base64: Bool) -> JWTVerificationKey? {
        let text = algorithm.isSymmetric ? secret.row.string("secret") : secret.row.string("rsa_public_key")
        guard let text else { return nil }
        let cacheKey = KeySource(algorithm: algorithm, base64: base64 && algorithm.isSymmetric, text: text)
        if let cached = keys.withLock({ $0[cacheKey] }) { return cached }
        let secretBytes = algorithm.isSymmetric ? (base64 ? JWTToken.base64URL(Array(text.utf8)) : Array(text.utf8)) : nil
        guard let key = JWTVerificationKey(algorithm: algorithm, secret: secretBytes, publicKey: text) else { return nil }
        keys.withLock { $0[cacheKey] = key }
        return key
    }

    /// What `retrieve_tokens` found.
    enum Found: Equatable {
        case none, several, unrecognizable
        case one(String)
    }

    /// Kong's `retrieve_tokens`: distinct non-empty tokens from the query string, cookies and
    /// `Bearer` headers (the first value of each header).
    static func tokens(_ config: Config, _ request: PluginRequest) -> Found {
        var tokens: Set<String> = []
        var flag = false
        for name in config.uriParamNames {
            switch request.queryArgument(name) {
            case .string(let value)? where !value.isEmpty: tokens.insert(value)
            case .flag?: flag = true
            case .multiple(let values)?:
                for value in values {
                    if let value { if !value.isEmpty { tokens.insert(value) } } else { flag = true }
                }
            default: break
            }
        }
        for name in config.cookieNames {
            if let cookie = NginxCookie.value(name, in: request.headers.tableValues("cookie")), !cookie.isEmpty { tokens.insert(cookie) }
        }
        for name in config.headerNames {
            if let value = request.headers.tableValue(name)?.value, let token = bearerToken(value), !token.isEmpty {
                tokens.insert(token)
            }
        }
        switch tokens.count + (flag ? 1 : 0) {
        case 0: return .none
        case 1: return tokens.first.map(Found.one) ?? .unrecognizable
        default: return .several
        }
    }

    /// `\s*[Bb]earer\s+(.+)` searched anywhere in the value: what follows.
    static func bearerToken(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }
        var start = 0
        while start + 6 < bytes.count {
            defer { start += 1 }
            guard bytes[start] | 0x20 == UInt8(ascii: "b"), bytes[(start + 1)..<(start + 6)].elementsEqual("earer".utf8),
                isSpace(bytes[start + 6])
            else { continue }
            var tokenStart = start + 6
            while tokenStart < bytes.count, isSpace(bytes[tokenStart]) { tokenStart += 1 }
            // `\s+` gives back one space when only spaces follow, and `(.+)` needs a character
            // that is not a newline.
            guard tokenStart < bytes.count else {
                return tokenStart - (start + 6) >= 2 ? String(decoding: bytes[(tokenStart - 1)...].prefix { $0 != 0x0A }, as: UTF8.self) : nil
            }
            let rest = bytes[tokenStart...].prefix { $0 != 0x0A }
            return rest.isEmpty ? nil : String(decoding: rest, as: UTF8.self)
        }
        return nil
    }

}
