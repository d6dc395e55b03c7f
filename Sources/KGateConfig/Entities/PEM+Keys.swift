import Crypto

/// A public key reduced to what identifies it, so a certificate's key and a private key's
/// public half can be compared the way Kong compares their public PEMs.
enum KeyIdentity: Equatable {
    /// RSA modulus and exponent (magnitudes).
    case rsa(n: [UInt8], e: [UInt8])
    /// Any other algorithm: the AlgorithmIdentifier content and the key bits.
    case other(algorithm: [UInt8], bits: [UInt8])

    static let rsaOID: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    static let ecOID: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    static let ed25519OID: [UInt8] = [0x2B, 0x65, 0x70]
    static let x25519OID: [UInt8] = [0x2B, 0x65, 0x6E]
    static let p256: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    static let p384: [UInt8] = [0x2B, 0x81, 0x04, 0x00, 0x22]
    static let p521: [UInt8] = [0x2B, 0x81, 0x04, 0x00, 0x23]

    /// Names `PEM_read_bio_PrivateKey` / `PEM_read_bio_PUBKEY` accept.
    static let privateNames: Set<String> = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"]
    static let publicNames: Set<String> = ["PUBLIC KEY", "RSA PUBLIC KEY"]

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag, UInt8(content.count)] + content }

    /// From a SubjectPublicKeyInfo TLV.
    init?(spki bytes: [UInt8], _ node: DER.Node) {
        guard let parts = DER.sequence(bytes, node), parts.count == 2, parts[1].tag == 0x03,
            parts[1].content.count >= 1, let alg = DER.sequence(bytes, parts[0]), let oid = alg.first, oid.tag == 0x06
        else { return nil }
        let bits = Array(bytes[parts[1].content].dropFirst())
        if bytes[oid.content].elementsEqual(Self.rsaOID) {
            guard let key = DER.sequence(bits, DER.node(bits, at: 0)), key.count == 2,
                let n = DER.integer(bits, key[0]), let e = DER.integer(bits, key[1])
            else { return nil }
            self = .rsa(n: n, e: e)
        } else {
            self = .other(algorithm: Array(bytes[parts[0].content]), bits: bits)
        }
    }

    /// A key loaded from text: valid or not, and its identity when kgate can derive it.
    struct Loaded {
        var identity: KeyIdentity?
    }

    /// Loads the first private (then public) key block of `text`; nil when OpenSSL would fail.
    static func load(_ text: String, allowPrivate: Bool, allowPublic: Bool) -> KeyIdentity?? {
        let blocks = PEMBlock.all(in: text)
        if allowPrivate, let block = blocks.first(where: { privateNames.contains($0.name) }) {
            guard !block.encrypted, let der = block.der else { return nil }
            return privateKey(der, name: block.name).map { $0.identity }
        }
        if allowPublic, let block = blocks.first(where: { publicNames.contains($0.name) }) {
            guard let der = block.der, let top = DER.node(der, at: 0), DER.wellFormed(der, top) else { return nil }
            if block.name == "RSA PUBLIC KEY" {
                guard let key = DER.sequence(der, top), key.count == 2, let n = DER.integer(der, key[0]),
                    let e = DER.integer(der, key[1])
                else { return nil }
                return .some(.rsa(n: n, e: e))
            }
            guard let identity = KeyIdentity(spki: der, top) else { return nil }
            return .some(identity)
        }
        return nil
    }

    static func privateKey(_ der: [UInt8], name: String) -> Loaded? {
        guard let top = DER.node(der, at: 0), DER.wellFormed(der, top), let parts = DER.sequence(der, top) else {
            return nil
        }
        switch name {
        case "RSA PRIVATE KEY": return rsaPrivate(der, parts)
        case "EC PRIVATE KEY": return ecPrivate(der, parts, curve: nil)
        case "PRIVATE KEY": return pkcs8(der, parts)
        default: return parts.count >= 1 && parts.allSatisfy({ $0.tag == 0x02 }) ? Loaded(identity: nil) : nil
        }
    }

    private static func rsaPrivate(_ der: [UInt8], _ parts: [DER.Node]) -> Loaded? {
        guard parts.count >= 9, parts.prefix(9).allSatisfy({ $0.tag == 0x02 }), let n = DER.integer(der, parts[1]),
            let e = DER.integer(der, parts[2]), !n.isEmpty
        else { return nil }
        return Loaded(identity: .rsa(n: n, e: e))
    }

    /// SEC1 `ECPrivateKey`; `curve` comes from PKCS#8 when the key itself has no parameters.
    private static func ecPrivate(_ der: [UInt8], _ parts: [DER.Node], curve: [UInt8]?) -> Loaded? {
        guard parts.count >= 2, parts[0].tag == 0x02, parts[1].tag == 0x04 else { return nil }
        let scalar = Array(der[parts[1].content])
        var curve = curve
        var publicBits: [UInt8]?
        for p in parts.dropFirst(2) {
            if p.tag == 0xA0, let inner = DER.children(der, p.content), let oid = inner.first, oid.tag == 0x06 {
                curve = Array(der[oid.content])
            } else if p.tag == 0xA1, let inner = DER.children(der, p.content), let bits = inner.first,
                bits.tag == 0x03, bits.content.count > 1
            {
                publicBits = Array(der[bits.content].dropFirst())
            }
        }
        guard let curve else { return Loaded(identity: nil) }
        if publicBits == nil {
            switch curve {
            case p256: publicBits = try? P256.Signing.PrivateKey(rawRepresentation: scalar).publicKey.x963Representation.map { $0 }
            case p384: publicBits = try? P384.Signing.PrivateKey(rawRepresentation: scalar).publicKey.x963Representation.map { $0 }
            case p521: publicBits = try? P521.Signing.PrivateKey(rawRepresentation: scalar).publicKey.x963Representation.map { $0 }
            default: return Loaded(identity: nil)
            }
            guard publicBits != nil else { return nil }
        }
        let algorithm = tlv(0x06, ecOID) + tlv(0x06, curve)
        return Loaded(identity: .other(algorithm: algorithm, bits: publicBits!))
    }

    private static func pkcs8(_ der: [UInt8], _ parts: [DER.Node]) -> Loaded? {
        guard parts.count >= 3, parts[0].tag == 0x02, parts[2].tag == 0x04, let alg = DER.sequence(der, parts[1]),
            let oid = alg.first, oid.tag == 0x06
        else { return nil }
        let algorithm = Array(der[oid.content])
        let inner = Array(der[parts[2].content])
        let innerTop = DER.node(inner, at: 0)
        switch algorithm {
        case rsaOID:
            guard let seq = DER.sequence(inner, innerTop) else { return nil }
            return rsaPrivate(inner, seq)
        case ecOID:
            guard let seq = DER.sequence(inner, innerTop) else { return nil }
            let curve = alg.dropFirst().first.flatMap { $0.tag == 0x06 ? Array(der[$0.content]) : nil }
            return ecPrivate(inner, seq, curve: curve)
        case ed25519OID, x25519OID:
            guard let octet = innerTop, octet.tag == 0x04 else { return nil }
            let seed = Array(inner[octet.content])
            let pub: [UInt8]?
            if algorithm == ed25519OID {
                pub = (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)).map { Array($0.publicKey.rawRepresentation) }
            } else {
                pub = (try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: seed)).map { Array($0.publicKey.rawRepresentation) }
            }
            guard let pub else { return nil }
            return Loaded(identity: .other(algorithm: tlv(0x06, algorithm), bits: pub))
        default:
            return Loaded(identity: nil)
        }
    }
}
