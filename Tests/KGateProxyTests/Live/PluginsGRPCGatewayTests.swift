import Foundation
import Testing

/// Kong's grpc-gateway (28-grpc-gateway/01-proxy_spec), against a gRPC server that echoes each
/// call's message back: a REST call is matched to a method by the `google.api.http` options of
/// a `.proto` file, its message built from the path, the query or the JSON body, sent as gRPC
/// over HTTP/2, and the answer decoded to JSON with the method's output type.
@Suite(.serialized)
struct PluginsGRPCGatewayTests {
    /// Methods whose output type reads the echoed input: `SayHello`'s `HelloReply.reply` is
    /// field 1, the request's `greeting`.
    static let proto = """
        syntax = "proto3";
        package gw.test;
        import "google/api/annotations.proto";
        import "google/protobuf/timestamp.proto";

        service Bouncer {
          rpc SayHello(HelloRequest) returns (HelloReply) {
            option (google.api.http) = {
              get: "/v1/messages/{greeting}"
              additional_bindings {
                get: "/v1/messages/legacy/{greeting=**}"
              }
              body: "*"
            };
          }
          rpc Fail(HelloRequest) returns (HelloReply) {
            option (google.api.http) = { get: "/v1/unknown/{greeting}" };
          }
          rpc Bounce(Ball) returns (Ball) {
            option (google.api.http) = { post: "/bounce" body: "*" };
          }
          rpc GrowTail(Body) returns (Body) {
            option (google.api.http) = { get: "/v1/grow/tail" };
          }
          rpc Echo(EchoMsg) returns (EchoMsg) {
            option (google.api.http) = { post: "/v1/echo" body: "*" };
          }
        }

        message HelloRequest { string greeting = 1; bool boolean_test = 2; }
        message HelloReply { string reply = 1; bool boolean_test = 2; }
        message Ball { string message = 1; google.protobuf.Timestamp when = 2; }
        message Limb { int32 count = 1; string endings = 2; }
        message Body { string name = 1; Limb hands = 2; Limb legs = 3; Limb tail = 4; }
        message EchoMsg { repeated string array = 1; string nullable = 2; }
        """

