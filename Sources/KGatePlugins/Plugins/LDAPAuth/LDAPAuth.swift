import Crypto
import KGateConfig
import KGateSchema
import NIOCore
import Synchronization

/// Kong's `ldap-auth` (PRIORITY 1200): `Authorization` (or `Proxy-Authorization`, tried first)
/// `<header_type> base64(user:password)` credentials checked by an LDAP simple bind as
/// `<attribute>=<user>,<base_dn>` (``LDAPClient``: plain, `ldaps` or `start_tls`, certificates
/// verified with `verify_ldap_host`). Each outcome is kept `cache_ttl` seconds per server,
/// base, attribute, user and password (Kong's `kong.cache` with `neg_ttl`), so a refused
/// password is not asked again either.
///
/// An accepted bind authenticates a credential without consumer (`X-Credential-Identifier:
/// <user>`, `X-Anonymous-Consumer` cleared); a refused one, or no credentials, answers 401
/// `Unauthorized` with `WWW-Authenticate: LDAP` (the configured `header_type` otherwise, with
/// `realm`), or continues as the `anonymous` consumer. A server that cannot be reached makes
/// the plugin fail (500), as Kong's `error(err)` does. Connections are kept `keepalive` ms
/// between binds.
///
/// The outcomes are what `GET /cache/{key}` probes: an accepted bind as the credential
/// (`id`, `username`; the password Kong also keeps there is not), a refused one as `false`.
public final class LDAPAuthPlugin: Plugin, NodeCachingPlugin {
    /// The parsed config.
    public struct Config: Sendable {
        var server: LDAPClient.Server
        var baseDN: String
        var attribute: String
        var cacheTTL: Double
        var hideCredentials: Bool
        var timeout: TimeAmount
        var keepalive: TimeAmount
        var anonymous: String?
        var headerType: String
        var wwwAuthenticate: String
    }

    /// `ldap-auth`.
    public static let name = "ldap-auth"
    /// 1200.
    public static let priority = 1200
    /// access.
    public static let phases: PluginPhases = [.access]
    /// Kong's `ldap-auth` config schema.
    public static let schema = Schema.record(
        [
            ("ldap_host", Typedefs.host.isRequired),
            ("ldap_port", Typedefs.port.isRequired.defaulting(389)),
            ("ldaps", Field.boolean.isRequired.defaulting(false)),
            ("start_tls", Field.boolean.isRequired.defaulting(false)),
            ("verify_ldap_host", Field.boolean.isRequired.defaulting(false)),
            ("base_dn", Field.string.isRequired),
            ("attribute", Field.string.isRequired),
            ("cache_ttl", Field.number.isRequired.defaulting(60)),
            ("hide_credentials", Field.boolean.isRequired.defaulting(false)),
            ("timeout", Field.number.defaulting(10000)),
            ("keepalive", Field.number.defaulting(60000)),
            ("anonymous", Field.string),
            ("header_type", Field.string.defaulting("ldap")),
            ("realm", Field.string),
        ],
        entityChecks: [
            .conditional(
                .init(
                    ifField: "ldaps", ifMatch: { $0.eq = true }, thenField: "start_tls", thenMatch: { $0.eq = false },
                    thenErr: "'ldaps' and 'start_tls' cannot be enabled simultaneously"))
        ])

    /// Bind outcomes by cache key: the user an accepted bind authenticated (nil: refused), and
    /// when the outcome expires (seconds since 1970).
    private let outcomes = Mutex<[String: (user: String?, expires: Double)]>([:])
    /// Outcomes kept at most (the oldest half goes when full).
    private static let outcomeLimit = 10000
    /// The LDAP connections, kept alive between binds.
    private let client = LDAPClient()

