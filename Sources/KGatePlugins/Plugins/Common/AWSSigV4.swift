import Crypto
import KGateConfig
import KGateSchema

/// AWS Signature Version 4 as lua-resty-aws signs a request (`signatures/v4.lua`): every
/// header the request carries is signed (names lower-cased and sorted, values trimmed), plus
/// `X-Amz-Date` and, with temporary credentials, `X-Amz-Security-Token`; the payload hash is
/// SHA-256 of the body; path segments are percent-encoded once more (the already escaped
/// path, as services other than S3 expect).
struct AWSSigV4: Sendable {
    /// An access key pair, with the session token of temporary credentials.
    struct Credentials: Sendable, Hashable {
        var accessKey: String
        var secretKey: String
        var sessionToken: String?
    }

    var credentials: Credentials
    var region: String
    var service: String

    /// The headers to add to a request: `X-Amz-Date`, `X-Amz-Security-Token` (temporary
    /// credentials) and `Authorization`.
    ///
    /// - Parameters:
    ///   - path: the request path as sent (already escaped).
    ///   - query: decoded query arguments.
    ///   - headers: the request's headers, `Host` included.
    func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], body: [UInt8],
        at seconds: Int
    ) -> [(String, String)] {
        let stamp = Self.timestamp(seconds)
        let day = String(stamp.prefix(8))
        var added = [("X-Amz-Date", stamp)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        var canonical: [String: String] = [:]
        for (name, value) in headers + added {
            canonical[name.lowercased()] = value.kongStripped
        }
        let names = canonical.keys.sorted()
        let signedHeaders = names.joined(separator: ";")
        let request = [
            method, Self.canonicalPath(path), Self.canonicalQuery(query),
            names.map { "\($0):\(canonical[$0]!)\n" }.joined(), signedHeaders, ConfigHash.hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n\(ConfigHash.hex(SHA256.hash(data: Array(request.utf8))))"
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = ConfigHash.hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        added.append((
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        return added
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    static func timestamp(_ seconds: Int) -> String { HTTPTime.utc(seconds, "%Y%m%dT%H%M%SZ") }

    /// lua-resty-aws's `canonicalise_path`: empty and `.` segments dropped, each other segment
    /// percent-encoded (all but unreserved characters), a trailing `/` kept.
    static func canonicalPath(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !segments.isEmpty else { return "/" }
        var out = segments.map { "/" + percentEncoded(String($0)) }.joined()
        if path.hasSuffix("/") { out += "/" }
        return out
    }

    /// Arguments encoded and sorted as `key=value` pairs joined by `&`.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { percentEncoded($0.0) + "=" + percentEncoded($0.1) }.sorted().joined(separator: "&")
    }

    /// Every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
    static func percentEncoded(_ s: String) -> String { QueryArgs.encode(s) }

    /// `%XX` of one byte (upper-case hex, as `ngx.escape_uri`).
    static func percentEncoded(byte b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
    }
}
