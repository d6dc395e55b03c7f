import KGateSchema

/// Kong's `ip-restriction` (PRIORITY 990): allows or denies the client address (after
/// `real_ip_header` / `trusted_ips`) by IPv4 / IPv6 addresses and CIDR ranges; the deny list
/// wins.
///
/// Rejections answer `status` (403) with `message` (`IP address not allowed: <ip>`) as
/// Kong's error page.
public struct IPRestrictionPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var allow: [CIDR]
        var deny: [CIDR]
        var status: Int
        var message: String?

        /// The status a refused client gets (`status`, 403 by default).
        public var exitStatus: Int { status }

        /// What a refused client is told and the log says (`message`, else Kong's default).
        public func rejection(of address: String) -> String {
            message ?? "IP address not allowed: \(address)"
        }

        /// Whether `address` passes: not denied, and allowed when there is an allow list.
        public func allows(_ address: IPAddress) -> Bool {
            if deny.contains(where: { $0.contains(address) }) { return false }
            return allow.isEmpty || allow.contains { $0.contains(address) }
        }
    }

    /// `ip-restriction`.
    public static let name = "ip-restriction"
    /// 990.
    public static let priority = 990
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Makes the plugin.
    public init() {}

    /// Parses the config (the schema already checked every entry).
    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        Config(
            allow: (config.strings("allow") ?? []).compactMap(CIDR.init),
            deny: (config.strings("deny") ?? []).compactMap(CIDR.init),
            status: config.number("status").map { Int($0) } ?? 403,
            message: config.string("message"))
    }

    /// Allows or rejects.
    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard let address = IPAddress(ctx.request.forwardedIP) else {
            try ctx.error(403, message: "Cannot identify the client IP address, unix domain sockets are not supported.")
            return
        }
        if !config.allows(address) { try reject(config, &ctx) }
    }

    /// `status` outside 400-599 fails the plugin (500), as `kong.response.error` raises in Kong.
    private func reject(_ config: Config, _ ctx: inout PluginContext) throws {
        let message = config.rejection(of: ctx.request.forwardedIP)
        ctx.logger.warning("\(message)")
        try ctx.error(config.status, message: message)
    }
}
