import Foundation
import Testing

/// Kong's grpc-web (32-grpc-web/01-proxy_spec, the binary and text cases): an HTTP/1.1
/// gRPC-Web client reaches a gRPC service over HTTP/2; the response body ends with the trailer
/// frame made of the upstream's trailers.
@Suite(.serialized)
struct PluginsGRPCWebTests {
    /// A gRPC frame.
    static func frame(_ flags: UInt8, _ message: String) -> [UInt8] {
        let bytes = Array(message.utf8)
        let n = UInt32(bytes.count)
        return [flags, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }

    @Test("grpc-web+proto and grpc-web-text: bodies translated, trailers as the last frame, CORS")
    func grpcWeb() async throws {
        let grpc = try GRPCTestUpstream()
        try await grpc.start()
        defer { Task { await grpc.stop() } }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: grpc://127.0.0.1:\(grpc.port)
              routes:
              - paths: [/hello.HelloService]
                protocols: [http, https]
                strip_path: false
                plugins:
                - name: grpc-web
                  config: {allow_origin_header: "https://app.test"}
            """
        try await withProxy(yaml) { proxy in
            let message = Self.frame(0, "hello")
            let trailer = Self.frame(0x80, "grpc-status:0\r\ngrpc-message:ok\r\n")
            let c = try await proxy.client()
            /// One gRPC-Web call on the kept-alive connection.
            func call(_ method: String, _ contentType: String, _ body: [UInt8]) async throws -> RawResponse {
                try await c.send(
                    ProxyHarness.request(
                        "POST", "/hello.HelloService/\(method)", host: "grpc.test",
                        headers: [("Content-Type", contentType), ("Content-Length", String(body.count))])
                        + String(decoding: body, as: UTF8.self))
                return try await c.readResponse()
            }
            let binary = try await call("SayHello", "application/grpc-web+proto", message)
            #expect(binary.status == 200)
            #expect(binary.header("Content-Type") == "application/grpc-web+proto")
            #expect(binary.header("Access-Control-Allow-Origin") == "https://app.test")
            // Upstream, the call was gRPC's.
            #expect(binary.header("x-echo-te") == "trailers")
            #expect(binary.body == message + trailer)

            let text = Data(message).base64EncodedString()
            let encoded = try await call("SayHello", "application/grpc-web-text", Array(text.utf8))
            #expect(encoded.status == 200)
            #expect(encoded.header("Content-Type") == "application/grpc-web-text")
            #expect(encoded.text == text + Data(trailer).base64EncodedString())
            // A response without messages is the trailer frame alone.
            let empty = try await call("SayHello", "application/grpc-web", [])
            #expect(empty.status == 200)
            #expect(empty.body == trailer)
            // A trailers-only answer has `Content-Length: 0` (as nginx's grpc module gives it):
            // its status stays in the head, where gRPC-Web clients read it, and no frame is
            // added after the announced length (Kong's would follow it and break the framing).
            let failed = try await call("Fail", "application/grpc-web", [])
            #expect(failed.status == 200)
            #expect(failed.header("grpc-status") == "12")
            #expect(failed.body.isEmpty)
            // The connection is still in step.
            #expect(try await call("SayHello", "application/grpc-web", []).body == trailer)
            await c.close()

            let preflight = try await proxy.send("OPTIONS", "/hello.HelloService/SayHello", host: "grpc.test")
            #expect(preflight.status == 200)
            #expect(preflight.text == "OK")
            #expect(preflight.header("Access-Control-Allow-Methods") == "POST")
            #expect(preflight.header("Access-Control-Allow-Origin") == "https://app.test")

            let json = try await proxy.send(
                "POST", "/hello.HelloService/SayHello", host: "grpc.test", headers: [("Content-Type", "application/json")],
                body: "{}")
            #expect(json.status == 400)
            #expect(json.text == "transcoding requests require a .proto file defining the service")
        }
    }

    @Test("JSON transcoded with proto: framed grpc-web+json, base64 text, bare application/json")
    func jsonWithProto() async throws {
        let protoPath = try temporaryFile(
            "echo.proto",
            """
            syntax = "proto3";
            package web.test;
            service Echoer { rpc Echo(EchoMsg) returns (EchoMsg); }
            message EchoMsg { repeated string array = 1; string nullable = 2; int32 count = 3; }
            """)
        defer { removeTemporaryFile(protoPath) }
        let grpc = try GRPCTestUpstream()
        try await grpc.start()
        defer { Task { await grpc.stop() } }
        let yaml = """
            _format_version: "3.0"
            services:
            - url: grpc://127.0.0.1:\(grpc.port)
              routes:
              - paths: [/web.test.Echoer]
                protocols: [http, https]
                strip_path: false
                plugins:
                - name: grpc-web
                  config: {proto: "\(protoPath)"}
              - paths: [/prefix]
                protocols: [http, https]
                plugins:
                - name: grpc-web
                  config: {proto: "\(protoPath)", pass_stripped_path: true}
              - paths: [/plain]
                protocols: [http, https]
                plugins:
                - name: grpc-web
            """
        try await withProxy(yaml) { proxy in
            let trailer = Self.frame(0x80, "grpc-status:0\r\ngrpc-message:ok\r\n")
            func call(_ contentType: String, _ body: [UInt8], path: String = "/web.test.Echoer/Echo") async throws -> RawResponse {
                try await proxy.send(
                    "POST", path, host: "grpc.test", headers: [("Content-Type", contentType)],
                    body: String(decoding: body, as: UTF8.self))
            }
            let framed = try await call("application/grpc-web+json", Self.frame(0, #"{"array":["a","b"],"count":7}"#))
            #expect(framed.status == 200)
            #expect(framed.header("Content-Type") == "application/grpc-web+json")
            #expect(framed.body == Self.frame(0, #"{"array":["a","b"],"nullable":"","count":7}"#) + trailer)

            let text = Data(Self.frame(0, #"{"nullable":"x"}"#)).base64EncodedString()
            let encoded = try await call("application/grpc-web-text+json", Array(text.utf8))
            #expect(encoded.status == 200)
            let expected = Data(Self.frame(0, #"{"array":[],"nullable":"x","count":0}"#)).base64EncodedString()
                + Data(trailer).base64EncodedString()
            #expect(encoded.text == expected)

            let bare = try await call("application/json", Array(#"{"count":-2}"#.utf8))
            #expect(bare.status == 200)
            #expect(bare.header("Content-Type") == "application/json")
            #expect(bare.text == #"{"array":[],"nullable":"","count":-2}"#)

            // Kong's 32-grpc-web "Pass stripped URI": looked up, and sent, without the prefix.
            let stripped = try await call("application/json", Array(#"{"count":1}"#.utf8), path: "/prefix/web.test.Echoer/Echo")
            #expect(stripped.status == 200)
            #expect(stripped.header("x-echo-path") == "/web.test.Echoer/Echo")
            #expect(stripped.text == #"{"array":[],"nullable":"","count":1}"#)
            // Without it, a gRPC service gets the request's own path.
            let unstripped = try await call("application/grpc-web+proto", Self.frame(0, ""), path: "/plain/web.test.Echoer/Echo")
            #expect(unstripped.header("x-echo-path") == "/plain/web.test.Echoer/Echo")
            let unknown = try await call("application/json", Array("{}".utf8), path: "/web.test.Echoer/Nope")
            #expect(unknown.status == 400)
            #expect(unknown.text == #"Unknown path "/web.test.Echoer/Nope""#)
        }
    }

    @Test("a proto file that is missing rejects the config, naming it")
    func missingProto() async throws {
        let yaml = """
            _format_version: "3.0"
            services:
            - url: grpc://127.0.0.1:9
              routes:
              - paths: [/x]
                plugins:
                - name: grpc-web
                  config: {proto: /nonexistent/hello.proto}
            """
        do {
            try await withProxy(yaml) { _ in }
            Issue.record("the config was accepted")
        } catch {
            #expect("\(error)".contains("hello.proto"), "\(error)")
        }
    }
}
