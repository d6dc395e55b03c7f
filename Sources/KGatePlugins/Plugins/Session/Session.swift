import KGateSchema

/// Kong's `session` (PRIORITY 1900) with cookie storage: a consumer authenticated by another
/// plugin gets an encrypted session cookie, which then authenticates its later requests.
///
/// - `access` opens the session cookie (or, with `remember`, the remember cookie), answers an
///   empty 200 that clears the cookies to a logout (a `logout_methods` request with
///   `logout_query_arg`, or with `read_body_for_logout` a body with `logout_post_arg`), renews
///   the cookie when due, and authenticates the session's consumer, credential and groups as
///   Kong's auth plugins do (`X-Consumer-*`, `X-Credential-Identifier`,
///   `X-Authenticated-Groups`).
/// - `header_filter` saves a new session when a credential authenticated the request and the
///   session does not already hold that consumer and credential.
///
/// Cookies are lua-resty-session 4's (``SessionCookie``): Kong and kgate nodes configured with
/// the same `secret` share sessions. `storage: kong` needs Kong's database: the schema refuses it.
public final class SessionPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var settings: SessionSettings
        var logoutMethods: [String]
        var logoutQueryArg: String?
        var logoutPostArg: String?
        var readBodyForLogout: Bool
    }

    /// `session`.
    public static let name = "session"
    /// 1900.
    public static let priority = 1900
    /// access, header_filter.
    public static let phases: PluginPhases = [.access, .headerFilter]

    /// Where access leaves the session for header_filter (Kong's
    /// `kong.ctx.shared.authenticated_session`).
    static let sharedKey = "authenticated_session"

    /// Makes the plugin.
    public init() {}

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        func seconds(_ key: String, _ fallback: Int) -> Int { config.number(key).map { Int($0) } ?? fallback }
        var attributes = ""
        if let domain = config.string("cookie_domain"), !domain.isEmpty, domain != "localhost" {
            attributes += "; Domain=" + domain
        }
        let sameSite = config.string("cookie_same_site") ?? "Strict"
        attributes += "; Path=" + (config.string("cookie_path") ?? "/") + "; SameSite=" + sameSite
        if config.bool("cookie_secure", default: true) || sameSite == "None" { attributes += "; Secure" }
        if config.bool("cookie_http_only", default: true) { attributes += "; HttpOnly" }
        let settings = SessionSettings(
            secret: SessionCookie.Secret(config.string("secret") ?? Self.defaultSecret),
            audience: config.string("audience") ?? "default",
            timeouts: .init(
                idling: seconds("idling_timeout", 900), rolling: seconds("rolling_timeout", 3600),
                absolute: seconds("absolute_timeout", 86400)),
            rememberTimeouts: .init(
                idling: 0, rolling: seconds("remember_rolling_timeout", 604_800),
                absolute: seconds("remember_absolute_timeout", 2_592_000)),
            cookieName: config.string("cookie_name") ?? "session", attributes: attributes,
            remember: config.bool("remember"), rememberCookieName: config.string("remember_cookie_name") ?? "remember",
            requestHeaders: config.strings("request_headers") ?? [], responseHeaders: config.strings("response_headers") ?? [])
        return Config(
            settings: settings, logoutMethods: config.strings("logout_methods") ?? ["POST", "DELETE"],
            logoutQueryArg: config.string("logout_query_arg"), logoutPostArg: config.string("logout_post_arg"),
            readBodyForLogout: config.bool("read_body_for_logout"))
    }

    /// The body is read for `read_body_for_logout` (of the methods that may log out).
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { config.readBodyForLogout ? .always : .never }

    /// Authenticates by the session cookie, or logs out.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let now = Int(ctx.request.startTime.rounded(.down))
        let cookies = ctx.request.headerValues("cookie")
        var session = SessionState(settings: config.settings, now: now)
        if let failure = session.open(cookies: cookies, now: now) {
            return ctx.logger.debug("session not present (\(failure))")
        }
        if Self.isLogout(config, ctx) {
            ctx.logger.debug("session logging out")
            session.logout(cookies: cookies, now: now)
            Self.sendCookies(session, &ctx)
            return try ctx.exit(200)
        }
        guard let consumerID = session.consumerID, let consumer = ctx.db.consumer(id: consumerID) else {
            ctx.logger.debug("failed to find consumer, destroying session")
            session.logout(cookies: cookies, now: now)
            return Self.sendCookies(session, &ctx)
        }
        session.refresh(now: now)
        Self.sendCookies(session, &ctx)
        for (name, value) in session.headers(config.settings.requestHeaders) { ctx.request.setHeader(name, value) }
        for (name, value) in session.headers(config.settings.responseHeaders) { ctx.response.setHeader(name, value) }
        ctx.shared[Self.sharedKey] = session

        let credentialID = session.credentialID
        if let groups = session.groups {
            ctx.request.setHeader(PluginConstants.Headers.authenticatedGroups, groups.joined(separator: ", "))
            ctx.shared[ACLPlugin.authenticatedGroupsKey] = groups
        } else {
            ctx.request.clearHeader(PluginConstants.Headers.authenticatedGroups)
        }
        let credential = credentialID.map {
            CredentialEntity(id: $0, row: ["id": .string($0), "consumer": .object(["id": .string(consumer.id)])])
        }
        Authentication.setConsumer(&ctx, consumer: consumer, credential: credential, credentialIdentifier: credentialID)
    }

    /// Saves a session for a consumer a credential authenticated.
    public func headerFilter(_ config: Config, _ ctx: inout PluginContext) throws {
        guard let credential = ctx.credential else { return }
        let consumer = ctx.consumer
        let opened = ctx.shared[Self.sharedKey] as? SessionState
        if let opened, opened.consumerID == consumer?.id, opened.credentialID == credential.id { return }
        guard let consumer else { return }
        let now = Int(ctx.request.startTime.rounded(.down))
        let cookies = ctx.request.headerValues("cookie")
        var session: SessionState
        if let opened {
            session = opened
        } else {
            session = SessionState(settings: config.settings, now: now)
            _ = session.open(cookies: cookies, now: now)
        }
        var data: [Value] = [.string(consumer.id), .string(credential.id ?? consumer.id)]
        if let groups = ctx.shared[ACLPlugin.authenticatedGroupsKey] as? [String] { data.append(.array(groups.map { .string($0) })) }
        session.set(data: data, subject: consumer.username ?? consumer.customID ?? consumer.id)
        session.save(cookies: cookies, now: now)
        Self.sendCookies(session, &ctx)
        for (name, value) in session.headers(config.settings.responseHeaders) { ctx.response.setHeader(name, value) }
    }

    /// Kong's `logout`: a logout method with the query argument, or (when the body is read) a
    /// body argument that is not false.
    static func isLogout(_ config: Config, _ ctx: PluginContext) -> Bool {
        let method = ctx.request.method
        guard config.logoutMethods.contains(method) else { return false }
        if let arg = config.logoutQueryArg, ctx.request.queryArgument(arg) != nil { return true }
        guard config.readBodyForLogout, let arg = config.logoutPostArg, ["DELETE", "PATCH", "POST", "PUT"].contains(method),
            case .success(let body) = ctx.request.decodedBody(), let value = body.argument(arg)
        else { return false }
        if case .other = value, case .json(let json) = body, json[arg] == .bool(false) || json[arg] == .null { return false }
        return true
    }

    /// Sends the session's cookies: each replaces a `Set-Cookie` of the same name already on
    /// the response (lua-resty-session's cookie handling), or is added.
    static func sendCookies(_ session: SessionState, _ ctx: inout PluginContext) {
        for (name, line) in session.setCookies {
            ctx.response.replaceOrAddSetCookie(named: name, line)
        }
    }
}
