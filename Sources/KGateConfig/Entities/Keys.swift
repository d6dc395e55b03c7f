import Crypto
import KGateSchema

extension EntitySchemas {
    /// Kong's `KEY_FORMATS` (built from a Lua set, so Kong's own order is unspecified).
    static let keyFormats = ["jwk", "pem"]

    /// Kong's `typedefs.pem`: a private and/or public PEM key pair.
    static let pemRecord = Field.record(
        Schema.record(
            [
                ("private_key", Field.string.with { $0.referenceable = true; $0.encrypted = true }),
                ("public_key", Field.string.with { $0.referenceable = true }),
            ], entityChecks: [.atLeastOneOf(["private_key", "public_key"])])
    ).with { $0.customValidator = pemKeysValidator }

    /// `validate_pem_keys` (`typedefs.lua`).
    static let pemKeysValidator: Field.Validator = { value in
        let privateKey = value["private_key"]?.stringValue
        let publicKey = value["public_key"]?.stringValue
        if [privateKey, publicKey].contains(where: { $0.map(VaultReference.isReference) == true }) { return nil }
        var publicIdentity: KeyIdentity?? = nil
        var privateIdentity: KeyIdentity?? = nil
        if let publicKey {
            guard let loaded = KeyIdentity.load(publicKey, allowPrivate: false, allowPublic: true) else {
                return "could not load public key"
            }
            publicIdentity = loaded
        }
        if let privateKey {
            guard let loaded = KeyIdentity.load(privateKey, allowPrivate: true, allowPublic: false) else {
                return "could not load private key" + "pkey.new:load_key: " + PEM.decoderError
            }
            privateIdentity = loaded
        }
        if case .some(.some(let pub)) = publicIdentity, case .some(.some(let priv)) = privateIdentity, pub != priv {
            return "public key does not match private key"
        }
        return nil
    }

    /// Kong's `keys` entity (`kong/db/schema/entities/keys.lua`).
    public static let keys = Schema(
        name: "keys",
        endpointKey: "name",
        cacheKey: ["kid", "set"],
        workspaceable: true,
        fields: [
            EntityFields.id,
            ("set", EntityFields.foreign("key_sets", onDelete: "cascade")),
            ("name", Field.string.with { $0.unique = true }),
            ("kid", Field.string.isRequired),
            ("jwk", Field.string.with { $0.referenceable = true; $0.encrypted = true }),
            ("pem", pemRecord),
            EntityFields.tags,
            EntityFields.createdAt,
            EntityFields.updatedAt,
        ],
        entityChecks: [
            .mutuallyExclusive(keyFormats),
            .atLeastOneOf(keyFormats),
            .custom(.init(fieldSources: ["jwk", "pem", "kid"], fn: keysCheck)),
        ])

    /// The keys `custom_entity_check`: the JWK must decode, carry the same `kid`, load as a key
    /// and fit `typedefs.jwk`; a `pem` record needs one of its keys.
    static let keysCheck: @Sendable (Object) -> String? = { entity in
        if case .string(let jwk)? = entity["jwk"] {
            if VaultReference.isReference(jwk) { return nil }
            guard let decoded = JWK.decode(jwk) else { return "could not json decode jwk string" }
            if decoded["kid"] != entity["kid"] { return "kid in jwk.kid must be equal to keys.kid" }
            if JWK.loadError(jwk) != nil { return "could not load JWK, likely not a valid key" }
            if let err = JWK.schemaError(decoded) { return err }
        }
        if case .object(let pem)? = entity["pem"], EntityFields.isNull(pem["private_key"]),
            EntityFields.isNull(pem["public_key"])
        {
            return "need to supply a PEM formatted public and/or private key."
        }
        return nil
    }
}

/// JSON Web Keys as lua-resty-openssl loads them (`pkey.new(txt, { format = "JWK" })`).
enum JWK {
    /// `cjson.decode` of the text; nil when it is not JSON.
    static func decode(_ text: String) -> Value? {
        guard case .success(let document) = JSONReader.read(Array(text.utf8)) else { return nil }
        return document.value
    }

    /// A base64url parameter as `load_jwk` reads it: a string must decode (outer nil when it
    /// does not); anything else counts as absent (`.some(nil)`).
    static func param(_ jwk: Value, _ name: String) -> [UInt8]?? {
        guard case .string(let s)? = jwk[name] else { return .some(nil) }
        guard let bytes = Base64.decode(s, url: true) else { return nil }
        return .some(bytes)
    }

