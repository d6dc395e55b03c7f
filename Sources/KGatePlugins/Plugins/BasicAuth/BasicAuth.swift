import KGateConfig
import KGateSchema

/// Kong's `basic-auth` (PRIORITY 1100): `Authorization: Basic` (or `Proxy-Authorization`)
/// credentials checked against `basicauth_credentials`, whose passwords are stored as Kong's
/// `_transform` leaves them: hex SHA-1 of `password .. consumer.id`.
///
/// Failures answer 401 `Unauthorized` with `WWW-Authenticate: Basic realm="<realm>"`.
public struct BasicAuthPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var anonymous: String?
        var hideCredentials: Bool
        var wwwAuthenticate: String
    }

    /// `basic-auth`.
    public static let name = "basic-auth"
    /// 1100.
    public static let priority = 1100
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Makes the plugin.
    public init() {}

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            anonymous: config.string("anonymous"), hideCredentials: config.bool("hide_credentials"),
            wwwAuthenticate: "Basic realm=\"\(config.string("realm") ?? "service")\"")
    }

    /// Authenticates.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        try Authentication.run(&ctx, anonymous: config.anonymous, authenticate: { authenticate(config, &$0) ? nil : () }) {
            _, ctx throws(PluginContext.InvalidExitStatus) in
            try Authentication.unauthorized(&ctx, "Unauthorized", wwwAuthenticate: config.wwwAuthenticate)
        }
    }

    /// Kong's `do_authentication`.
    private func authenticate(_ config: Config, _ ctx: inout PluginContext) -> Bool {
        let authorization = ctx.request.header("authorization")
        let proxyAuthorization = ctx.request.header("proxy-authorization")
        if authorization == nil, proxyAuthorization == nil { return false }

        var credential: CredentialEntity?
        var given = Self.retrieve(proxyAuthorization)
        // `retrieve_credentials` returns before hiding the header when its format is unknown.
        if config.hideCredentials, given != .unrecognized { ctx.request.clearHeader("proxy-authorization") }
        if case .credentials(let username, _) = given { credential = Self.credential(username, ctx) }
        if credential == nil {
            given = Self.retrieve(authorization)
            if config.hideCredentials, given != .unrecognized { ctx.request.clearHeader("authorization") }
            guard case .credentials(let username, _) = given else { return false }
            credential = Self.credential(username, ctx)
        }
        guard let credential, case .credentials(_, let password) = given,
            let consumerID = credential.consumerID,
            credential.row.string("password") == EntitySchemas.basicAuthHash(consumerID: consumerID, password: password)
        else { return false }
        Authentication.setConsumer(
            &ctx, consumer: ctx.db.consumer(id: consumerID), credential: credential,
            credentialIdentifier: credential.row.string("username"))
        return true
    }

    /// Kong's `select_by_username`, which compares bytes: a name that is not UTF-8 matches no
    /// credential, and a canonically equivalent spelling (which Swift's `==` accepts) is not the name.
    private static func credential(_ username: [UInt8], _ ctx: PluginContext) -> CredentialEntity? {
        guard let name = String(validating: username, as: UTF8.self),
            let credential = ctx.db.basicAuthCredential(username: name),
            credential.row.string("username")?.utf8.elementsEqual(username) == true
        else { return nil }
        return credential
    }

    /// What Kong's `retrieve_credentials` finds in a header.
    enum Retrieved: Equatable {
        /// No header, no `[Bb]asic`, or not base64.
        case none
        /// Base64 that does not decode to `user:password` ("header has unrecognized format").
        case unrecognized
        /// A user and a password, as the bytes the header decodes to.
        case credentials(username: [UInt8], password: [UInt8])
    }

    /// Kong's `retrieve_credentials`: after the first `[Bb]asic` and spaces (`\s*[Bb]asic\s*(.+)`),
    /// base64 as `ngx.decode_base64` reads it, then `([^:]+):(.*)` unanchored: leading colons
    /// are skipped, the user runs to the next colon, the password to the end of the line.
    static func retrieve(_ header: String?) -> Retrieved {
        guard let header else { return .none }
        let bytes = Array(header.utf8)
        var start: Int?
        var i = 0
        while i + 5 <= bytes.count {
            if bytes[i] == UInt8(ascii: "B") || bytes[i] == UInt8(ascii: "b"),
                bytes[(i + 1)..<(i + 5)].elementsEqual("asic".utf8)
            {
                start = i + 5
                break
            }
            i += 1
        }
        guard var s = start else { return .none }
        // `\s*(.+)`: skip spaces but leave at least one character to `.+`.
        while s < bytes.count - 1, isSpace(bytes[s]) { s += 1 }
        let rest = bytes[s...].prefix { $0 != 0x0A }
        guard !rest.isEmpty, let decoded = Base64.decode(rest) else { return .none }
        let colon = UInt8(ascii: ":")
        guard let user = decoded.firstIndex(where: { $0 != colon }), let end = decoded[user...].firstIndex(of: colon)
        else { return .unrecognized }
        let password = decoded[(end + 1)...].prefix { $0 != 0x0A }
        return .credentials(username: Array(decoded[user..<end]), password: Array(password))
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C }
}