    public init() {}

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let headerType = config.string("header_type") ?? "ldap"
        // Kong writes the default `ldap` as `LDAP` (GH #3656).
        let scheme = headerType == "ldap" ? "LDAP" : headerType
        let security: LDAPClient.Security =
            config.bool("ldaps") ? .ldaps : config.bool("start_tls") ? .startTLS : .none
        return Config(
            server: LDAPClient.Server(
                host: config.string("ldap_host") ?? "", port: Int(config.number("ldap_port") ?? 389), security: security,
                verify: config.bool("verify_ldap_host")),
            baseDN: config.string("base_dn") ?? "", attribute: config.string("attribute") ?? "",
            cacheTTL: config.number("cache_ttl") ?? 60, hideCredentials: config.bool("hide_credentials"),
            timeout: .milliseconds(Int64(config.number("timeout") ?? 10000)),
            keepalive: .milliseconds(Int64(config.number("keepalive") ?? 60000)), anonymous: config.string("anonymous"),
            headerType: headerType,
            wwwAuthenticate: config.string("realm").map { "\(scheme) realm=\"\($0)\"" } ?? scheme)
    }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        // "Logical OR" with other auth plugins: one of them authenticated already.
        if config.anonymous != nil, ctx.credential != nil { return }
        let proxyAuthorization = ctx.request.header("proxy-authorization")
        let authorization = ctx.request.header("authorization")
        let given = [proxyAuthorization, authorization].compactMap { $0.flatMap { Self.credentials($0, headerType: config.headerType) } }
        try attempt(given[...], config, &ctx, anyHeader: proxyAuthorization != nil || authorization != nil)
    }

    /// Tries the credentials in order (a cached outcome, else a bind), then succeeds or fails.
    private func attempt(
        _ remaining: ArraySlice<(user: String, password: String)>, _ config: Config, _ ctx: inout PluginContext,
        anyHeader: Bool
    ) throws {
        guard anyHeader, let (user, password) = remaining.first else { return try fail(config, &ctx) }
        let key = Self.cacheKey(config, user: user, password: password)
        let now = ctx.request.startTime
        if let outcome = outcomes.withLock({ $0[key].flatMap { $0.expires > now ? $0 : nil } }) {
            if outcome.user != nil { return succeed(config, &ctx, user: user, key: key) }
            return try attempt(remaining.dropFirst(), config, &ctx, anyHeader: true)
        }
        let who = "\(config.attribute)=\(user),\(config.baseDN)"
        let (server, timeout, keepalive, client) = (config.server, config.timeout, config.keepalive, client)
        ctx.wait(forTask: { try await client.bind(server, who: who, password: password, timeout: timeout, keepalive: keepalive) }) {
            [self] ctx, result in
            switch result {
            case .success(let accepted):
                remember(key, user: accepted ? user : nil, until: ctx.request.startTime + config.cacheTTL)
                if accepted { return succeed(config, &ctx, user: user, key: key) }
                try attempt(remaining.dropFirst(), config, &ctx, anyHeader: true)
            case .failure(let error):
                ctx.logger.error("failed to connect to \(server.host):\(server.port): \(error)")
                throw error
            }
        }
    }

    private func succeed(_ config: Config, _ ctx: inout PluginContext, user: String, key: String) {
        if config.hideCredentials {
            ctx.request.clearHeader("authorization")
            ctx.request.clearHeader("proxy-authorization")
        }
        let credential = CredentialEntity(id: key, row: ["id": .string(key), "username": .string(user)])
        Authentication.setConsumer(&ctx, consumer: nil, credential: credential, credentialIdentifier: user)
    }

    private func fail(_ config: Config, _ ctx: inout PluginContext) throws {
        if let anonymous = config.anonymous { return try Authentication.setAnonymous(&ctx, anonymous: anonymous) }
        try Authentication.unauthorized(&ctx, "Unauthorized", wwwAuthenticate: config.wwwAuthenticate)
    }

    private func remember(_ key: String, user: String?, until expires: Double) {
        outcomes.withLock { outcomes in
            if outcomes.count >= Self.outcomeLimit {
                let kept = outcomes.sorted { $0.value.expires > $1.value.expires }.prefix(Self.outcomeLimit / 2)
                outcomes = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
            }
            outcomes[key] = (user, expires)
        }
    }

    public func cachedValue(forKey key: String, now: Double) -> Value? {
        guard let outcome = outcomes.withLock({ $0[key] }), outcome.expires > now else { return nil }
        guard let user = outcome.user else { return .bool(false) }
        return .object(["id": .string(key), "username": .string(user)])
    }

    public func invalidateCached(key: String) { _ = outcomes.withLock { $0.removeValue(forKey: key) } }

    public func purgeCached() { outcomes.withLock { $0 = [:] } }

    /// Kong's cache key: `ldap_auth_cache:` and the hex SHA-256 of the server, base, attribute,
    /// TTL, user and password.
    static func cacheKey(_ config: Config, user: String, password: String) -> String {
        let text =
            "\(config.server.host.lowercased()):\(config.server.port):\(config.baseDN):\(config.attribute):"
            + "\(Int(config.cacheTTL)):\(user):\(password)"
        return "ldap_auth_cache:" + ConfigHash.hex(SHA256.hash(data: Array(text.utf8)))
    }

    /// Kong's `retrieve_credentials`: `<header_type>` (any case) after optional spaces, then
    /// spaces, then base64 of `user:password` (the user up to the first colon, a password of at
    /// least one byte).
    static func credentials(_ header: String, headerType: String) -> (user: String, password: String)? {
        let lower = Array(header.lowercased().utf8)
        let type = Array(headerType.lowercased().utf8)
        var i = 0
        while i < lower.count, isSpace(lower[i]) { i += 1 }
        guard lower[i...].starts(with: type) else { return nil }
        i += type.count
        let afterType = i
        while i < lower.count, isSpace(lower[i]) { i += 1 }
        guard i > afterType else { return nil }
        let encoded = Array(header.utf8)[i...]
        guard let decoded = Base64.decode(encoded), let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
            colon + 1 < decoded.count, !decoded[(colon + 1)...].contains(0x0A)
        else { return nil }
        return (String(decoding: decoded[..<colon], as: UTF8.self), String(decoding: decoded[(colon + 1)...], as: UTF8.self))
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A || c == 0x0B || c == 0x0C }
}