    static let curveSizes: [String: Int] = [
        "P-256": 32, "P-384": 48, "P-521": 66, "prime256v1": 32, "secp384r1": 48, "secp521r1": 66,
        "brainpoolP256r1": 32, "brainpoolP320r1": 40, "brainpoolP384r1": 48, "brainpoolP512r1": 64, "secp256k1": 32,
    ]

    /// Nil when the text loads as a JWK key, else why not.
    static func loadError(_ text: String) -> String? {
        identity(text) == nil ? "could not load JWK" : nil
    }

    /// The key's identity: nil when it does not load, `.some(nil)` when kgate cannot tell.
    static func identity(_ text: String) -> KeyIdentity?? {
        guard let jwk = decode(text), case .object = jwk, case .string(let kty)? = jwk["kty"] else { return nil }
        switch kty {
        case "RSA":
            guard let n = param(jwk, "n"), let e = param(jwk, "e"), let n, let e else { return nil }
            for extra in ["d", "p", "q", "dp", "dq", "qi"] where param(jwk, extra) == nil { return nil }
            return .some(.rsa(n: Array(n.drop(while: { $0 == 0 })), e: Array(e.drop(while: { $0 == 0 }))))
        case "EC":
            guard case .string(let crv)? = jwk["crv"], let size = curveSizes[crv], let x = param(jwk, "x"),
                let y = param(jwk, "y"), let x, let y, x.count <= size, y.count <= size, param(jwk, "d") != nil
            else { return nil }
            let point = [0x04] + [UInt8](repeating: 0, count: size - x.count) + x
                + [UInt8](repeating: 0, count: size - y.count) + y
            let curve: [UInt8]
            switch crv {
            case "P-256", "prime256v1":
                guard (try? P256.Signing.PublicKey(x963Representation: point)) != nil else { return nil }
                curve = KeyIdentity.p256
            case "P-384", "secp384r1":
                guard (try? P384.Signing.PublicKey(x963Representation: point)) != nil else { return nil }
                curve = KeyIdentity.p384
            case "P-521", "secp521r1":
                guard (try? P521.Signing.PublicKey(x963Representation: point)) != nil else { return nil }
                curve = KeyIdentity.p521
            default: return .some(nil)
            }
            return .some(.other(algorithm: KeyIdentity.tlv(0x06, KeyIdentity.ecOID) + KeyIdentity.tlv(0x06, curve), bits: point))
        case "OKP":
            guard case .string(let crv)? = jwk["crv"], ["Ed25519", "X25519", "Ed448", "X448"].contains(crv),
                let x = param(jwk, "x"), let d = param(jwk, "d"), x != nil || d != nil
            else { return nil }
            if crv == "Ed25519", let x {
                guard x.count == 32 else { return nil }
                return .some(.other(algorithm: KeyIdentity.tlv(0x06, KeyIdentity.ed25519OID), bits: x))
            }
            return .some(nil)
        default:
            return nil
        }
    }

    /// String fields of Kong's `typedefs.jwk`; `key_ops` and `x5c` are arrays of strings.
    static let stringFields = [
        "issuer", "kty", "use", "alg", "kid", "x5u", "x5t", "x5t#S256", "k", "x", "y", "crv", "n", "e", "d", "p", "q",
        "dp", "dq", "qi", "oth", "r", "t",
    ]

    /// `schema:validate(json_jwk)` against `typedefs.jwk`, as `errors_to_string` renders it.
    static func schemaError(_ jwk: Value) -> String? {
        guard case .object(let object) = jwk else { return nil }
        var messages: [String] = []
        for (key, v) in object {
            if v == .null { continue }
            if stringFields.contains(key) {
                guard case .string(let s) = v else {
                    messages.append("\(key): expected a string")
                    continue
                }
                if s.isEmpty { messages.append("\(key): length must be at least 1") }
            } else if key == "key_ops" || key == "x5c" {
                guard let items = v.sequenceElements else {
                    messages.append("\(key): expected an array")
                    continue
                }
                let bad = items.filter { $0.stringValue == nil }.map { _ in "expected a string" }
                if !bad.isEmpty { messages.append("\(key): Validation error: " + bad.joined(separator: "; ")) }
            } else {
                messages.append("\(key): unknown field")
            }
        }
        return messages.isEmpty ? nil : "Validation error: " + messages.joined(separator: "; ")
    }
}
