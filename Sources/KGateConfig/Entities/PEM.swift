import Crypto
import KGateSchema

/// Kong's certificate and key checks (`typedefs.certificate`, `typedefs.key`, the
/// certificates/ca_certificates entity checks), done with a small DER reader plus swift-crypto
/// (EC/Ed25519 public key derivation, digests) instead of OpenSSL.
///
/// A DER reader rather than swift-certificates: OpenSSL (and so Kong) accepts certificates and
/// keys that swift-certificates refuses (RSA under 2048 bits, DSA, other curves...), and the
/// checks only need the structure, the public key, `notAfter` and the CA flag.
///
/// Messages are Kong's. OpenSSL's own error strings (after `x509.new: ` / `pkey.new:load_key: `)
/// are reproduced for the common cases as OpenSSL 3 (Kong 3.10 ships 3.4) prints them: the
/// "nested asn1 error" one is exactly Kong's (from its tests); line numbers of the others come
/// from OpenSSL 3.0 and the key-loading error depends on Lua table order in Kong (see
/// `decoderError`).
public enum PEM {
    /// Kong's `typedefs.certificate`: a string OpenSSL can load as an X.509 certificate.
    public static let certificate = Field.string.with {
        $0.customValidator = { value in value.stringValue.flatMap(certificateError) }
    }

    /// Kong's `typedefs.key`: a string OpenSSL can load as a private or public key.
    public static let key = Field.string.with {
        $0.customValidator = { value in value.stringValue.flatMap(keyError) }
    }

    /// `invalid certificate: x509.new: <openssl error>`, or nil when `text` holds a certificate.
    public static func certificateError(_ text: String) -> String? {
        if X509Info.load(text) != nil { return nil }
        return "invalid certificate: x509.new: " + DER.d2iError(Array(text.utf8))
    }

    /// `invalid key: pkey.new:load_key: <openssl error>`, or nil when `text` holds a key.
    public static func keyError(_ text: String) -> String? {
        loadKeyError(text).map { "invalid key: " + $0 }
    }

    /// The error of lua-resty-openssl's `pkey.new(text)` (PEM, DER or JWK, private or public).
    public static func loadKeyError(_ text: String) -> String? {
        if KeyIdentity.load(text, allowPrivate: true, allowPublic: true) != nil { return nil }
        if JWK.loadError(text) == nil { return nil }
        return "pkey.new:load_key: " + decoderError
    }

    /// OpenSSL 3's last error after the PEM decoders found nothing they support. lua-resty-openssl
    /// tries its loaders in `pairs()` order, so which error Kong shows is not fixed; this is the one
    /// of `PEM_read_bio_PrivateKey`.
    static let decoderError =
        "error:1E08010C:DECODER routines:OSSL_DECODER_from_bio:unsupported:encode_decode/decoder_lib.c:102:"

    /// Whether the certificate's public key is the key's (Kong compares the public PEMs).
    /// Nil when either side cannot be read (the field validators report that).
    public static func certificate(_ cert: String, matchesKey key: String) -> Bool? {
        guard let info = X509Info.load(cert), let certKey = KeyIdentity(spki: info.bytes, info.spki) else { return nil }
        let loaded = KeyIdentity.load(key, allowPrivate: true, allowPublic: true) ?? JWK.identity(key)
        guard let loaded, let keyKey = loaded else { return nil }
        return certKey == keyKey
    }

    /// Whether two certificates have keys of the same type (RSA, EC, Ed25519...); nil if unreadable.
    public static func sameKeyType(_ cert: String, _ other: String) -> Bool? {
        guard let a = X509Info.load(cert), let b = X509Info.load(other) else { return nil }
        return a.algorithm == b.algorithm
    }

    /// Whether the certificate's key is an elliptic-curve (ECDSA) one; nil when it does not parse.
    public static func hasECKey(_ cert: String) -> Bool? {
        guard let info = X509Info.load(cert) else { return nil }
        // id-ecPublicKey, 1.2.840.10045.2.1.
        return info.algorithm.starts(with: [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01])
    }

    /// Lowercase hex SHA-256 of the certificate's DER (`x509:digest("sha256")`).
    public static func digest(_ cert: String) -> String? {
        guard let info = X509Info.load(cert) else { return nil }
        return ConfigHash.hex(SHA256.hash(data: info.bytes))
    }

