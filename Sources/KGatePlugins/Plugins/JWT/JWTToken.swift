import KGateSchema

/// A JWT as Kong's `jwt_parser.lua` decodes it: three base64url parts split on the first two
/// dots, the header and claims as JSON, and an `alg` Kong can verify.
struct JWTToken {
    /// `header.claims`, the signed text.
    var signingInput: [UInt8]
    var header: Object
    var claims: Object
    var signature: [UInt8]
    var algorithm: JWTAlgorithm

    /// Kong's `decode_token` errors (`Bad token; <reason>`).
    enum DecodeError: String, Error {
        case invalidJSON = "invalid JSON"
        case invalidAlgorithm = "invalid alg"
        case invalidSignature = "invalid signature"
    }

    init(_ token: String) throws(DecodeError) {
        let bytes = Array(token.utf8)
        // `tokenize(token, ".", 3)`: the third part keeps any further dots.
        let first = bytes.firstIndex(of: UInt8(ascii: "."))
        let second = first.flatMap { f in bytes[(f + 1)...].firstIndex(of: UInt8(ascii: ".")) }
        guard let first, let second else { throw .invalidJSON }
        let headerPart = bytes[..<first]
        let claimsPart = bytes[(first + 1)..<second]
        let signaturePart = bytes[(second + 1)...]
        guard case .object(let header)? = Self.json(headerPart), case .object(let claims)? = Self.json(claimsPart) else {
            throw .invalidJSON
        }
        guard let name = header["alg"]?.stringValue, let algorithm = JWTAlgorithm(rawValue: name) else {
            throw .invalidAlgorithm
        }
        guard let signature = Self.base64URL(signaturePart) else { throw .invalidSignature }
        self.signingInput = Array(bytes[..<second])
        self.header = header
        self.claims = claims
        self.signature = signature
        self.algorithm = algorithm
    }

    /// Kong's `base64_decode`: padded to a multiple of 4, then `decode_base64url`.
    static func base64URL(_ part: some Collection<UInt8>) -> [UInt8]? {
        Base64.decode(part, url: true)
    }

    private static func json(_ part: some Collection<UInt8>) -> Value? {
        base64URL(part).flatMap { KongJSONEncoderShim.decode($0) }
    }

    /// `verify_registered_claims`: each of `exp` and `nbf` asked for must be a number, `exp`
    /// in the future and `nbf` not; the errors by claim (Kong's 401 body).
    func registeredClaimErrors(_ names: [String], now: Double) -> Object {
        var errors = Object()
        for name in names {
            guard let value = claims[name]?.doubleValue else {
                errors[name] = "must be a number"
                continue
            }
            if name == "exp", value <= now { errors[name] = "token expired" }
            if name == "nbf", value > now { errors[name] = "token not valid yet" }
        }
        return errors
    }

    /// `check_maximum_expiration`: `exp` at most `maximum` seconds ahead.
    func exceedsMaximumExpiration(_ maximum: Double, now: Double) -> Bool {
        guard maximum > 0 else { return false }
        guard let exp = claims["exp"]?.doubleValue else { return true }
        return exp - now > maximum
    }
}
