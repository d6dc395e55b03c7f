import KGatePlugins
import KGateSchema
import Testing

/// Kong's `spec/03-plugins/14-request-termination`.
@Suite struct RequestTerminationTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: svc
          url: http://upstream
        routes:
        - {name: r1, service: svc, paths: [/r1], plugins: [{name: request-termination}]}
        - {name: r2, service: svc, paths: [/r2], plugins: [{name: request-termination, config: {status_code: 404}}]}
        - {name: r3, service: svc, paths: [/r3], plugins: [{name: request-termination, config: {status_code: 406, message: Invalid}}]}
        - {name: r4, service: svc, paths: [/r4], plugins: [{name: request-termination, config: {status_code: 204}}]}
        - name: r5
          service: svc
          paths: [/r5]
          plugins: [{name: request-termination, config: {body: "<html><body><h1>Service is down for maintenance</h1></body></html>", content_type: "text/html"}}]
        - {name: bare, paths: [/bare], plugins: [{name: request-termination}]}
        - {name: echo, service: svc, hosts: [api9.request-termination.test], paths: ["~/(?<parameter>[a-z]+)/200"], plugins: [{name: request-termination, config: {status_code: 404, echo: true}}]}
        - {name: trigger, service: svc, paths: [/t], plugins: [{name: request-termination, config: {status_code: 404, echo: true, trigger: gimme-an-echo}}]}
        """

    let runner: PluginRunner

    init() throws { runner = try Gate.runner(Self.config) }

    @Test func statusAndMessage() {
        for (route, status, message) in [
            ("r1", 503, "Service unavailable"), ("bare", 503, "Service unavailable"), ("r2", 404, "Not found"),
            ("r3", 406, "Invalid"),
        ] {
            let ex = Exchange(runner, route: route)
            #expect(ex.status == status)
            #expect(ex.ctx.exitResponse?.body == .json(["message": .string(message)]))
            #expect(ex.ctx.exitResponse?.contentType == "application/json; charset=utf-8")
            #expect(ex.ctx.exitResponse?.encodedBody == Array("{\"message\":\"\(message)\"}".utf8))
        }
        let noContent = Exchange(runner, route: "r4")
        #expect(noContent.status == 204)
        #expect(noContent.ctx.exitResponse?.body == .empty)
    }

    @Test func rawBody() {
        let ex = Exchange(runner, route: "r5")
        #expect(ex.status == 503)
        #expect(ex.ctx.exitResponse?.encodedBody == Array("<html><body><h1>Service is down for maintenance</h1></body></html>".utf8))
        #expect(ex.ctx.exitResponse?.contentType == "text/html")
    }

    @Test func echo() throws {
        var ex = Exchange(
            runner, route: "echo", path: "/status/200", query: "hello=there",
            headers: ["Host": "api9.request-termination.test", "Content-Length": "9"], body: "cool body")
        // The runner needs the body for echoes; the proxy attaches it before access.
        #expect(runner.needsRequestBody(ex.ctx))
        ex = Exchange(
            runner, route: "echo", path: "/status/200", query: "hello=there",
            headers: ["Host": "api9.request-termination.test", "Content-Length": "9"], body: "cool body")
        guard case .json(let json)? = ex.ctx.exitResponse?.body else {
            Issue.record("no JSON echo")
            return
        }
        #expect(ex.status == 404)
        #expect(json["message"] == "Not found")
        let request = try #require(json["request"]?.objectValue)
        #expect(request["headers"] == ["host": "api9.request-termination.test", "content-length": "9"])
        #expect(request["method"] == "GET")
        #expect(request["path"] == "/status/200")
        #expect(request["query"] == ["hello": "there"])
        #expect(request["raw_body"] == "cool body")
        #expect(request["body"] == nil)
        #expect(request["scheme"] == "http")
        #expect(json["matched_route"]?["name"] == "echo")
        #expect(json["matched_service"]?["name"] == "svc")
    }

    /// Kong's echo: `get_raw_body()` is "" without a body, form bodies are `get_post_args()`
    /// tables, and the matched entities come from the router, read without nulls.
    @Test func echoAsKongBuildsIt() throws {
        let bare = Exchange(runner, route: "echo", path: "/status/200", headers: ["Host": "api9.request-termination.test"])
        guard case .json(let json)? = bare.ctx.exitResponse?.body else {
            Issue.record("no JSON echo")
            return
        }
        #expect(json["request"]?["raw_body"] == "")
        let route = try #require(json["matched_route"]?.objectValue)
        #expect(route["name"] == "echo")
        #expect(route["snis"] == nil)
        #expect(!route.values.contains(.null))
        #expect(json["matched_service"]?.objectValue?.values.contains(.null) == false)

        let form = Exchange(
            runner, route: "echo", method: "POST", path: "/status/200",
            headers: [
                "Host": "api9.request-termination.test", "Content-Type": "application/x-www-form-urlencoded",
                "Content-Length": "12",
            ], body: "a&b=1&b=2&c=")
        guard case .json(let formJSON)? = form.ctx.exitResponse?.body else {
            Issue.record("no JSON echo")
            return
        }
        #expect(formJSON["request"]?["body"] == ["a": true, "b": ["1", "2"], "c": ""])

        // Multipart: lua-multipart's get_all_with_arrays collects a repeated name.
        let multipartBody = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nB\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--XyZ--\r\n"
        let multipart = Exchange(
            runner, route: "echo", method: "POST", path: "/status/200",
            headers: [
                "Host": "api9.request-termination.test", "Content-Type": "multipart/form-data; boundary=XyZ",
                "Content-Length": String(multipartBody.utf8.count),
            ], body: multipartBody)
        guard case .json(let multipartJSON)? = multipart.ctx.exitResponse?.body else {
            Issue.record("no JSON echo")
            return
        }
        #expect(multipartJSON["request"]?["body"] == ["a": ["1", "2"], "b": "B"])
    }

    @Test func echoReportsTheNodeID() throws {
        let nodeID = "5b7cd4b6-53c4-4f7b-8a0c-6f1f5e8e1a2b"
        let runner = try Gate.runner(Self.config, registry: PluginRegistry(BundledPluginSet.all(nodeID: nodeID)))
        let ex = Exchange(runner, route: "echo", path: "/status/200", headers: ["Host": "api9.request-termination.test"])
        guard case .json(let json)? = ex.ctx.exitResponse?.body else {
            Issue.record("no JSON echo")
            return
        }
        #expect(json["kong"]?["node_id"] == .string(nodeID))
        // Without one, a node still has an id.
        guard case .json(let other)? = Exchange(self.runner, route: "echo", path: "/x/200").ctx.exitResponse?.body,
            case .string(let generated)? = other["kong"]?["node_id"]
        else {
            Issue.record("no node id")
            return
        }
        #expect(UUIDFormat.isValid(generated))
    }

    @Test func trigger() {
        #expect(Exchange(runner, route: "trigger").status == 0)
        #expect(Exchange(runner, route: "trigger", headers: ["Gimme-An-Echo": "anything will do"]).status == 404)
        #expect(Exchange(runner, route: "trigger", query: "gimme-an-echo=anything+will+do").status == 404)
    }

    @Test func schema() {
        func load(_ config: String) -> String? {
            Gate.loadError("_format_version: \"3.0\"\nplugins:\n- name: request-termination\n  config: \(config)\n")
        }
        #expect(load("{status_code: 404}") == nil)
        #expect(load("{content_type: text/html, body: x}") == nil)
        #expect(load("{echo: true, trigger: header_name}") == nil)
        #expect(load("{status_code: abcd}")?.contains("expected an integer") == true)
        #expect(load("{status_code: 99}")?.contains("value should be between 100 and 599") == true)
        #expect(load("{message: error, body: test}")?.contains("message cannot be used with content_type or body") == true)
        #expect(load("{content_type: text/html}")?.contains("content_type requires a body") == true)
        #expect(load("{echo: true, body: x}")?.contains("echo cannot be used with content_type and body") == true)
    }
}
