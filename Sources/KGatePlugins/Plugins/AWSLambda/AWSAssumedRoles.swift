import KGateSchema
import NIOHTTP1
import Synchronization

/// `aws_assume_role_arn`: the temporary credentials of a role, from STS `AssumeRole` signed with
/// the base credentials (lua-resty-aws's `ChainableTemporaryCredentials`), kept until a minute
/// before they expire.
final class AWSAssumedRoles: Sendable {
    /// A role to assume, and where STS is.
    struct Role: Sendable, Hashable {
        var arn: String
        var sessionName: String
        /// `aws_sts_endpoint_url`; nil: `sts.<region>.amazonaws.com`.
        var endpoint: AWSCredentialChain.Sources.Address?
    }

    private struct Key: Hashable {
        var role: Role
        var base: AWSSigV4.Credentials
        var region: String
    }

    private let cached = Mutex<[Key: (credentials: AWSSigV4.Credentials, expires: Int)]>([:])

    /// The role's credentials, assumed with `base`.
    func credentials(_ role: Role, base: AWSSigV4.Credentials, region: String) async throws -> AWSSigV4.Credentials {
        let key = Key(role: role, base: base, region: region)
        let now = Int(WallClock.now())
        if let kept = cached.withLock({ $0[key] }), kept.expires - 60 > now { return kept.credentials }
        let address = role.endpoint ?? .init(tls: true, host: "sts.\(region).amazonaws.com", port: 443)
        let arguments = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", role.arn), ("RoleSessionName", role.sessionName),
        ]
        let host = address.port == (address.tls ? 443 : 80) ? address.host : "\(address.host):\(address.port)"
        let unsigned = [("Host", host), ("Content-Length", "0")]
        var headers = HTTPHeaders()
        let signature = AWSSigV4(credentials: base, region: region, service: "sts").sign(
            method: "POST", path: "/", query: arguments, headers: unsigned, body: [], at: now)
        for (name, value) in signature { headers.add(name: name, value: value) }
        let query = arguments.map { QueryArgs.encode($0.0) + "=" + QueryArgs.encode($0.1) }.joined(separator: "&")
        let response = try await AWSCredentialChain.call(address, "POST", "/", headers: headers, query: query)
        let xml = response.body
        guard response.status == 200, let accessKey = AWSCredentialChain.element("AccessKeyId", in: xml),
            let secret = AWSCredentialChain.element("SecretAccessKey", in: xml)
        else {
            throw AWSCredentialChain.Failure(description: "STS AssumeRole of \(role.arn) answered \(response.status): \(xml)")
        }
        let credentials = AWSSigV4.Credentials(
            accessKey: accessKey, secretKey: secret, sessionToken: AWSCredentialChain.element("SessionToken", in: xml))
        let expires = AWSCredentialChain.element("Expiration", in: xml).flatMap(AWSCredentialChain.epochSeconds) ?? now + 3600
        cached.withLock { $0[key] = (credentials, expires) }
        return credentials
    }
}
