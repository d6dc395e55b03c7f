import KGateSchema

/// Kong's bundled plugins (`kong/constants.lua` `BUNDLED_PLUGINS`) and what their schemas say
/// about scoping: `no_consumer` / `no_route` / `no_service` and the `protocols` field.
public enum BundledPlugins {
    /// What kgate needs to know about one bundled plugin.
    public struct Info: Sendable {
        public var name: String
        /// The handler's `PRIORITY` (higher runs first).
        public var priority: Int
        /// The schema replaces `consumer` with `typedefs.no_consumer`.
        public var noConsumer: Bool
        /// The schema replaces `route` with `typedefs.no_route`.
        public var noRoute: Bool
        /// The schema replaces `service` with `typedefs.no_service`.
        public var noService: Bool
        /// The plugin schema's `protocols` field.
        public var protocols: Field
        /// Entities declared by the plugin's `daos.lua`, in file order.
        public var daoEntities: [String]
    }

    /// `typedefs.protocols { default = { "http", "https", "tcp", "tls", "grpc", "grpcs" } }`
    /// (ip-restriction).
    static let ipRestrictionProtocols = Typedefs.protocols.with {
        $0.defaultValue = .array(EntityFields.strings(["http", "https", "tcp", "tls", "grpc", "grpcs"]))
    }

    /// All 45 bundled plugins in `kong/constants.lua` order.
    public static let all: [Info] = {
        let http = Typedefs.protocolsHTTP
        let any = Typedefs.protocols
        func p(
            _ name: String, _ priority: Int, _ protocols: Field, noConsumer: Bool = false, noRoute: Bool = false,
            noService: Bool = false, daos: [String] = []
        ) -> Info {
            Info(
                name: name, priority: priority, noConsumer: noConsumer, noRoute: noRoute, noService: noService,
                protocols: protocols, daoEntities: daos)
        }
        return [
            p("jwt", 1450, http, noConsumer: true, daos: ["jwt_secrets"]),
            p("acl", 950, http, noConsumer: true, daos: ["acls"]),
            p("correlation-id", 100001, http),
            p("cors", 2000, http, noConsumer: true),
            p(
                "oauth2", 1400, http, noConsumer: true,
                daos: ["oauth2_credentials", "oauth2_authorization_codes", "oauth2_tokens"]),
            p("tcp-log", 7, any),
            p("udp-log", 8, any),
            p("file-log", 9, any),
            p("http-log", 12, any),
            p("key-auth", 1250, http, noConsumer: true, daos: ["keyauth_credentials"]),
            p("hmac-auth", 1030, http, noConsumer: true, daos: ["hmacauth_credentials"]),
            p("basic-auth", 1100, http, noConsumer: true, daos: ["basicauth_credentials"]),
            p("ip-restriction", 990, ipRestrictionProtocols),
            p("request-transformer", 801, any),
            p("response-transformer", 800, http),
            p("request-size-limiting", 951, http),
            p("rate-limiting", 910, http, daos: ["ratelimiting_metrics"]),
            p("response-ratelimiting", 900, http),
            p("syslog", 4, any),
            p("loggly", 6, any),
            p("datadog", 10, any),
            p("ldap-auth", 1200, http, noConsumer: true),
            p("statsd", 11, any),
            p("bot-detection", 2500, http, noConsumer: true),
            p("aws-lambda", 750, http),
            p("request-termination", 2, http),
            p("prometheus", 13, any),
            p("proxy-cache", 100, any),
            p("session", 1900, any, noConsumer: true, daos: ["sessions", "session_metadatas"]),
            p("acme", 1705, http, noConsumer: true, noRoute: true, noService: true, daos: ["acme_storage"]),
            p("grpc-gateway", 998, any),
            p("grpc-web", 3, any),
            p("pre-function", 1_000_000, any, noConsumer: true),
            p("post-function", -1000, any, noConsumer: true),
            p("azure-functions", 749, any),
            p("zipkin", 100000, any),
            p("opentelemetry", 14, http),
            p("ai-proxy", 770, http),
            p("ai-prompt-decorator", 772, http),
            p("ai-prompt-template", 773, http),
            p("ai-prompt-guard", 771, http),
            p("ai-request-transformer", 777, http, noConsumer: true),
            p("ai-response-transformer", 768, http),
            p("standard-webhooks", 760, http, noConsumer: true),
            p("redirect", 779, http),
        ]
    }()

    /// The 45 bundled plugin names (Kong's default `plugins = bundled`), in `constants.lua` order.
    public static let names: [String] = all.map(\.name)

    private static let byName: [String: Info] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The facts about a bundled plugin, or nil for a name Kong does not bundle.
    public static func info(_ name: String) -> Info? { byName[name] }
}
