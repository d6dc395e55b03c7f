import Foundation
import Testing

@testable import KGatePlugins

/// Kong's aws-lambda (27-aws-lambda/99-access_spec): the function is invoked with the request
/// and its answer is the client's. Lambda is Kong's mock of it (`TestUpstream`'s
/// `/2015-03-31/functions/<name>/invocations`), reached through the config's `host`, `port`
/// and `disable_https`, as Kong's spec reaches its own.
@Suite(.serialized)
struct PluginsAWSLambdaTests {
    static let environment = AWSCredentialChain.Sources(variables: [:], home: nil)

    /// Service-less routes, one per config, by host.
    static func yaml(lambdaPort: Int, routes: [(host: String, config: String)]) -> String {
        var text = "_format_version: \"3.0\"\nroutes:\n"
        for (host, config) in routes {
            text += """
                - hosts: [\(host)]
                  plugins:
                  - name: aws-lambda
                    config: {host: 127.0.0.1, port: \(lambdaPort), disable_https: true, aws_key: mock-key, aws_secret: mock-secret, aws_region: us-east-1, \(config)}

                """
        }
        return text
    }

    /// One service-less route invoking the mock Lambda without configured keys or region.
    static func bareYAML(host: String, lambdaPort: Int, https: Bool = false, _ config: String = "") -> String {
        """
        _format_version: "3.0"
        routes:
        - hosts: [\(host)]
          plugins:
          - name: aws-lambda
            config: {host: 127.0.0.1, port: \(lambdaPort), disable_https: \(!https), function_name: kongLambdaTest\(config)}
        """
    }

    /// Runs `body` against a proxy whose routes invoke the mock Lambda.
    func withLambda(
        _ routes: [(host: String, config: String)], sources: AWSCredentialChain.Sources = Self.environment,
        _ body: (ProxyHarness, TestUpstream) async throws -> Void
    ) async throws {
        try await withUpstreams(["lambda"]) { ups in
            let plugin = AWSLambdaPlugin(sources: sources)
            try await withProxy(Self.yaml(lambdaPort: ups[0].port, routes: routes), extraPlugins: [plugin]) { proxy in
                try await body(proxy, ups[0])
            }
        }
    }

