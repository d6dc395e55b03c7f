#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import KGateSchema
import NIOCore
import NIOHTTP1
import Synchronization

/// Kong's `aws-lambda` (PRIORITY 750): invokes a Lambda function with the request (see
/// ``payload(_:_:)``) and answers with what it returns instead of proxying (the route's
/// service, if any, is never called).
///
/// The call is Lambda's `Invoke` (`POST /2015-03-31/functions/<function>/invocations`, with
/// `Qualifier`, `X-Amz-Invocation-Type` and `X-Amz-Log-Type`) to `host` (default
/// `lambda.<region>.amazonaws.com`) on `port`, over HTTPS unless `disable_https`, without
/// certificate verification (as Kong's `ssl_verify = false`), signed with AWS Signature V4 by
/// `aws_key` / `aws_secret`, else by lua-resty-aws's credential chain (``AWSCredentialChain``:
/// environment, shared file, ECS, EKS web identity, EC2 metadata). The region is `aws_region`,
/// else `AWS_REGION` / `AWS_DEFAULT_REGION`. Connections are kept alive per endpoint.
///
/// The answer has Lambda's status (or `unhandled_status` for `X-Amz-Function-Error: Unhandled`),
/// its headers without `Content-Length` and hop-by-hop ones, `Via: 2 kong/<version>` when the
/// node's `headers` have Via, and its body: a JSON body (`application/...json`) is decoded and
/// re-encoded, its empty arrays as `{}` under `empty_arrays_mode: legacy`. With
/// `is_proxy_integration` the body is the function's `{statusCode, headers, multiValueHeaders,
/// body, isBase64Encoded}`, and one that is not is answered 502 `Bad Gateway`. A failed call,
/// an answer of 400 or more, no region or no credentials: 500, logged.
///
/// With `aws_assume_role_arn`, those credentials assume the role through STS
/// (`aws_sts_endpoint_url`, else `sts.<region>.amazonaws.com`; ``AWSAssumedRoles``).
/// `proxy_url` sends the calls through an HTTP forward proxy (a `CONNECT` tunnel for HTTPS).
public final class AWSLambdaPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var endpoint: PluginHTTPClient.Endpoint
        var region: String?
        var credentials: AWSSigV4.Credentials?
        var assumedRole: AWSAssumedRoles.Role?
        var qualifier: String?
        var invocationType: String
        var logType: String
        var timeout: TimeAmount
        var unhandledStatus: Int?
        var forwardsMethod: Bool
        var forwardsURI: Bool
        var forwardsHeaders: Bool
        var forwardsBody: Bool
        var proxyIntegration: Bool
        var awsGatewayCompatible: Bool
        var skipLargeBodies: Bool
        var base64EncodeBody: Bool
        var legacyEmptyArrays: Bool
    }

    /// `aws-lambda`.
    public static let name = "aws-lambda"
    /// 750.
    public static let priority = 750
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Where credentials come from when a config has no `aws_key`.
    private let chain: AWSCredentialChain
    /// The temporary credentials of `aws_assume_role_arn` roles.
    private let roles = AWSAssumedRoles()
    /// The kept-alive client of each endpoint.
    private let clients = PluginHTTPClients()
    /// Whether the node's `headers` turn `Via` on.
    private let via: Bool

    /// - Parameter via: whether the node's `headers` turn `Via` on.
    public convenience init(via: Bool = true) {
        self.init(sources: .process, via: via)
    }

    /// - Parameter sources: the environment and the credential services (tests).
    init(sources: AWSCredentialChain.Sources, via: Bool = true) {
        chain = AWSCredentialChain(sources)
        self.via = via
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        let variables = chain.sources.variables
        let region = config.string("aws_region") ?? variables["AWS_REGION"] ?? variables["AWS_DEFAULT_REGION"]
        let https = !config.bool("disable_https")
        let host = config.string("host") ?? region.map { "lambda.\($0).amazonaws.com" } ?? ""
        let credentials = config.string("aws_key").map {
            AWSSigV4.Credentials(accessKey: $0, secretKey: config.string("aws_secret") ?? "", sessionToken: nil)
        }
        return Config(
            endpoint: PluginHTTPClient.Endpoint(
                tls: https, host: host, port: config.number("port").map { Int($0) } ?? 443,
                path: "/2015-03-31/functions/" + Self.escapedURI(config.string("function_name") ?? "") + "/invocations",
                proxy: config.string("proxy_url").flatMap(AWSCredentialChain.parseURL).map {
                    PluginHTTPClient.ForwardProxy(host: $0.address.host, port: $0.address.port)
                }),
            region: region, credentials: credentials,
            assumedRole: config.string("aws_assume_role_arn").map {
                AWSAssumedRoles.Role(
                    arn: $0, sessionName: config.string("aws_role_session_name") ?? "kong",
                    endpoint: config.string("aws_sts_endpoint_url").flatMap { AWSCredentialChain.parseURL($0)?.address })
            },
            qualifier: config.string("qualifier"),
            invocationType: config.string("invocation_type") ?? "RequestResponse",
            logType: config.string("log_type") ?? "Tail",
            timeout: .milliseconds(Int64(config.number("timeout") ?? 60000)),
            unhandledStatus: config.number("unhandled_status").map { Int($0) },
            forwardsMethod: config.bool("forward_request_method"), forwardsURI: config.bool("forward_request_uri"),
            forwardsHeaders: config.bool("forward_request_headers"), forwardsBody: config.bool("forward_request_body"),
            proxyIntegration: config.bool("is_proxy_integration"),
            awsGatewayCompatible: config.bool("awsgateway_compatible"),
            skipLargeBodies: config.bool("skip_large_bodies", default: true),
            base64EncodeBody: config.bool("base64_encode_body", default: true),
            legacyEmptyArrays: (config.string("empty_arrays_mode") ?? "legacy") == "legacy")
    }

    /// The payload may carry the body: read before `access`, a large one too without
    /// `skip_large_bodies`.
    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { config.skipLargeBodies ? .always : .alwaysWithSpooled }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        // Thrown failures are logged by the runner and answered 500.
        guard let region = config.region else { throw InvocationFailure(description: "no region specified") }
        var payload: [UInt8] = []
        KongJSONEncoderShim.encode(Self.payload(config, ctx), into: &payload)
        let endpoint = config.endpoint
        let defaultPort = endpoint.port == (endpoint.tls ? 443 : 80)
        let unsigned = [
            ("Host", defaultPort ? endpoint.host : "\(endpoint.host):\(endpoint.port)"),
            ("X-Amz-Invocation-Type", config.invocationType), ("X-Amz-Log-Type", config.logType),
            ("Content-Length", String(payload.count)),
        ]
        let query = config.qualifier.map { [("Qualifier", $0)] } ?? []
        let encodedQuery = config.qualifier.map { "Qualifier=" + QueryArgs.encode($0) }
        let client = clients.client(for: endpoint)
        let (chain, roles, configured, role) = (chain, roles, config.credentials, config.assumedRole)
        let (timeout, addsVia, body) = (config.timeout, via, payload)
        let started = NIODeadline.now()
        ctx.wait(forTask: {
            var credentials: AWSSigV4.Credentials
            if let configured { credentials = configured } else { credentials = try await chain.credentials(region: region) }
            if let role { credentials = try await roles.credentials(role, base: credentials, region: region) }
            let signature = AWSSigV4(credentials: credentials, region: region, service: "lambda").sign(
                method: "POST", path: endpoint.path, query: query, headers: unsigned, body: body, at: Int(WallClock.now()))
            var headers = HTTPHeaders()
            for (name, value) in unsigned + signature where name != "Host" { headers.add(name: name, value: value) }
            return try await client.send(method: .POST, headers: headers, body: body, query: encodedQuery, timeout: timeout)
        }) { ctx, result in
            ctx.waitingTime = Int((NIODeadline.now() - started).nanoseconds / 1_000_000)
            switch result {
            case .success(let response):
                try Self.answer(response, config, via: addsVia, &ctx)
            case .failure(let error as AWSCredentialChain.Failure):
                throw InvocationFailure(description: error.description)
            case .failure(let error):
                throw InvocationFailure(description: "failed to invoke \(endpoint.host):\(endpoint.port): \(error)")
            }
        }
    }

    /// Why an invocation failed (answered 500).
    struct InvocationFailure: Error, CustomStringConvertible {
        var description: String
    }


    /// lua-resty-aws's `escape_uri` of a path parameter: every byte but
    /// ``A-Za-z0-9!#$&'()*+,:;=?@[]_.~%-`` as `%XX` (a `/` in an ARN too).
    static func escapedURI(_ s: String) -> String {
        let kept = Set("!#$&'()*+,:;=?@[]_.~%-".utf8)
        var out = ""
        for b in s.utf8 {
            let alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            if alnum || kept.contains(b) {
                out.unicodeScalars.append(UnicodeScalar(b))
            } else {
                out += AWSSigV4.percentEncoded(byte: b)
            }
        }
        return out
    }
}