    @Test("REST calls transcoded to gRPC and back, Kong's statuses and errors")
    func gateway() async throws {
        let protoPath = try temporaryFile("bouncer.proto", Self.proto)
        defer { removeTemporaryFile(protoPath) }

        let grpc = try GRPCTestUpstream()
        try await grpc.start()
        defer { Task { await grpc.stop() } }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: grpc://127.0.0.1:\(grpc.port)
              routes:
              - paths: [/]
                protocols: [http, https]
                plugins:
                - name: grpc-gateway
                  config: {proto: "\(protoPath)"}
            """
        try await withProxy(yaml) { proxy in
            func json(_ response: RawResponse) -> NSDictionary? {
                (try? JSONSerialization.jsonObject(with: Data(response.body))) as? NSDictionary
            }
            // The main binding: the path variable; the upstream got a gRPC call.
            let hello = try await proxy.get("/v1/messages/john_doe")
            #expect(hello.status == 200)
            #expect(hello.header("Content-Type") == "application/json")
            #expect(hello.header("Access-Control-Allow-Origin") == "*")
            #expect(hello.header("x-echo-path") == "/gw.test.Bouncer/SayHello")
            #expect(hello.header("x-echo-te") == "trailers")
            #expect(json(hello) == ["reply": "john_doe", "boolean_test": false])
            // With `body: *`, the query is not read.
            let unbound = try await proxy.get("/v1/messages/john_doe?boolean_test=true&arg2.test=2")
            #expect(json(unbound) == ["reply": "john_doe", "boolean_test": false])

            // The additional binding has no body: the query fills the message, `bool` as Kong's.
            for (arg, expected) in [("true", true), ("false", false), ("0", false), ("1", true)] {
                let legacy = try await proxy.get("/v1/messages/legacy/john/doe?boolean_test=\(arg)")
                #expect(legacy.status == 200)
                #expect(json(legacy) == ["reply": "john/doe", "boolean_test": expected], "boolean_test=\(arg)")
            }

            // Nested messages from dotted query names; an unknown name is dropped.
            let tail = try await proxy.get(
                "/v1/grow/tail?name=lizard&hands.count=0&hands.endings=fingers&legs.count=4&legs.endings=toes&tail.count=1&nope=1")
            #expect(
                json(tail) == [
                    "name": "lizard", "hands": ["count": 0, "endings": "fingers"], "legs": ["count": 4, "endings": "toes"],
                    "tail": ["count": 1, "endings": ""],
                ])

            // Timestamps go as RFC 3339 strings both ways (Kong's hooks: no zone on the way back).
            let ball = try await proxy.send(
                "POST", "/bounce", headers: [("Content-Type", "application/json")],
                body: #"{"message":"hi","when":"2023-01-02T03:04:05Z"}"#)
            #expect(ball.status == 200)
            #expect(json(ball) == ["message": "hi", "when": "2023-01-02T03:04:05"])

            // Empty repeated fields are JSON arrays (Kong's #10801).
            let echo = try await proxy.send(
                "POST", "/v1/echo", headers: [("Content-Type", "application/json")], body: #"{"array":[],"nullable":""}"#)
            #expect(echo.status == 200)
            #expect(echo.text == #"{"array":[],"nullable":""}"#)
            let full = try await proxy.send(
                "POST", "/v1/echo", headers: [("Content-Type", "application/json")], body: #"{"array":["a","b"],"nullable":"x"}"#)
            #expect(json(full) == ["array": ["a", "b"], "nullable": "x"])

            // A trailers-only gRPC error sets the HTTP status (12 UNIMPLEMENTED: 500).
            let failed = try await proxy.get("/v1/unknown/john_doe")
            #expect(failed.status == 500)
            #expect(failed.header("grpc-status") == "12")

            // Kong's 400s, their message as the body.
            let unknown = try await proxy.get("/v1/messages/john_doe/bai")
            #expect(unknown.status == 400)
            #expect(unknown.reason == "Bad Request")
            #expect(unknown.text == #"failed to transcode .proto file Unknown path "/v1/messages/john_doe/bai""#)
            let method = try await proxy.send("PUT", "/v1/echo")
            #expect(method.text == #"failed to transcode .proto file Unknown method "put""#)
            let invalid = try await proxy.send(
                "POST", "/bounce", headers: [("Content-Type", "application/json")], body: #"{"message":"invalid}"#)
            #expect(invalid.status == 400)
            #expect(invalid.text == "decode json err: Expected value but found unexpected end of string at character 21")
            let mismatch = try await proxy.send(
                "POST", "/bounce", headers: [("Content-Type", "application/json")], body: #"{"message":1}"#)
            #expect(mismatch.status == 400)
            #expect(mismatch.text == "failed to encode payload")
            let null = try await proxy.send(
                "POST", "/bounce", headers: [("Content-Type", "application/json")], body: #"{"message":null}"#)
            #expect(null.status == 400)

            let preflight = try await proxy.send("OPTIONS", "/v1/echo")
            #expect(preflight.status == 200)
            #expect(preflight.text == "OK")
            #expect(preflight.header("Access-Control-Allow-Methods") == "GET,POST,PATCH,DELETE")
        }
    }

    @Test("a proto file that is missing or does not parse rejects the config, saying where")
    func badProto() async throws {
        let broken = try temporaryFile("broken.proto", "syntax = \"proto3\";\nmessage A {\n  string a 1;\n}\n")
        defer { removeTemporaryFile(broken) }
        let missing = URL(fileURLWithPath: broken).deletingLastPathComponent().appendingPathComponent("none.proto").path
        for (path, expected) in [(broken, "broken.proto:"), (missing, "none.proto")] {
            let yaml = """
                _format_version: "3.0"
                services:
                - url: grpc://127.0.0.1:9
                  routes:
                  - paths: [/]
                    plugins:
                    - name: grpc-gateway
                      config: {proto: "\(path)"}
                """
            do {
                try await withProxy(yaml) { _ in }
                Issue.record("the config was accepted")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