    @Test("GET: the query is the payload, the answer is Lambda's with Via and its length; the call is signed")
    func invokesWithGET() async throws {
        try await withLambda([("lambda.test", "function_name: kongLambdaTest")]) { proxy, lambda in
            let response = try await proxy.send("GET", "/get?key1=some_value1&key2=some_value2&key3=some_value3", host: "lambda.test")
            #expect(response.status == 200)
            #expect(response.json?["key1"] as? String == "some_value1")
            #expect(response.header("x-amzn-RequestId") == "foo")
            #expect(response.header("X-Amz-Function-Error") == nil)
            #expect(response.header("Via") == "2 kong/\(PluginConstants.kongVersion)")
            #expect(response.header("Content-Length") == "65")

            let call = try #require(lambda.requests.last)
            #expect(call.head.method == .POST)
            #expect(call.head.uri == "/2015-03-31/functions/kongLambdaTest/invocations")
            #expect(call.head.headers.first(name: "X-Amz-Invocation-Type") == "RequestResponse")
            #expect(call.head.headers.first(name: "X-Amz-Log-Type") == "Tail")
            let date = try #require(call.head.headers.first(name: "X-Amz-Date"))
            let authorization = try #require(call.head.headers.first(name: "Authorization"))
            #expect(
                authorization.hasPrefix(
                    "AWS4-HMAC-SHA256 Credential=mock-key/\(date.prefix(8))/us-east-1/lambda/aws4_request, "
                        + "SignedHeaders=content-length;host;x-amz-date;x-amz-invocation-type;x-amz-log-type, Signature="))
            // The signature is over what was sent: the same headers signed again give it.
            let sent = ["Host", "X-Amz-Invocation-Type", "X-Amz-Log-Type", "Content-Length"].map {
                ($0, call.head.headers.first(name: $0) ?? "")
            }
            let seconds = try #require(AWSCredentialChain.epochSeconds(date))
            let again = AWSSigV4(
                credentials: .init(accessKey: "mock-key", secretKey: "mock-secret"), region: "us-east-1", service: "lambda"
            ).sign(method: "POST", path: call.head.uri, query: [], headers: sent, body: call.body, at: seconds)
            #expect(again.last?.1 == authorization)
        }
    }

    @Test("form and JSON bodies are merged into the query; an array body stays an array")
    func bodies() async throws {
        try await withLambda([("lambda.test", "function_name: kongLambdaTest")]) { proxy, _ in
            let form = try await proxy.send(
                "POST", "/post?key1=from_querystring", host: "lambda.test",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "key2=some_value_post2&key3=x")
            #expect(form.status == 200)
            #expect(form.json?["key1"] as? String == "from_querystring")
            #expect(form.json?["key2"] as? String == "some_value_post2")

            let json = try await proxy.send(
                "POST", "/post", host: "lambda.test", headers: [("Content-Type", "application/json")],
                body: #"{"key1":"some_value_json1"}"#)
            #expect(json.json?["key1"] as? String == "some_value_json1")

            let arrays = try await proxy.send(
                "POST", "/post", host: "lambda.test", headers: [("Content-Type", "application/json")], body: "[{}, []]")
            #expect(arrays.status == 200)
            #expect(arrays.text.replacingOccurrences(of: "\n", with: "") == "[{},[]]")
        }
    }

    @Test("forward_request_*: method, URI, headers and the body (base64 unless text)")
    func forwardsTheRequest() async throws {
        let all = "function_name: kongLambdaTest, forward_request_method: true, forward_request_uri: true, "
            + "forward_request_headers: true, forward_request_body: true"
        try await withLambda([("lambda9.test", all)]) { proxy, _ in
            let xml = try await proxy.send(
                "POST", "/post?key1=from_querystring", host: "lambda9.test",
                headers: [("Content-Type", "application/xml"), ("custom-header", "someheader")], body: "<xml/>")
            #expect(xml.status == 200)
            let body = try #require(xml.json)
            #expect(body["request_method"] as? String == "POST")
            #expect(body["request_uri"] as? String == "/post?key1=from_querystring")
            #expect((body["request_uri_args"] as? [String: Any])?["key1"] as? String == "from_querystring")
            let headers = try #require(body["request_headers"] as? [String: Any])
            #expect(headers["custom-header"] as? String == "someheader")
            #expect(headers["host"] as? String == "lambda9.test")
            #expect(body["request_body"] as? String == "<xml/>")
            #expect(body["request_body_args"] is [String: Any])
            #expect(body["request_body_base64"] == nil)

            let binary = try await proxy.send(
                "POST", "/post", host: "lambda9.test", headers: [("Content-Type", "application/octet-stream")], body: "01234")
            #expect(binary.json?["request_body"] as? String == "MDEyMzQ=")
            #expect(binary.json?["request_body_base64"] as? Bool == true)
        }
    }

    @Test("awsgateway_compatible: an API Gateway proxy event (version 1.0)")
    func gatewayEvent() async throws {
        try await withUpstreams(["lambda"]) { ups in
            let yaml = """
                _format_version: "3.0"
                routes:
                - paths: ['~/users/(?<id>\\d+)$']
                  plugins:
                  - name: aws-lambda
                    config: {host: 127.0.0.1, port: \(ups[0].port), disable_https: true, aws_key: k, aws_secret: s, aws_region: us-east-1, function_name: kongLambdaTest, awsgateway_compatible: true}
                """
            try await withProxy(yaml, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
                let response = try await proxy.send(
                    "POST", "/users/42?a=1&a=2&b=x", host: "api.example.test",
                    headers: [("User-Agent", "tester"), ("X-Twice", "1"), ("X-Twice", "2")], body: "hello")
                #expect(response.status == 200)
                let event = try #require(response.json)
                #expect(event["version"] as? String == "1.0")
                #expect(event["httpMethod"] as? String == "POST")
                #expect(event["path"] as? String == "/users/42")
                // Kong 3's default router (traditional_compatible) gives no `router_matches.uri`.
                #expect(event["resource"] == nil)
                #expect((event["pathParameters"] as? [String: Any])?["id"] as? String == "42")
                #expect((event["queryStringParameters"] as? [String: Any])?["a"] as? String == "1")
                #expect((event["multiValueQueryStringParameters"] as? [String: Any])?["a"] as? [String] == ["1", "2"])
                #expect((event["headers"] as? [String: Any])?["x-twice"] as? String == "1")
                #expect((event["multiValueHeaders"] as? [String: Any])?["x-twice"] as? [String] == ["1", "2"])
                #expect(event["body"] as? String == "aGVsbG8=")
                #expect(event["isBase64Encoded"] as? Bool == true)
                let context = try #require(event["requestContext"] as? [String: Any])
                #expect(context["httpMethod"] as? String == "POST")
                #expect(context["protocol"] as? String == "HTTP/1.1")
                #expect(context["domainName"] as? String == "api.example.test")
                #expect(context["domainPrefix"] as? String == "api")
                #expect((context["identity"] as? [String: Any])?["userAgent"] as? String == "tester")
                #expect((context["requestTime"] as? String)?.hasSuffix(" +0000") == true)
            }
        }
    }

    @Test("a body larger than client_body_buffer_size is sent only without skip_large_bodies")
    func largeBodies() async throws {
        let forward = "function_name: kongLambdaTest, forward_request_body: true"
        try await withLambda([
            ("skip.test", forward), ("read.test", forward + ", skip_large_bodies: false"),
        ]) { proxy, _ in
            let large = String(repeating: "0123456789abcdef", count: 1280)  // 20 KiB, over nginx's 8 KiB
            let skipped = try await proxy.send(
                "POST", "/", host: "skip.test", headers: [("Content-Type", "text/plain")], body: large)
            #expect(skipped.status == 200)
            #expect(skipped.json?["request_body"] == nil)
            let read = try await proxy.send("POST", "/", host: "read.test", headers: [("Content-Type", "text/plain")], body: large)
            #expect(read.status == 200)
            #expect(read.json?["request_body"] as? String == large)
            let small = try await proxy.send("POST", "/", host: "skip.test", headers: [("Content-Type", "text/plain")], body: "small")
            #expect(small.json?["request_body"] as? String == "small")
        }
    }

    @Test("Event 202, DryRun 204; an unhandled function error keeps Lambda's status unless unhandled_status")
    func invocationTypesAndUnhandledErrors() async throws {
        try await withLambda([
            ("event.test", "function_name: kongLambdaTest, invocation_type: Event"),
            ("dryrun.test", "function_name: kongLambdaTest, invocation_type: DryRun"),
            ("unhandled.test", "function_name: functionWithUnhandledError"),
            ("unhandled412.test", "function_name: functionWithUnhandledError, unhandled_status: 412"),
        ]) { proxy, _ in
            let event = try await proxy.send("POST", "/post", host: "event.test")
            #expect(event.status == 202)
            #expect(event.header("x-amzn-RequestId") == "foo")
            #expect(try await proxy.send("POST", "/post", host: "dryrun.test").status == 204)
            let unhandled = try await proxy.send("GET", "/get", host: "unhandled.test")
            #expect(unhandled.status == 200)
            #expect(unhandled.header("X-Amz-Function-Error") == "Unhandled")
            #expect(try await proxy.send("GET", "/get", host: "unhandled412.test").status == 412)
        }
    }

    @Test("is_proxy_integration: the function's status, headers and body; a malformed answer is 502")
    func proxyIntegration() async throws {
        func route(_ host: String, _ function: String) -> (host: String, config: String) {
            (host, "function_name: \(function), is_proxy_integration: true")
        }
        try await withLambda([
            route("echo.test", "kongLambdaTest"), route("badjson.test", "functionWithBadJSON"),
            route("empty.test", "functionWithNoResponse"), route("base64.test", "functionWithBase64EncodedResponse"),
            route("notbase64.test", "functionWithNotBase64EncodedResponse"),
            route("illegal.test", "functionWithIllegalBase64EncodedResponse"),
            route("multi.test", "functionWithMultiValueHeadersResponse"),
            route("te.test", "functionWithTransferEncodingHeader"),
        ]) { proxy, _ in
            func post(_ json: String) async throws -> RawResponse {
                try await proxy.send("POST", "/post", host: "echo.test", headers: [("Content-Type", "application/json")], body: json)
            }
            let bare = try await post(#"{"statusCode": 201}"#)
            #expect(bare.status == 201)
            #expect(bare.header("Content-Length") == "0")
            #expect(bare.text.isEmpty)

            let full = try await post(
                #"{"statusCode": 201, "body": "{\"key1\":\"v\"}", "headers": {"X-Custom-Header": "Hello world!", "x-amzn-RequestId": "bar"}}"#)
            #expect(full.status == 201)
            #expect(full.text == #"{"key1":"v"}"#)
            #expect(full.header("X-Custom-Header") == "Hello world!")
            #expect(full.headers("x-amzn-RequestId") == ["bar"])

            for bad in [#"{"statusCode": "hello"}"#, #"{"statusCode": 201, "headers": "hello"}"#, #"{"statusCode": 201, "body": 1234}"#] {
                let refused = try await post(bad)
                #expect(refused.status == 502, "\(bad)")
                #expect(refused.message == "Bad Gateway")
            }
            let nullHeaders = try await post(#"{"statusCode": 201, "body": "test", "multiValueHeaders": null}"#)
            #expect(nullHeaders.status == 201)
            #expect(nullHeaders.text == "test")

            for host in ["badjson.test", "empty.test"] {
                let refused = try await proxy.send("GET", "/", host: host)
                #expect(refused.status == 502, "\(host)")
                #expect(refused.message == "Bad Gateway")
            }
            #expect(try await proxy.send("GET", "/", host: "base64.test").text == "test")
            #expect(try await proxy.send("GET", "/", host: "notbase64.test").text == "dGVzdA=")
            let illegal = try await proxy.send("GET", "/", host: "illegal.test")
            #expect(illegal.status == 502)
            #expect(illegal.text.contains("isBase64Encoded must be a boolean"))
            let multi = try await proxy.send("GET", "/", host: "multi.test")
            #expect(multi.header("Age") == "3600")
            #expect(multi.headers("Access-Control-Allow-Origin") == ["site1.com", "site2.com"])
            let te = try await proxy.send("GET", "/", host: "te.test")
            #expect(te.status == 200)
            #expect(te.header("Transfer-Encoding") == nil)
        }
    }

    @Test("empty_arrays_mode: legacy answers {} for a JSON answer's empty arrays, correct keeps []")
    func emptyArrays() async throws {
        try await withLambda([
            ("legacy.test", "function_name: functionWithEmptyArray"),
            ("correct.test", "function_name: functionWithEmptyArray, empty_arrays_mode: correct"),
        ]) { proxy, _ in
            let legacy = try await proxy.send("GET", "/", host: "legacy.test")
            #expect(legacy.text.contains(#""testbody":{}"#))
            let correct = try await proxy.send("GET", "/", host: "correct.test")
            #expect(correct.text.contains(#""testbody":[]"#))
        }
    }

    /// 99-access_spec "invokes a Lambda function with GET and latency": the call's time is the
    /// log's `latencies.proxy` (Kong's `KONG_WAITING_TIME`) and is not counted as Kong's.
    @Test("the invocation's time is logged as latencies.proxy, not latencies.kong")
    func latencies() async throws {
        let log = NSTemporaryDirectory() + "kgate-lambda-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        try await withUpstreams(["lambda"]) { ups in
            let yaml = Self.yaml(lambdaPort: ups[0].port, routes: [("lambda25.test", "function_name: functionWithLatency")])
                + "plugins:\n- name: file-log\n  config: {path: \"\(log)\"}\n"
            try await withProxy(yaml, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
                let response = try await proxy.send("GET", "/get", host: "lambda25.test")
                #expect(response.status == 200)
                let lines = await fileLines(log, atLeast: 1)
                let line = try #require(lines.first)
                let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let latencies = try #require(entry["latencies"] as? [String: Any])
                let waited = try #require(latencies["proxy"] as? Int)
                let kong = try #require(latencies["kong"] as? Int)
                #expect(waited >= 250)
                #expect(kong < waited)
            }
        }
    }

    @Test("an unreachable Lambda, an error answer, or no region: 500")
    func failures() async throws {
        try await withLambda([
            ("failing.test", "function_name: functionWithFailure"),
        ]) { proxy, _ in
            let failed = try await proxy.send("GET", "/", host: "failing.test", headers: [("Accept", "application/json")])
            #expect(failed.status == 500)
            #expect(failed.message == "An unexpected error occurred")
        }
        let dead = try await UpstreamFailureTests.deadPort()
        let yaml = Self.yaml(lambdaPort: dead, routes: [("dead.test", "function_name: kongLambdaTest, timeout: 2000")])
        try await withProxy(yaml, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
            let response = try await proxy.send("GET", "/", host: "dead.test")
            #expect(response.status == 500)
        }
        let noRegion = Self.bareYAML(host: "noregion.test", lambdaPort: dead, ", aws_key: k, aws_secret: s")
        try await withProxy(noRegion, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
            let response = try await proxy.send("GET", "/", host: "noregion.test")
            #expect(response.status == 500)
        }
        // The region and credentials may come from the environment instead.
        try await withUpstreams(["lambda"]) { ups in
            let fromEnvironment = Self.bareYAML(host: "env.test", lambdaPort: ups[0].port)
            let environment = AWSCredentialChain.Sources(
                variables: [
                    "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret",
                    "AWS_SESSION_TOKEN": "token",
                ], home: nil)
            try await withProxy(fromEnvironment, extraPlugins: [AWSLambdaPlugin(sources: environment)]) { proxy in
                #expect(try await proxy.send("GET", "/?a=1", host: "env.test").status == 200)
                let call = try #require(ups[0].requests.last)
                #expect(call.head.headers.first(name: "Authorization")?.contains("Credential=env-key/") == true)
                #expect(call.head.headers.first(name: "Authorization")?.contains("/eu-west-1/lambda/") == true)
                #expect(call.head.headers.first(name: "X-Amz-Security-Token") == "token")
            }
        }
    }

    /// Signs a call through a config without `aws_key` with credentials from `sources`
    /// (`address` fills in the test server's port) and returns the call Lambda received.
    func invokeWithChain(_ sources: (Int) -> AWSCredentialChain.Sources) async throws -> TestUpstream.RecordedRequest? {
        try await withUpstreams(["aws"]) { ups in
            let yaml = Self.bareYAML(host: "chain.test", lambdaPort: ups[0].port)
            return try await withProxy(yaml, extraPlugins: [AWSLambdaPlugin(sources: sources(ups[0].port))]) { proxy in
                let response = try await proxy.send("GET", "/?a=1", host: "chain.test")
                #expect(response.status == 200)
                return ups[0].requests.last { $0.head.uri.hasPrefix("/2015-03-31/") }
            }
        }
    }

    @Test("without aws_key: ECS container credentials, EKS web identity, EC2 metadata (IMDSv2), the shared file")
    func credentialChain() async throws {
        let local = { (port: Int) in AWSCredentialChain.Sources.Address(tls: false, host: "127.0.0.1", port: port) }
        let ecs = try await invokeWithChain { port in
            AWSCredentialChain.Sources(
                variables: [
                    "AWS_REGION": "us-east-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/ecs-credentials/task",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-auth",
                ], home: nil)
        }
        #expect(ecs?.head.headers.first(name: "Authorization")?.contains("Credential=ecs-key/") == true)
        #expect(ecs?.head.headers.first(name: "X-Amz-Security-Token") == "ecs-key-session")

        let tokenFile = NSTemporaryDirectory() + "kgate-web-identity-\(UUID().uuidString)"
        try "web-identity-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let web = try await invokeWithChain { port in
            var sources = AWSCredentialChain.Sources(
                variables: [
                    "AWS_REGION": "us-east-1", "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/kgate",
                ], home: nil)
            sources.sts = local(port)
            return sources
        }
        #expect(web?.head.headers.first(name: "Authorization")?.contains("Credential=sts-key/") == true)
        #expect(web?.head.headers.first(name: "X-Amz-Security-Token") == "sts-session")

        let imds = try await invokeWithChain { port in
            var sources = AWSCredentialChain.Sources(variables: ["AWS_REGION": "us-east-1"], home: nil)
            sources.metadata = local(port)
            return sources
        }
        #expect(imds?.head.headers.first(name: "Authorization")?.contains("Credential=imds-key/") == true)
        #expect(imds?.head.headers.first(name: "X-Amz-Security-Token") == "imds-key-session")

        let file = NSTemporaryDirectory() + "kgate-aws-credentials-\(UUID().uuidString)"
        try """
            [default]
            aws_access_key_id = default-key
            aws_secret_access_key = default-secret
            # the profile in use
            [other]
            aws_access_key_id=other-key
            aws_secret_access_key=other-secret
            """.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let shared = try await invokeWithChain { _ in
            AWSCredentialChain.Sources(
                variables: ["AWS_REGION": "us-east-1", "AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "other"], home: nil)
        }
        #expect(shared?.head.headers.first(name: "Authorization")?.contains("Credential=other-key/") == true)
    }

    @Test("aws_assume_role_arn: the configured keys assume the role through STS; its credentials sign the call")
    func assumesRole() async throws {
        try await withUpstreams(["aws"]) { ups in
            let port = ups[0].port
            let yaml = Self.bareYAML(
                host: "role.test", lambdaPort: port,
                ", aws_key: base-key, aws_secret: base-secret, aws_region: us-east-1, "
                    + "aws_assume_role_arn: 'arn:aws:iam::123456789012:role/lambda', aws_role_session_name: kgate-test, "
                    + "aws_sts_endpoint_url: 'http://127.0.0.1:\(port)'")
            try await withProxy(yaml, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
                for _ in 0..<2 {
                    let response = try await proxy.send("GET", "/", host: "role.test")
                    #expect(response.status == 200)
                }
                let sts = ups[0].requests.filter { $0.head.uri.contains("Action=AssumeRole") }
                #expect(sts.count == 1, "the role's credentials are kept")
                #expect(sts.first?.head.uri.contains("RoleSessionName=kgate-test") == true)
                let call = ups[0].requests.last { $0.head.uri.hasPrefix("/2015-03-31/") }
                #expect(call?.head.headers.first(name: "Authorization")?.contains("Credential=role-key/") == true)
                #expect(call?.head.headers.first(name: "X-Amz-Security-Token") == "role-session")
            }
        }
    }

    @Test("proxy_url: HTTPS through a CONNECT tunnel, HTTP with the absolute URI")
    func forwardProxy() async throws {
        let forward = try await TestForwardProxy()
        defer { Task { await forward.stop() } }
        let lambda = TestUpstream(name: "lambda", group: TestLoops.group, tls: try TestCertificates.serverContext())
        try await lambda.start()
        defer { Task { await lambda.stop() } }
        let tunnelled = Self.bareYAML(
            host: "tunnel.test", lambdaPort: lambda.port, https: true,
            ", aws_key: k, aws_secret: s, aws_region: us-east-1, proxy_url: 'http://127.0.0.1:\(forward.port)'")
        try await withProxy(tunnelled, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
            let response = try await proxy.send("GET", "/?key1=v", host: "tunnel.test")
            #expect(response.status == 200)
            #expect(response.json?["key1"] as? String == "v")
            #expect(forward.targets == ["127.0.0.1:\(lambda.port)"])
        }
        // Plain HTTP names its target to the proxy, which here is Lambda's mock itself: the
        // configured host cannot be resolved, so only the proxy can have answered.
        try await withUpstreams(["proxy"]) { ups in
            let plain = Self.bareYAML(host: "plain.test", lambdaPort: 80, ", aws_key: k, aws_secret: s, aws_region: us-east-1, proxy_url: 'http://127.0.0.1:\(ups[0].port)'")
                .replacingOccurrences(of: "host: 127.0.0.1", with: "host: lambda.invalid")
            try await withProxy(plain, extraPlugins: [AWSLambdaPlugin(sources: Self.environment)]) { proxy in
                let response = try await proxy.send("GET", "/?key1=v", host: "plain.test")
                #expect(response.status == 200)
                #expect(ups[0].requests.last?.head.uri == "http://lambda.invalid/2015-03-31/functions/kongLambdaTest/invocations")
            }
        }
    }

    @Test("no credentials anywhere: 500, and Lambda is not called")
    func noCredentials() async throws {
        try await withUpstreams(["aws"]) { ups in
            var sources = AWSCredentialChain.Sources(variables: ["AWS_REGION": "us-east-1"], home: nil)
            // A metadata service that refuses (no role): the chain's last provider fails.
            sources.metadata = .init(tls: false, host: "127.0.0.1", port: try await UpstreamFailureTests.deadPort())
            let yaml = Self.bareYAML(host: "none.test", lambdaPort: ups[0].port)
            try await withProxy(yaml, extraPlugins: [AWSLambdaPlugin(sources: sources)]) { proxy in
                let response = try await proxy.send("GET", "/", host: "none.test")
                #expect(response.status == 500)
                #expect(ups[0].requests.isEmpty)
            }
        }
    }

    @Test("aws_key needs aws_secret; a proxy_url must be http")
    func schema() async throws {
        for config in [
            "{aws_key: k, aws_region: us-east-1}", "{aws_secret: s, aws_region: us-east-1}",
            "{proxy_url: 'https://proxy.test:3128', aws_region: us-east-1}", "{proxy_url: 'ftp://proxy.test:3128'}",
            "{unhandled_status: 99}", "{unhandled_status: 1000}",
        ] {
            let yaml = """
                _format_version: "3.0"
                routes:
                - hosts: [x.test]
                  plugins:
                  - name: aws-lambda
                    config: \(config)
                """
            await #expect(throws: (any Error).self, "\(config)") { try await withProxy(yaml) { _ in } }
        }
    }
}
