import Crypto
import KGateSchema

/// The entities of the bundled plugins' `daos.lua` files.
extension EntitySchemas {
    private static let consumer = EntityFields.foreign("consumers", required: true, onDelete: "cascade")

    /// key-auth's `keyauth_credentials`.
    public static let keyauthCredentials = Schema(
        name: "keyauth_credentials", endpointKey: "key", cacheKey: ["key"], workspaceable: true, ttl: true,
        adminAPIName: "key-auths", adminAPINestedName: "key-auth",
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("consumer", consumer),
            ("key", Field.string.with { $0.unique = true; $0.auto = true }),
            EntityFields.tags,
        ])

    /// basic-auth's `basicauth_credentials`; the password is stored as hex SHA-1 of
    /// `password .. consumer.id` by the transformation.
    public static let basicauthCredentials = Schema(
        name: "basicauth_credentials", endpointKey: "username", cacheKey: ["username"], workspaceable: true,
        adminAPIName: "basic-auths", adminAPINestedName: "basic-auth",
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("consumer", consumer),
            ("username", Field.string.with { $0.required = true; $0.unique = true }),
            ("password", Field.string.with { $0.required = true; $0.encrypted = true }),
            EntityFields.tags,
        ],
        transformations: [
            Schema.Transformation(input: ["password"], needs: ["consumer.id"]) { entity in
                guard let consumerID = entity["consumer"]?["id"]?.stringValue else { return entity }
                var out = entity
                out["password"] = .string(basicAuthHash(consumerID: consumerID, password: entity["password"]?.stringValue))
                return out
            }
        ])

    /// basic-auth's `crypto.hash`: hex SHA-1 of the password salted with the consumer id.
    public static func basicAuthHash(consumerID: String, password: String?) -> String {
        basicAuthHash(consumerID: consumerID, password: Array((password ?? "").utf8))
    }

    /// basic-auth's `crypto.hash` of a password as raw bytes (what a request's `Authorization`
    /// decodes to, UTF-8 or not: Lua strings are bytes).
    public static func basicAuthHash(consumerID: String, password: [UInt8]) -> String {
        ConfigHash.hex(Insecure.SHA1.hash(data: password + Array(consumerID.utf8)))
    }

    /// hmac-auth's `hmacauth_credentials`.
    public static let hmacauthCredentials = Schema(
        name: "hmacauth_credentials", endpointKey: "username", cacheKey: ["username"], workspaceable: true,
        adminAPIName: "hmac-auths", adminAPINestedName: "hmac-auth",
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("consumer", consumer),
            ("username", Field.string.with { $0.required = true; $0.unique = true }),
            ("secret", Field.string.with { $0.auto = true }),
            EntityFields.tags,
        ])

    /// jwt's `jwt_secrets`; RS*/PS*/EdDSA need a loadable `rsa_public_key` (`invalid key`).
    public static let jwtSecrets = Schema(
        name: "jwt_secrets", endpointKey: "key", cacheKey: ["key"], workspaceable: true,
        adminAPIName: "jwts", adminAPINestedName: "jwt",
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("consumer", consumer),
            ("key", Field.string.with { $0.unique = true; $0.auto = true }),
            ("secret", Field.string.with { $0.auto = true }),
            ("rsa_public_key", .string),
            (
                "algorithm",
                Field.string.with {
                    $0.defaultValue = "HS256"
                    $0.oneOf = EntityFields.strings([
                        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
                        "PS384", "PS512", "EdDSA",
                    ])
                }
            ),
            EntityFields.tags,
        ],
        entityChecks: [
            EntityFields.conditional(
                "algorithm",
                {
                    $0.matchAny = .init(
                        ["^RS256$", "^RS384$", "^RS512$", "^PS256$", "^PS384$", "^PS512$", "^EdDSA$"], err: "")
                },
                then: "rsa_public_key", required: true,
                { $0.customValidator = { value in
                    guard case .string(let key) = value else { return nil }
                    return PEM.loadKeyError(key) == nil ? nil : "invalid key"
                } })
        ])

    /// acl's `acls`.
    public static let acls = Schema(
        name: "acls", cacheKey: ["consumer", "group"], workspaceable: true,
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("consumer", consumer),
            ("group", Field.string.isRequired),
            EntityFields.tags,
        ])

    /// acme's `acme_storage`.
    public static let acmeStorage = Schema(
        name: "acme_storage", cacheKey: ["key"], ttl: true,
        fields: [
            EntityFields.id,
            ("key", Field.string.with { $0.required = true; $0.unique = true; $0.auto = true }),
            ("value", Field.string.with { $0.required = true; $0.auto = true }),
            EntityFields.createdAt,
        ])

    /// session's `sessions`.
    public static let sessions = Schema(
        name: "sessions", endpointKey: "session_id", cacheKey: ["session_id"], ttl: true, dbExport: false,
        fields: [
            EntityFields.id,
            ("session_id", Field.string.with { $0.unique = true; $0.required = true }),
            ("expires", .integer),
            ("data", .string),
            EntityFields.createdAt,
        ])

    /// session's `session_metadatas`.
    public static let sessionMetadatas = Schema(
        name: "session_metadatas", dbExport: false,
        fields: [
            EntityFields.id,
            ("session", EntityFields.foreign("sessions", required: true, onDelete: "cascade")),
            ("sid", .string),
            ("audience", .string),
            ("subject", .string),
            EntityFields.createdAt,
        ])

    /// rate-limiting's `ratelimiting_metrics` (composite primary key, not exported).
    public static let ratelimitingMetrics = Schema(
        name: "ratelimiting_metrics", primaryKey: ["identifier", "period", "period_date", "service_id", "route_id"],
        ttl: true, dbExport: false,
        fields: [
            ("identifier", Field.string.with { $0.required = true; $0.lenMin = 0 }),
            ("period", Field.string.isRequired),
            ("period_date", Field.integer.with { $0.timestamp = true; $0.required = true }),
            ("service_id", Field.string.with { $0.uuid = true; $0.required = true }),
            ("route_id", Field.string.with { $0.uuid = true; $0.required = true }),
            ("value", Field.integer.isRequired),
        ])
}
