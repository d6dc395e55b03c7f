import KGateSchema
import Testing

@testable import KGatePlugins

/// aws-lambda's pieces: Signature V4 against AWS's published test suite, the escaping and the
/// payload and answer rules of Kong's `request-util.lua`.
struct AWSLambdaTests {
    /// AWS's SigV4 test suite credentials and clock (20150830T123600Z).
    static let signer = AWSSigV4(
        credentials: .init(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let clock = 1_440_938_160

    @Test("get-vanilla and get-vanilla-query-order-key-case of AWS's SigV4 test suite")
    func signatureTestSuite() {
        let vanilla = Self.signer.sign(
            method: "GET", path: "/", query: [], headers: [("Host", "example.amazonaws.com")], body: [], at: Self.clock)
        #expect(vanilla.first?.1 == "20150830T123600Z")
        #expect(
            vanilla.last?.1
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        let ordered = Self.signer.sign(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com")], body: [], at: Self.clock)
        #expect(ordered.last?.1.hasSuffix("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500") == true)
    }

    @Test("temporary credentials sign X-Amz-Security-Token too")
    func sessionToken() {
        var signer = Self.signer
        signer.credentials.sessionToken = "token"
        let headers = signer.sign(method: "POST", path: "/", query: [], headers: [("Host", "h")], body: [1], at: Self.clock)
        #expect(headers.map(\.0) == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(headers.last?.1.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,") == true)
    }

    @Test("paths: each segment escaped again; function names keep ARN characters and lose slashes")
    func escaping() {
        #expect(AWSSigV4.canonicalPath("/2015-03-31/functions/a%2Fb/invocations") == "/2015-03-31/functions/a%252Fb/invocations")
        #expect(AWSSigV4.canonicalPath("/a//./b/") == "/a/b/")
        #expect(AWSLambdaPlugin.escapedURI("arn:aws:lambda:us-east-1:1:function:f") == "arn:aws:lambda:us-east-1:1:function:f")
        #expect(AWSLambdaPlugin.escapedURI("a/b c") == "a%2Fb%20c")
    }

    @Test("the credential chain's parsing: expirations, STS XML, container URIs")
    func credentialParsing() {
        #expect(AWSCredentialChain.epochSeconds("2015-08-30T12:36:00Z") == Self.clock)
        #expect(AWSCredentialChain.epochSeconds("2015-08-30T12:36:00.123Z") == Self.clock)
        #expect(AWSCredentialChain.epochSeconds("soon") == nil)
        #expect(AWSCredentialChain.element("AccessKeyId", in: "<a><AccessKeyId>K</AccessKeyId></a>") == "K")
        #expect(AWSCredentialChain.element("Token", in: "<a></a>") == nil)
        let full = AWSCredentialChain.parseURL("http://169.254.170.23/v1/credentials")
        #expect(full?.address == .init(tls: false, host: "169.254.170.23", port: 80))
        #expect(full?.path == "/v1/credentials")
        #expect(AWSCredentialChain.parseURL("https://creds.example.test:8443")?.address.port == 8443)
        #expect(AWSCredentialChain.parseURL("ftp://x") == nil)
    }

    @Test("kong.table.merge of the query and the body")
    func merging() {
        let query = Value.object(["a": .string("1")])
        #expect(AWSLambdaPlugin.merged(query, .object(["a": .string("2"), "b": .bool(true)])) == .object(["a": .string("2"), "b": .bool(true)]))
        #expect(AWSLambdaPlugin.merged(.object([:]), .array([.object([:]), .array([])])) == .array([.object([:]), .array([])]))
        #expect(AWSLambdaPlugin.merged(query, .array([.string("x")])) == .object(["a": .string("1"), "1": .string("x")]))
        #expect(AWSLambdaPlugin.merged(query, nil) == query)
    }

    @Test("JSON content types as lua-resty-aws matches them; legacy empty arrays")
    func contentTypes() {
        #expect(AWSLambdaPlugin.isJSON("application/json"))
        #expect(AWSLambdaPlugin.isJSON("Application/vnd.api+JSON; charset=utf-8"))
        #expect(AWSLambdaPlugin.isJSON("application/json+test"))
        #expect(!AWSLambdaPlugin.isJSON("text/json"))
        #expect(
            AWSLambdaPlugin.emptyArraysAsObjects(.object(["a": .array([]), "b": .array([.array([])])]))
                == .object(["a": .object([:]), "b": .array([.object([:])])]))
    }

    @Test("proxy responses: validation messages as Kong's")
    func proxyResponses() {
        func failure(_ json: String) -> String? {
            if case .failure(let f) = AWSLambdaPlugin.proxyResponse(.text(Array(json.utf8))) { return f.message }
            return nil
        }
        #expect(failure(#"{"statusCode": 700}"#) == "statusCode validation failed")
        #expect(failure(#"{"statusCode": 200, "headers": null}"#) == "headers must be a table")
        #expect(failure(#"{"statusCode": "200", "isBase64Encoded": 1}"#) == "isBase64Encoded must be a boolean")
        guard case .success(let ok) = AWSLambdaPlugin.proxyResponse(.text(Array(#"{"statusCode": "201", "body": "x"}"#.utf8))) else {
            Issue.record("refused")
            return
        }
        #expect(ok.status == 201)
        #expect(ok.body == Array("x".utf8))
    }
}
