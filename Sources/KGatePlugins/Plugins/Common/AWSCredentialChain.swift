#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateConfig
import KGateSchema
import NIOCore
import NIOHTTP1
import Synchronization

/// The credentials aws-lambda signs with when its config has no `aws_key`: lua-resty-aws's
/// default provider chain, tried in order until one gives credentials:
///
/// 1. the environment: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`,
///    then the same with `AMAZON_`;
/// 2. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`),
///    profile `AWS_PROFILE` or `default`;
/// 3. ECS container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2, or
///    `AWS_CONTAINER_CREDENTIALS_FULL_URI`; `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)`);
/// 4. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`, as EKS sets them): STS
///    `AssumeRoleWithWebIdentity`;
/// 5. the EC2 instance metadata service (IMDSv2 token when it gives one), unless
///    `AWS_EC2_METADATA_DISABLED` is `true`.
///
/// Temporary credentials are kept until a minute before they expire.
final class AWSCredentialChain: Sendable {
    /// Where the chain looks (the real addresses, or test servers).
    struct Sources: Sendable {
        var variables: [String: String]
        var home: String?
        var metadata = Address(tls: false, host: "169.254.169.254", port: 80)
        var containerHost = Address(tls: false, host: "169.254.170.2", port: 80)
        /// STS instead of `sts.<region>.amazonaws.com` (tests).
        var sts: Address?

        struct Address: Sendable, Hashable {
            var tls: Bool
            var host: String
            var port: Int
        }

        /// The process's variables and home directory.
        static var process: Sources {
            var variables: [String: String] = [:]
            for name in AWSCredentialChain.variableNames {
                variables[name] = getenv(name).map { String(cString: $0) }
            }
            return Sources(variables: variables, home: getenv("HOME").map { String(cString: $0) })
        }
    }

    static let variableNames = [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AMAZON_ACCESS_KEY_ID",
        "AMAZON_SECRET_ACCESS_KEY", "AMAZON_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_EC2_METADATA_DISABLED", "AWS_REGION", "AWS_DEFAULT_REGION",
    ]

    /// Why no credentials were found.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let sources: Sources
    /// Credentials the chain fetched, with when they expire (seconds since the epoch).
    private let cached = Mutex<(credentials: AWSSigV4.Credentials, expires: Int)?>(nil)
    private static let timeout = TimeAmount.seconds(5)

    init(_ sources: Sources) {
        self.sources = sources
    }

    /// The chain of the process's environment, shared by the plugins that have no other.
    static let process = AWSCredentialChain(.process)

    /// Credentials that need no network: the environment's or the shared file's.
    var staticCredentials: AWSSigV4.Credentials? {
        Self.environment(sources.variables, prefix: "AWS") ?? Self.environment(sources.variables, prefix: "AMAZON")
            ?? sharedFile()
    }

    /// The first credentials of the chain.
    func credentials(region: String?) async throws -> AWSSigV4.Credentials {
        if let found = staticCredentials { return found }
        let now = Int(WallClock.now())
        if let kept = cached.withLock({ $0 }), kept.expires - 60 > now { return kept.credentials }
        var failures: [String] = []
        for provider in [container, webIdentity, instanceMetadata] {
            do {
                guard let (credentials, expires) = try await provider(region) else { continue }
                cached.withLock { $0 = (credentials, expires) }
                return credentials
            } catch {
                failures.append("\(error)")
            }
        }
        throw Failure(description: "no AWS credentials available" + (failures.isEmpty ? "" : ": " + failures.joined(separator: "; ")))
    }

    // MARK: Providers

    static func environment(_ variables: [String: String], prefix: String) -> AWSSigV4.Credentials? {
        guard let key = variables[prefix + "_ACCESS_KEY_ID"] else { return nil }
        return AWSSigV4.Credentials(
            accessKey: key, secretKey: variables[prefix + "_SECRET_ACCESS_KEY"] ?? "",
            sessionToken: variables[prefix + "_SESSION_TOKEN"])
    }