    /// The `ca_certificates` entity check: one certificate, not expired, a CA.
    public static func caCertificateError(_ cert: String, now: Int64) -> String? {
        let tag = Array("-----BEGIN CERTIFICATE-----".utf8)
        let bytes = Array(cert.utf8)
        if let seen = find(tag, in: bytes, from: 0), find(tag, in: bytes, from: seen + tag.count + 1) != nil {
            return "please submit only one certificate at a time"
        }
        guard let info = X509Info.load(cert) else { return nil }
        if let notAfter = info.notAfter, notAfter < now {
            return "certificate expired, \"Not After\" time is in the past"
        }
        if !info.isCA {
            return "certificate does not appear to be a CA because it is missing the \"CA\" basic constraint"
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        for i in start...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}

/// What kgate reads from an X.509 certificate.
struct X509Info {
    /// The whole certificate DER.
    var bytes: [UInt8]
    /// The SubjectPublicKeyInfo TLV.
    var spki: DER.Node
    /// The public key algorithm (OID content bytes and parameters), Kong's `get_key_type()`.
    var algorithm: [UInt8]
    /// `notAfter` as Unix seconds.
    var notAfter: Int64?
    /// The basic constraints extension says CA (DER TRUE, as OpenSSL's `ca == 0xFF`).
    var isCA: Bool

    /// Names `PEM_read_bio_X509` accepts.
    static let pemNames: Set<String> = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]

    /// The first certificate block of `text`, as `x509.new` loads it.
    static func load(_ text: String) -> X509Info? {
        guard let block = PEMBlock.all(in: text).first(where: { pemNames.contains($0.name) }), let der = block.der
        else { return nil }
        return parse(der)
    }

    static func parse(_ der: [UInt8]) -> X509Info? {
        // `top` starts at 0, so node ranges index `bytes` too.
        guard let top = DER.node(der, at: 0), DER.wellFormed(der, top),
            let parts = DER.sequence(der, top), parts.count == 3, parts[2].tag == 0x03,
            var tbs = DER.sequence(der, parts[0])
        else { return nil }
        if tbs.first?.tag == 0xA0 { tbs.removeFirst() }
        // serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [1], [2], [3]
        guard tbs.count >= 6, tbs[0].tag == 0x02, tbs[1].tag == 0x30, tbs[2].tag == 0x30,
            let validity = DER.sequence(der, tbs[3]), validity.count == 2,
            let spkiParts = DER.sequence(der, tbs[5]), spkiParts.count == 2, spkiParts[1].tag == 0x03,
            let algorithm = DER.sequence(der, spkiParts[0]), let oid = algorithm.first, oid.tag == 0x06
        else { return nil }
        var isCA = false
        if let extensions = tbs.dropFirst(6).first(where: { $0.tag == 0xA3 }),
            let wrapper = DER.children(der, extensions.content), let list = DER.sequence(der, wrapper.first)
        {
            for ext in list {
                guard let fields = DER.sequence(der, ext), let id = fields.first,
                    der[id.content].elementsEqual([0x55, 0x1D, 0x13]), let value = fields.last, value.tag == 0x04
                else { continue }
                let inner = Array(der[value.content])
                if let constraints = DER.sequence(inner, DER.node(inner, at: 0)), let flag = constraints.first,
                    flag.tag == 0x01, flag.content.count == 1
                {
                    isCA = inner[flag.content.lowerBound] == 0xFF
                }
                break
            }
        }
        return X509Info(
            bytes: Array(der[top.range]), spki: tbs[5], algorithm: Array(der[oid.content]),
            notAfter: asn1Time(der, validity[1]), isCA: isCA)
    }

    /// UTCTime (`YYMMDDHHMM[SS]Z`) or GeneralizedTime (`YYYYMMDDHHMMSS[.f]Z`) as Unix seconds.
    static func asn1Time(_ der: [UInt8], _ node: DER.Node) -> Int64? {
        let text = Array(der[node.content])
        var digits: [Int] = []
        for c in text {
            guard c >= 0x30 && c <= 0x39 else { break }
            digits.append(Int(c - 0x30))
        }
        func num(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= digits.count else { return nil }
            return digits[at..<(at + count)].reduce(0) { $0 * 10 + $1 }
        }
        var year: Int
        var i: Int
        if node.tag == 0x17 {
            guard let yy = num(0, 2) else { return nil }
            year = yy < 50 ? 2000 + yy : 1900 + yy
            i = 2
        } else if node.tag == 0x18 {
            guard let yyyy = num(0, 4) else { return nil }
            year = yyyy
            i = 4
        } else {
            return nil
        }
        guard let month = num(i, 2), let day = num(i + 2, 2), let hour = num(i + 4, 2), let minute = num(i + 6, 2)
        else { return nil }
        let second = num(i + 8, 2) ?? 0
        // Days from civil (Howard Hinnant).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
