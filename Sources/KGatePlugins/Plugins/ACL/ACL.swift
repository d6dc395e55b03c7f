import KGateSchema

/// Kong's `acl` (PRIORITY 950): allows or denies the authenticated consumer by its `acls`
/// groups (or by the groups an auth plugin put in `ctx.shared["authenticated_groups"]`).
///
/// Blocked requests answer 403 `You cannot consume this service`; requests without a consumer
/// answer 401 `Unauthorized` (403 when a credential without consumer is set). Allowed requests
/// get `X-Consumer-Groups` (or `X-Authenticated-Groups`) unless `hide_groups_header`.
public struct ACLPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        /// True for a deny list (`deny` has at least one group).
        var isDeny: Bool
        var groups: Set<String>
        var hideGroupsHeader: Bool
        var alwaysUseAuthenticatedGroups: Bool
    }

    /// `acl`.
    public static let name = "acl"
    /// 950.
    public static let priority = 950
    /// access.
    public static let phases: PluginPhases = [.access]

    /// The key of `ctx.shared` holding groups set by an auth plugin (an array of strings).
    public static let authenticatedGroupsKey = "authenticated_groups"

    /// Makes the plugin.
    public init() {}

    /// Parses the config.
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let deny = config.strings("deny") ?? []
        return Config(
            isDeny: !deny.isEmpty, groups: Set(deny.isEmpty ? config.strings("allow") ?? [] : deny),
            hideGroupsHeader: config.bool("hide_groups_header"),
            alwaysUseAuthenticatedGroups: config.bool("always_use_authenticated_groups"))
    }

    /// Allows or denies.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        let blocked = "You cannot consume this service"
        var consumerID = ctx.consumerID
        let groups: [String]
        if consumerID == nil {
            guard let authenticated = authenticatedGroups(ctx) else {
                if ctx.credential != nil { try ctx.error(403, message: blocked) } else { try ctx.error(401) }
                return
            }
            groups = authenticated
        } else if ctx.credential == nil || config.alwaysUseAuthenticatedGroups,
            let authenticated = authenticatedGroups(ctx)
        {
            consumerID = nil
            groups = authenticated
        } else {
            let own = ctx.db.groups(ofConsumer: consumerID!)
            if own.isEmpty, !config.isDeny {
                if ctx.credential != nil { try ctx.error(403, message: blocked) } else { try ctx.error(401) }
                return
            }
            groups = own
        }
        let inGroup = groups.contains { config.groups.contains($0) }
        if config.isDeny == inGroup {
            try ctx.error(403, message: blocked)
            return
        }
        if !config.hideGroupsHeader {
            let header = consumerID != nil ? PluginConstants.Headers.consumerGroups : PluginConstants.Headers.authenticatedGroups
            ctx.request.setHeader(header, groups.joined(separator: ", "))
        }
    }

    /// `ctx.shared["authenticated_groups"]`, when an auth plugin set it.
    private func authenticatedGroups(_ ctx: PluginContext) -> [String]? {
        ctx.shared[Self.authenticatedGroupsKey] as? [String]
    }
}