    /// The profile's keys in the shared credentials file (INI).
    func sharedFile() -> AWSSigV4.Credentials? {
        guard let path = sources.variables["AWS_SHARED_CREDENTIALS_FILE"] ?? sources.home.map({ $0 + "/.aws/credentials" }),
            let text = Self.read(path)
        else { return nil }
        let profile = sources.variables["AWS_PROFILE"] ?? "default"
        var section = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.kongStripped
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).kongStripped
                continue
            }
            guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq]).kongStripped.lowercased()] = String(line[line.index(after: eq)...]).kongStripped
        }
        guard let key = values["aws_access_key_id"] else { return nil }
        return AWSSigV4.Credentials(
            accessKey: key, secretKey: values["aws_secret_access_key"] ?? "", sessionToken: values["aws_session_token"])
    }

    /// ECS: `GET` the container credentials URI.
    private func container(_ region: String?) async throws -> (AWSSigV4.Credentials, Int)? {
        let v = sources.variables
        let address: Sources.Address
        let path: String
        if let relative = v["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            (address, path) = (sources.containerHost, relative)
        } else if let full = v["AWS_CONTAINER_CREDENTIALS_FULL_URI"], let parsed = Self.parseURL(full) {
            guard parsed.address.tls || ["localhost", "127.0.0.1", "169.254.170.23"].contains(parsed.address.host) else {
                throw Failure(description: "container credentials: unsupported host \(parsed.address.host) for http")
            }
            (address, path) = (parsed.address, parsed.path)
        } else {
            return nil
        }
        var headers = HTTPHeaders()
        if let token = v["AWS_CONTAINER_AUTHORIZATION_TOKEN"] { headers.add(name: "Authorization", value: token) }
        if let file = v["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            guard let token = Self.read(file) else { throw Failure(description: "cannot read \(file)") }
            headers.replaceOrAdd(name: "Authorization", value: token.kongStripped)
        }
        let response = try await Self.call(address, "GET", path, headers: headers)
        return try Self.jsonCredentials(response, from: "container credentials")
    }

    /// EKS (IRSA): STS `AssumeRoleWithWebIdentity` with the token file's token.
    private func webIdentity(_ region: String?) async throws -> (AWSSigV4.Credentials, Int)? {
        let v = sources.variables
        guard let file = v["AWS_WEB_IDENTITY_TOKEN_FILE"], let role = v["AWS_ROLE_ARN"] else { return nil }
        guard let token = Self.read(file) else { throw Failure(description: "cannot read \(file)") }
        let region = region ?? v["AWS_REGION"] ?? v["AWS_DEFAULT_REGION"]
        let address =
            sources.sts ?? Sources.Address(tls: true, host: region.map { "sts.\($0).amazonaws.com" } ?? "sts.amazonaws.com", port: 443)
        let query = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role),
            ("RoleSessionName", v["AWS_ROLE_SESSION_NAME"] ?? "session@lua-resty-aws"),
            ("WebIdentityToken", token.kongStripped),
        ].map { QueryArgs.encode($0.0) + "=" + QueryArgs.encode($0.1) }.joined(separator: "&")
        let response = try await Self.call(address, "POST", "/", query: query)
        guard response.status == 200 else {
            throw Failure(description: "STS AssumeRoleWithWebIdentity answered \(response.status): \(response.body)")
        }
        let xml = response.body
        guard let key = Self.element("AccessKeyId", in: xml), let secret = Self.element("SecretAccessKey", in: xml) else {
            throw Failure(description: "STS AssumeRoleWithWebIdentity: no credentials in the answer")
        }
        return (
            AWSSigV4.Credentials(accessKey: key, secretKey: secret, sessionToken: Self.element("SessionToken", in: xml)),
            Self.element("Expiration", in: xml).flatMap(Self.epochSeconds) ?? Int(WallClock.now()) + 3600
        )
    }

    /// EC2: the instance role's credentials from the metadata service.
    private func instanceMetadata(_ region: String?) async throws -> (AWSSigV4.Credentials, Int)? {
        guard sources.variables["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true" else { return nil }
        let address = sources.metadata
        var headers = HTTPHeaders()
        var ttl = HTTPHeaders()
        ttl.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "300")
        if let token = try? await Self.call(address, "PUT", "/latest/api/token", headers: ttl), token.status == 200 {
            headers.add(name: "X-aws-ec2-metadata-token", value: token.body)
        }
        let roles = try await Self.call(address, "GET", "/latest/meta-data/iam/security-credentials/", headers: headers)
        guard roles.status == 200 else {
            throw Failure(description: "EC2 metadata: role name: status \(roles.status) with body: \(roles.body)")
        }
        let role = roles.body.split(whereSeparator: \.isNewline).first.map(String.init)?.kongStripped ?? ""
        let response = try await Self.call(address, "GET", "/latest/meta-data/iam/security-credentials/" + role, headers: headers)
        return try Self.jsonCredentials(response, from: "EC2 metadata")
    }

    // MARK: Helpers

    /// One request on a connection of its own.
    static func call(
        _ address: Sources.Address, _ method: String, _ path: String, headers: HTTPHeaders = HTTPHeaders(),
        query: String? = nil
    ) async throws -> PluginHTTPClient.Response {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: "0")
        let client = PluginHTTPClient(
            endpoint: PluginHTTPClient.Endpoint(tls: address.tls, host: address.host, port: address.port, path: path))
        return try await client.send(method: HTTPMethod(rawValue: method), headers: headers, body: [], query: query, timeout: timeout)
    }

    /// `{AccessKeyId, SecretAccessKey, Token, Expiration}` (ECS and EC2 answers).
    private static func jsonCredentials(_ response: PluginHTTPClient.Response, from source: String) throws -> (AWSSigV4.Credentials, Int) {
        guard response.status == 200, case .object(let fields)? = KongJSONEncoderShim.decode(response.bytes),
            let key = fields["AccessKeyId"]?.stringValue, let secret = fields["SecretAccessKey"]?.stringValue
        else {
            throw Failure(description: "\(source): status \(response.status) with body: \(response.body)")
        }
        return (
            AWSSigV4.Credentials(accessKey: key, secretKey: secret, sessionToken: fields["Token"]?.stringValue),
            fields["Expiration"]?.stringValue.flatMap(epochSeconds) ?? Int(WallClock.now()) + 3600
        )
    }

    /// The text of the first `<name>...</name>`.
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.firstRange(of: "<\(name)>"), let close = xml[open.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    /// `YYYY-MM-DDTHH:MM:SS(.fff)Z` as seconds since the epoch.
    static func epochSeconds(_ iso: String) -> Int? {
        let digits = iso.utf8.prefix(19).filter { $0 >= 0x30 && $0 <= 0x39 }.map { Int($0) - 0x30 }
        guard digits.count == 14 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int { digits[from..<(from + count)].reduce(0) { $0 * 10 + $1 } }
        return HTTPTime.epochSeconds(
            year: number(0, 4), month: number(4, 2), day: number(6, 2), hour: number(8, 2), minute: number(10, 2),
            second: number(12, 2))
    }

    /// The address and path (with its query) of an `http`/`https` URL.
    static func parseURL(_ url: String) -> (address: Sources.Address, path: String)? {
        guard let parsed = ParsedURL(url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = parsed.host
        else { return nil }
        let tls = scheme == "https"
        let path = (parsed.path.flatMap { $0.isEmpty ? nil : $0 } ?? "/") + (parsed.query.map { "?" + $0 } ?? "")
        return (Sources.Address(tls: tls, host: host, port: parsed.portInteger ?? (tls ? 443 : 80)), path)
    }

    private static func read(_ path: String) -> String? {
        FileBytes.read(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
