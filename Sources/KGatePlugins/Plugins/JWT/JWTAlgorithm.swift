import Crypto
import CryptoExtras

/// The algorithms Kong's `jwt_parser.lua` verifies, and how.
enum JWTAlgorithm: String, Sendable {
    case HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA

    /// `HS*`: the credential's `secret` is the key; the others take `rsa_public_key`.
    var isSymmetric: Bool { rawValue.hasPrefix("HS") }
}

/// A credential's key, parsed once for its algorithm: the HMAC secret or the public key.
enum JWTVerificationKey: Sendable {
    case secret(SymmetricKey)
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)
    /// PS* keys (salt length read from the signature) and Ed448 keys, verified by OpenSSL.
    case openSSL(OpenSSLPublicKey)

    /// The key for `algorithm` from the credential's secret (HS*) or PEM public key; nil when
    /// it does not load (Kong's `Consumer Public Key is Invalid`).
    init?(algorithm: JWTAlgorithm, secret: [UInt8]?, publicKey: String?) {
        if algorithm.isSymmetric {
            guard let secret else { return nil }
            self = .secret(SymmetricKey(data: secret))
            return
        }
        guard let pem = publicKey else { return nil }
        switch algorithm {
        case .RS256, .RS384, .RS512:
            // OpenSSL takes RSA keys of any size; swift-crypto's checked initializer wants 2048 bits.
            guard let key = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: pem) else { return nil }
            self = .rsa(key)
        case .PS256, .PS384, .PS512:
            // The PEMs RS* takes (PKCS#1 too), handed to OpenSSL as a SubjectPublicKeyInfo.
            guard let rsa = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: pem),
                let key = OpenSSLPublicKey(pem: rsa.pemRepresentation)
            else { return nil }
            self = .openSSL(key)
        case .ES256:
            guard let key = try? P256.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            self = .p256(key)
        case .ES384:
            guard let key = try? P384.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            self = .p384(key)
        case .ES512:
            guard let key = try? P521.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            self = .p521(key)
        case .EdDSA:
            if let raw = Self.ed25519RawKey(pem), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) {
                self = .ed25519(key)
            } else if let key = OpenSSLPublicKey(pem: pem), key.isEd448 {
                self = .openSSL(key)
            } else {
                return nil
            }
        case .HS256, .HS384, .HS512:
            return nil
        }
    }

    /// Whether `signature` signs `input` with this key under `algorithm` (`alg_verify`).
    func verifies(_ signature: [UInt8], of input: [UInt8], algorithm: JWTAlgorithm) -> Bool {
        switch (self, algorithm) {
        case (.secret(let key), .HS256): return Self.equal(HMAC<SHA256>.authenticationCode(for: input, using: key), signature)
        case (.secret(let key), .HS384): return Self.equal(HMAC<SHA384>.authenticationCode(for: input, using: key), signature)
        case (.secret(let key), .HS512): return Self.equal(HMAC<SHA512>.authenticationCode(for: input, using: key), signature)
        case (.rsa(let key), .RS256): return key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .RS384): return key.isValidSignature(.init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .RS512): return key.isValidSignature(.init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.openSSL(let key), .PS256): return key.verifiesPSS(signature, of: input, digest: .sha256)
        case (.openSSL(let key), .PS384): return key.verifiesPSS(signature, of: input, digest: .sha384)
        case (.openSSL(let key), .PS512): return key.verifiesPSS(signature, of: input, digest: .sha512)
        case (.p256(let key), .ES256):
            guard signature.count == 64, let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(s, for: SHA256.hash(data: input))
        case (.p384(let key), .ES384):
            guard signature.count == 96, let s = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(s, for: SHA384.hash(data: input))
        case (.p521(let key), .ES512):
            guard signature.count == 132, let s = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(s, for: SHA512.hash(data: input))
        case (.ed25519(let key), .EdDSA): return key.isValidSignature(signature, for: input)
        case (.openSSL(let key), .EdDSA): return key.verifiesEdDSA(signature, of: input)
        default: return false
        }
    }

    /// A MAC against the token's signature, in constant time.
    private static func equal<M: MessageAuthenticationCode>(_ mac: M, _ signature: [UInt8]) -> Bool {
        mac == signature
    }

    /// The 32 key bytes of an Ed25519 `PUBLIC KEY` PEM (SubjectPublicKeyInfo with OID 1.3.101.112).
    static func ed25519RawKey(_ pem: String) -> [UInt8]? {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Base64.decode(Array(body.utf8)), der.count == 44 else { return nil }
        let prefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
        guard der.starts(with: prefix) else { return nil }
        return Array(der[12...])
    }
}
