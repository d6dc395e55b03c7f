import Foundation
import KGatePlugins
import KGateSchema
import Testing

/// Kong's `kong.log.serialize()` and `file-log`.
struct FileLogTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: s
          url: http://upstream.test:8080/base
          routes:
          - name: r
            paths: [/r]
        consumers:
        - username: alice
          keyauth_credentials:
          - key: k1
        plugins:
        - name: key-auth
          route: r
        - name: file-log
          route: r
          config: {path: "@PATH@"}
        """

    private func served(status: Int = 200) -> ServedExchange {
        ServedExchange(
            requestURI: "/r/x?a=1&b&a=2", requestSize: 120, upstreamURI: "/base/x", upstreamStatus: "200",
            status: status, responseHeaders: ["Content-Type": "text/plain", "Set-Cookie": "a", "set-cookie": "b"],
            responseSize: 300, kongLatency: 3, proxyLatency: 7, receiveLatency: 1, requestLatency: 11,
            tries: [
                .init(ip: "10.0.0.1", port: 8080, balancerStart: 1_700_000_000_001, state: "failed", code: 502),
                .init(ip: "10.0.0.2", port: 8080, balancerStart: 1_700_000_000_004),
            ],
            clientIP: "192.0.2.7", hostPort: 8000, source: .upstream)
    }

    @Test func serializesAsKong() throws {
        let runner = try Gate.runner(Self.config.replacingOccurrences(of: "@PATH@", with: "/dev/null"))
        var exchange = Exchange(
            runner, route: "r", path: "/r/x", query: "a=1&b&a=2",
            headers: ["apikey": "k1", "Authorization": "Basic eDp5", "X-Multi": "1", "x-multi": "2"])
        exchange.ctx.served = served()
        exchange.ctx.serializedValues["request.extra"] = .string("v")
        exchange.ctx.serializedValues["correlation_id"] = .string("c-1")
        guard case .object(let root) = LogSerializer.serialize(exchange.ctx) else {
            Issue.record("not an object")
            return
        }

        let request = try #require(root["request"]?.objectValue)
        #expect(request["id"] == "req-1")
        #expect(request["uri"] == "/r/x?a=1&b&a=2")
        #expect(request["url"] == "http://example.test:8000/r/x?a=1&b&a=2")
        #expect(request["method"] == "GET")
        #expect(request["size"] == .integer(120))
        #expect(request["querystring"] == .object(["a": .array(["1", "2"]), "b": .bool(true)]))
        let headers = try #require(request["headers"]?.objectValue)
        #expect(headers["authorization"] == "REDACTED")
        #expect(headers["x-multi"] == .array(["1", "2"]))
        #expect(headers["apikey"] == "k1")
        // key-auth's upstream headers are request headers by the log phase, as in Kong.
        #expect(headers["x-consumer-username"] == "alice")
        #expect(request["extra"] == "v")

        #expect(root["upstream_uri"] == "/base/x?a=1&b&a=2")
        #expect(root["upstream_status"] == "200")
        let response = try #require(root["response"]?.objectValue)
        #expect(response["status"] == .integer(200))
        #expect(response["size"] == .integer(300))
        #expect(response["headers"]?.objectValue?["set-cookie"] == .array(["a", "b"]))
        #expect(root["latencies"] == .object(["kong": .integer(3), "proxy": .integer(7), "request": .integer(11), "receive": .integer(1)]))
        let tries = try #require(root["tries"]?.arrayValue)
        #expect(tries.count == 2)
        #expect(tries[0].objectValue?["state"] == "failed")
        #expect(tries[0].objectValue?["code"] == .integer(502))
        #expect(tries[1].objectValue?["state"] == nil)
        #expect(root["client_ip"] == "192.0.2.7")
        #expect(root["started_at"] == .integer(1_700_000_000_000))
        #expect(root["source"] == "upstream")
        #expect(root["workspace_name"] == "default")
        #expect(root["workspace"]?.stringValue?.count == 36)
        #expect(root["correlation_id"] == "c-1")
        #expect(root["route"]?.objectValue?["name"] == "r")
        #expect(root["service"]?.objectValue?["host"] == "upstream.test")
        #expect(root["consumer"]?.objectValue?["username"] == "alice")
        let entity = try #require(root["authenticated_entity"]?.objectValue)
        #expect(entity["consumer_id"] == root["consumer"]?.objectValue?["id"])
        #expect(entity["id"] != nil)
    }

    /// One JSON line per request, appended; `reopen` opens the path again for each (a file
    /// moved away is created anew).
    @Test(arguments: [false, true])
    func appendsLines(reopen: Bool) throws {
        let path = NSTemporaryDirectory() + "kgate-file-log-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let yaml = Self.config.replacingOccurrences(of: "@PATH@", with: path)
            .replacingOccurrences(of: "config: {path: \"\(path)\"}", with: "config: {path: \"\(path)\", reopen: \(reopen)}")
        let runner = try Gate.runner(yaml)
        for i in 0..<2 {
            var exchange = Exchange(runner, route: "r", path: "/r/\(i)", headers: ["apikey": "k1"])
            exchange.ctx.served = served()
            runner.log(&exchange.ctx)
            if i == 0 { try FileManager.default.moveItem(atPath: path, toPath: path + ".1") }
        }
        defer { try? FileManager.default.removeItem(atPath: path + ".1") }
        let first = try String(contentsOfFile: path + ".1", encoding: .utf8)
        let second = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        // Without reopen the open descriptor follows the moved file, as Kong's does.
        let lines = (first + second).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(reopen ? !second.isEmpty : second.isEmpty)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect((decoded["request"] as? [String: Any])?["uri"] as? String == "/r/x?a=1&b&a=2")
    }

    /// `custom_fields_by_lua`: each field's Lua runs in the log phase and sets its value
    /// (dotted keys reach into the entry; nil leaves a field out); an error logs nothing.
    @Test func customFieldsByLua() throws {
        let path = NSTemporaryDirectory() + "kgate-file-log-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fields = #"{route_name: "return kong.router.get_route().name", "request.headers.x-sum": "return 1 + 2", ctx: "return kong.ctx.shared.v", none: "return nil"}"#
        let yaml = Self.config.replacingOccurrences(
            of: "config: {path: \"@PATH@\"}", with: "config: {path: \"\(path)\", custom_fields_by_lua: \(fields)}")
        let runner = try Gate.runner(yaml)
        var exchange = Exchange(runner, route: "r", path: "/r/x", headers: ["apikey": "k1"])
        exchange.ctx.served = served()
        runner.log(&exchange.ctx)
        let line = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first ?? ""
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(decoded["route_name"] as? String == "r")
        #expect(((decoded["request"] as? [String: Any])?["headers"] as? [String: Any])?["x-sum"] as? Int == 3)
        #expect(decoded.keys.contains("none") == false)

        let failing = Self.config.replacingOccurrences(
            of: "config: {path: \"@PATH@\"}", with: "config: {path: \"\(path)\", custom_fields_by_lua: {a: \"error('no')\"}}")
        let failingRunner = try Gate.runner(failing)
        var second = Exchange(failingRunner, route: "r", path: "/r/x", headers: ["apikey": "k1"])
        second.ctx.served = served()
        failingRunner.log(&second.ctx)
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 1)
    }
}
