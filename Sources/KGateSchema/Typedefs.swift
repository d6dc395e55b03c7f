/// Kong's reusable field types (`kong/db/schema/typedefs.lua`).
///
/// Each is a `Field` value; schemas copy and adjust them (`Typedefs.port.with { $0.defaultValue = 80 }`).
/// Validators that need code (hosts, IPs, paths, URLs) live in `Typedefs+Validators.swift`.
/// The plugin helpers `queue`, `lua_code` and `propagation` are in `Typedefs+Plugins.swift`.
/// Not here: `certificate`, `key`, `pem`, `jwk` (need OpenSSL-level parsing).
public enum Typedefs {
    public static let httpMethod = Field.string.with { $0.match = "^%u+$" }

    public static let protocolNames: [String] = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"]
    public static let httpProtocolNames: [String] = ["grpc", "grpcs", "http", "https"]

    public static let `protocol` = Field.string.with { $0.oneOf = protocolNames.map(Value.string) }

    public static let protocols = Field.set(of: `protocol`).with {
        $0.required = true
        $0.defaultValue = .array(httpProtocolNames.map(Value.string))
    }

    public static let protocolsHTTP = Field.set(of: Field.string.with { $0.oneOf = httpProtocolNames.map(Value.string) }).with {
        $0.required = true
        $0.defaultValue = .array(httpProtocolNames.map(Value.string))
    }

    public static let host = Field.string.with { $0.customValidator = TypedefValidators.host }
    /// Plugins' `redis.host` (same rules as `host`).
    public static let redisHost = host
    public static let hostWithOptionalPort = Field.string.with { $0.customValidator = TypedefValidators.hostWithOptionalPort }
    public static let wildcardHost = Field.string.with { $0.customValidator = TypedefValidators.wildcardHost }
    public static let sni = Field.string.with { $0.customValidator = TypedefValidators.sni }
    /// Plugins' `redis.server_name` (same rules as `sni`).
    public static let redisServerName = sni
    public static let ip = Field.string.with { $0.customValidator = TypedefValidators.ip }
    public static let ipOrCIDR = Field.string.with { $0.customValidator = TypedefValidators.ipOrCIDR }
    /// Despite the name, plain IPv4 addresses are accepted too (as in Kong).
    public static let cidrV4 = Field.string.with { $0.customValidator = TypedefValidators.cidrV4 }
    /// Kong's deprecated alias of `cidr_v4`.
    public static let cidr = cidrV4
    public static let port = Field.integer.with { $0.between = 0...65535 }
    public static let timeout = Field.integer.with { $0.between = 0...2_147_483_646 }
    public static let path = Field.string.with {
        $0.startsWith = "/"
        $0.matchNone = [.init("//", "must not have empty segments")]
        $0.customValidator = TypedefValidators.path
    }
    public static let url = Field.string.with { $0.customValidator = TypedefValidators.url }
    public static let headerName = Field.string.with { $0.customValidator = TypedefValidators.headerName }
    public static let cookieName = Field.string.with { $0.customValidator = TypedefValidators.cookieName }
    public static let uuid = Field.string.with {
        $0.uuid = true
        $0.auto = true
    }
    public static let autoTimestampS = Field.integer.with {
        $0.timestamp = true
        $0.auto = true
    }
    public static let autoTimestampMS = Field.number.with {
        $0.timestamp = true
        $0.auto = true
    }
    public static let noRoute = Field.foreign("routes").with { $0.eq = .null }
    public static let noService = Field.foreign("services").with { $0.eq = .null }
    public static let noConsumer = Field.foreign("consumers").with { $0.eq = .null }
    public static let name = Field.string.with {
        $0.unique = true
        $0.customValidator = TypedefValidators.name
    }
    public static let utf8Name = Field.string.with {
        $0.unique = true
        $0.customValidator = TypedefValidators.utf8Name
    }
    public static let tag = Field.string.with {
        $0.required = true
        $0.customValidator = TypedefValidators.tag
    }
    public static let tags = Field.set(of: tag)
    public static let sourceOrDestination = Schema.record(
        [("ip", ipOrCIDR), ("port", port)], entityChecks: [.atLeastOneOf(["ip", "port"])])
    public static let sources = Field.set(of: .record(sourceOrDestination))
    public static let destinations = Field.set(of: .record(sourceOrDestination))
    public static let noSources = sources.with { $0.eq = .null }
    public static let noDestinations = destinations.with { $0.eq = .null }
    public static let methods = Field.set(of: httpMethod)
    public static let noMethods = methods.with { $0.eq = .null }
    public static let hosts = Field.array(of: Field.string.with {
        $0.matchAll = [.init("^[^*]*%*?[^*]*$", "invalid wildcard: must have at most one wildcard")]
        $0.matchAny = .init(["^%*%.", "%.%*$", "^[^*]*$"], err: "invalid wildcard: must be placed at leftmost or rightmost label")
        $0.customValidator = TypedefValidators.hostsElement
    })
    public static let noHosts = hosts.with { $0.eq = .null }
    public static let routerPath = Field.string.with {
        $0.matchAny = .init(["^/", "^~/"], err: "should start with: / (fixed path) or ~/ (regex path)")
        $0.matchNone = [.init("//", "must not have empty segments")]
        $0.customValidator = TypedefValidators.routerPath
    }
    public static let routerPaths = Field.array(of: routerPath)
    public static let noPaths = routerPaths.with { $0.eq = .null }
    public static let headers = Field.map(keys: headerName, values: .array(of: .string))
    public static let noHeaders = headers.with { $0.eq = .null }
    public static let capability = Field.string
    public static let semanticVersion = Field.string.with {
        $0.matchAny = .init(["^%d+[%.%d]*$", "^%d+[%.%d]*%-?.*$"], err: "invalid version number: must be in format of X.Y.Z")
        $0.matchNone = [.init("%.%.", "must not have empty version segments")]
    }
    public static let ttl = Field.number.with { $0.between = 0...100_000_000 }
}
