import Crypto
import KGateSchema

/// oauth2's `daos.lua`: credentials, authorization codes and tokens.
extension EntitySchemas {
    /// oauth2's `redirect_uris` element validator (LuaSocket parse, host and scheme needed).
    static let redirectURIValidator: Field.Validator = { value in
        guard case .string(let uri) = value else { return nil }
        guard let parsed = ParsedURL(uri), parsed.host != nil, parsed.scheme != nil else {
            return "cannot parse '\(uri)'"
        }
        if parsed.fragment != nil { return "fragment not allowed in '\(uri)'" }
        return nil
    }

    /// oauth2's `oauth2_credentials`; with `hash_secret` the transformation stores the client
    /// secret as a PBKDF2 PHC string.
    public static let oauth2Credentials = Schema(
        name: "oauth2_credentials", endpointKey: "client_id", cacheKey: ["client_id"], workspaceable: true,
        adminAPIName: "oauth2",
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("consumer", EntityFields.foreign("consumers", required: true, onDelete: "cascade")),
            ("name", Field.string.isRequired),
            ("client_id", Field.string.with { $0.unique = true; $0.auto = true }),
            ("client_secret", Field.string.with { $0.auto = true; $0.encrypted = true }),
            ("hash_secret", Field.boolean.with { $0.required = true; $0.defaultValue = false }),
            ("redirect_uris", .array(of: Field.string.with { $0.customValidator = redirectURIValidator })),
            EntityFields.tags,
            (
                "client_type",
                Field.string.with {
                    $0.required = true
                    $0.defaultValue = "confidential"
                    $0.oneOf = ["confidential", "public"]
                }
            ),
        ],
        transformations: [
            Schema.Transformation(input: ["hash_secret"], needs: ["client_secret"]) { entity in
                guard entity["hash_secret"] == true, let secret = entity["client_secret"]?.stringValue else {
                    return entity
                }
                var out = entity
                out["client_secret"] = .string(OAuth2Secret.hash(secret))
                return out
            }
        ])

    /// oauth2's `oauth2_authorization_codes` (not exported, no Admin API).
    public static let oauth2AuthorizationCodes = Schema(
        name: "oauth2_authorization_codes", workspaceable: true, ttl: true, dbExport: false,
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("service", EntityFields.foreign("services", onDelete: "cascade", defaultNull: true)),
            ("credential", EntityFields.foreign("oauth2_credentials", required: true, onDelete: "cascade")),
            ("code", Field.string.with { $0.unique = true; $0.auto = true }),
            ("authenticated_userid", .string),
            ("scope", .string),
            ("challenge", .string),
            ("challenge_method", Field.string.with { $0.oneOf = ["S256"] }),
            ("plugin", EntityFields.foreign("plugins", onDelete: "cascade", defaultNull: true)),
        ])

    /// oauth2's `oauth2_tokens`.
    public static let oauth2Tokens = Schema(
        name: "oauth2_tokens", endpointKey: "access_token", cacheKey: ["access_token"], workspaceable: true,
        ttl: true,
        fields: [
            EntityFields.id,
            EntityFields.createdAt,
            ("service", EntityFields.foreign("services", onDelete: "cascade", defaultNull: true)),
            ("credential", EntityFields.foreign("oauth2_credentials", required: true, onDelete: "cascade")),
            (
                "token_type",
                Field.string.with {
                    $0.required = true
                    $0.oneOf = ["bearer"]
                    $0.defaultValue = "bearer"
                }
            ),
            ("expires_in", Field.integer.isRequired),
            ("access_token", Field.string.with { $0.unique = true; $0.auto = true }),
            ("refresh_token", Field.string.with { $0.unique = true }),
            ("authenticated_userid", .string),
            ("scope", .string),
        ])
}

/// oauth2's `secret.lua` with its only enabled algorithm: PBKDF2-SHA512, 10000 iterations,
/// 32-byte output, 16-byte random salt, as `$pbkdf2-sha512$i=10000,l=32$<salt>$<hash>`
/// (unpadded base64).
public enum OAuth2Secret {
    /// Hashes a client secret; `salt` is random unless given (tests).
    public static func hash(_ secret: String, salt: [UInt8]? = nil) -> String {
        var rng = SystemRandomNumberGenerator()
        let salt = salt ?? (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let derived = pbkdf2SHA512(password: Array(secret.utf8), salt: salt, iterations: 10000, length: 32)
        return "$pbkdf2-sha512$i=10000,l=32$\(base64(salt))$\(base64(derived))"
    }

    /// RFC 8018 PBKDF2 with HMAC-SHA512.
    static func pbkdf2SHA512(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var output: [UInt8] = []
        var block: UInt32 = 1
        while output.count < length {
            var message = salt
            message += [UInt8(block >> 24), UInt8((block >> 16) & 0xFF), UInt8((block >> 8) & 0xFF), UInt8(block & 0xFF)]
            var u = Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
            var t = u
            for _ in 1..<max(iterations, 1) {
                u = Array(HMAC<SHA512>.authenticationCode(for: u, using: key))
                for i in t.indices { t[i] ^= u[i] }
            }
            output += t
            block += 1
        }
        return Array(output.prefix(length))
    }

    /// Standard base64 without padding (`ngx.encode_base64(s, true)`).
    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i])
            let b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(table[b0 >> 2])
            out.append(table[((b0 & 3) << 4) | (b1 >> 4)])
            if i + 1 < bytes.count { out.append(table[((b1 & 0xF) << 2) | (b2 >> 6)]) }
            if i + 2 < bytes.count { out.append(table[b2 & 0x3F]) }
            i += 3
        }
        return out
    }
}
