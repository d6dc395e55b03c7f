import KGateConfig
import KGateHTTP
import KGateSchema
import KGateSettings
import NIOCore
import NIOHTTP1
import Testing

@testable import KGateAdmin

/// The route table, body parsing and the YAML writer, without a store.
@Suite struct RoutingBodyTests {
    static let table = AdminRouteTable(catalog: EntityCatalog())

    static func template(_ path: String) -> String? { table.match(path: Substring(path))?.route.template }

    @Test(arguments: [
        ("/", "/"),
        ("/services", "/services"),
        ("/services/", "/services"),
        ("/services/abc", "/services/:services"),
        ("/plugins/enabled", "/plugins/enabled"),
        ("/plugins/abc", "/plugins/:plugins"),
        ("/schemas/plugins/validate", "/schemas/plugins/validate"),
        ("/schemas/services/validate", "/schemas/:db_entity_name/validate"),
        ("/schemas/plugins/key-auth", "/schemas/plugins/:name"),
        ("/schemas/routes", "/schemas/:name"),
        ("/upstreams/u/targets/all", "/upstreams/:upstreams/targets/all"),
        ("/upstreams/u/targets/t", "/upstreams/:upstreams/targets/:targets"),
        ("/routes/r/service", "/routes/:routes/service"),
        ("/consumers/c/key-auth/k", "/consumers/:consumers/key-auth/:keyauth_credentials"),
        ("/key-sets/s/keys", "/key-sets/:key_sets/keys"),
        ("/certificates/c/snis", "/certificates/:certificates/snis"),
        ("/tags/a%20b", "/tags/:tags"),
    ])
    func routes(_ path: String, _ expected: String) {
        #expect(Self.template(path) == expected)
    }

    /// Lapis matches the path as sent (no empty parameter) and Kong's `default_route` retries
    /// once without a final `/`: a doubled slash anywhere else is not found.
    @Test(arguments: ["//services", "/services//", "/services//routes", "//", "///", "/services/x//"])
    func emptySegments(_ path: String) async throws {
        let h = try AdminHarness()
        let r = await h.get(path)
        if path == "//" {
            // `//` without its final slash is `/`.
            #expect(r.status == 200)
            #expect(r["tagline"] == "Welcome to kong")
            return
        }
        #expect(r.status == 404)
        #expect(r.json == ["message": "Not found"])
        #expect(Self.template(path) == nil)
    }

    @Test func doubledSlashBeforeConfig() async throws {
        let h = try AdminHarness()
        let request = HTTPRequest(method: .POST, uri: "//config")
        #expect(!AdminAPI.needsAsyncHandling(request))
        #expect(AdminAPI.needsAsyncHandling(HTTPRequest(method: .POST, uri: "/config/?check_hash=1")))
        let r = await h.send(
            .POST, "//config", headers: [("Content-Type", "application/yaml")], body: "_format_version: '3.0'")
        #expect(r.status == 404)
        #expect(r.json == ["message": "Not found"])
    }

    /// `21-truncated_arguments_spec.lua`: Kong's entity endpoints read at most 1000 query or
    /// form arguments (`kong.api.arguments.load`); its core routes have no such limit.
    @Test func tooManyArguments() async throws {
        let h = try AdminHarness()
        let many = (1...1001).map { "a=\($0)" }.joined(separator: "&")
        let uri = await h.get("/plugins?" + many)
        #expect(uri.status == 400)
        #expect(uri.json == ["message": "Too many arguments"])
        #expect(await h.get("/plugins?" + (1...1000).map { "a=\($0)" }.joined(separator: "&")).status == 200)
        #expect(await h.get("/upstreams/u/targets?" + many).message == "Too many arguments")
        #expect(await h.get("/?" + many).status == 200)
        #expect(await h.get("/status?" + many).status == 200)

        let form = "name=ip-restriction&" + (1...1001).map { "config.allow=\($0)" }.joined(separator: "&")
        let post = await h.send(
            .POST, "/plugins", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        #expect(post.status == 400)
        #expect(post.json == ["message": "Too many arguments"])
    }

    /// nginx's `location /robots.txt` of Kong's admin server.
    @Test func robots() async throws {
        let h = try AdminHarness(settings: NodeSettings(adminToken: "secret"))
        let r = await h.get("/robots.txt")
        #expect(r.status == 200)
        #expect(r.body == "User-agent: *\nDisallow: /")
        #expect(r.headers.first(name: "Content-Type") == "text/plain")
        #expect(r.headers.first(name: "Access-Control-Allow-Origin") == nil)
    }

    @Test func unknownPathsAndParameters() throws {
        #expect(Self.template("/nope") == nil)
        #expect(Self.template("/workspaces") == nil)
        #expect(Self.template("/services/a/b/c/d") == nil)
        let match = try #require(Self.table.match(path: "/services/my%20svc/routes"))
        #expect(match.params["services"] == "my svc")
        #expect(match.rawParams["services"] == "my%20svc")
        #expect(match.route.allows(.HEAD) && match.route.allows(.POST) && !match.route.allows(.DELETE))
    }

    @Test func endpointListIsSortedBySegment() {
        let list = Self.table.endpointList
        #expect(list.first == "/")
        let a = list.firstIndex(of: "/consumers/{consumers}/plugins")!
        let b = list.firstIndex(of: "/consumers/{consumers}/plugins/{plugins}")!
        let c = list.firstIndex(of: "/consumers/{consumers}/acls")!
        #expect(c < a && a < b)
        #expect(Set(list).count == list.count)
    }

    static func request(_ type: String?, _ body: String, method: HTTPMethod = .POST) -> HTTPRequest {
        var headers = HTTPHeaders()
        if let type { headers.add(name: "Content-Type", value: type) }
        return HTTPRequest(method: method, uri: "/x", headers: headers, body: ByteBuffer(string: body))
    }

    static func params(_ type: String, _ body: String) -> Object? {
        guard case .ok(let b) = RequestBody.read(request(type, body)) else { return nil }
        return b.params
    }

    @Test func contentTypes() {
        #expect(RequestBody.contentTypeRefusal(Self.request(nil, ""), acceptsYAML: false) == nil)
        #expect(
            RequestBody.contentTypeRefusal(Self.request(nil, "x"), acceptsYAML: false)?.status == .unsupportedMediaType)
        #expect(
            RequestBody.contentTypeRefusal(Self.request("application/json; charset=utf-8", "{}"), acceptsYAML: false)
                == nil)
        #expect(
            RequestBody.contentTypeRefusal(Self.request("application/yaml", "a: 1"), acceptsYAML: false)?.status
                == .unsupportedMediaType)
        #expect(RequestBody.contentTypeRefusal(Self.request("application/yaml", "a: 1"), acceptsYAML: true) == nil)
        #expect(
            RequestBody.contentTypeRefusal(Self.request("text/plain", "x", method: .GET), acceptsYAML: false) == nil)
    }

    @Test func jsonBodies() {
        #expect(Self.params("application/json", #"{"a":[1,2]}"#) == ["a": [1, 2]])
        guard case .refused(let r) = RequestBody.read(Self.request("application/json", "{")) else {
            Issue.record("accepted")
            return
        }
        #expect(String(buffer: r.body) == #"{"message":"Cannot parse JSON body"}"#)
        guard case .refused = RequestBody.read(Self.request("application/json", "")) else {
            Issue.record("accepted an empty JSON body")
            return
        }
    }

    @Test func formBodies() {
        let form = Self.params(
            "application/x-www-form-urlencoded",
            "name=svc&hosts[]=a&hosts[]=b&paths[2]=/y&paths[1]=/x&service.id=abc&config.key_names=k&tags=t1&tags=t2&x=a+b%21"
        )
        #expect(form?["name"] == "svc")
        #expect(form?["hosts"] == ["a", "b"])
        #expect(form?["paths"] == ["/x", "/y"])
        #expect(form?["service"] == ["id": "abc"])
        #expect(form?["config"] == ["key_names": "k"])
        #expect(form?["tags"] == ["t1", "t2"])
        #expect(form?["x"] == "a b!")
        #expect(NestedParams.keyPath("a.b[1][]") == ["a", "b", "1", "[]"])
        let deep = String(repeating: "a.", count: 100_000) + "b=1&ok=2"
        #expect(Self.params("application/x-www-form-urlencoded", deep) == ["ok": "2"])
    }

    @Test func inference() throws {
        let schema = try #require(EntityCatalog().schemas["services"])
        let typed = NestedParams.infer(
            ["port": "8080", "retries": "", "tags": "one", "enabled": "false", "name": "s", "host": "h"], schema: schema
        )
        #expect(typed["port"] == 8080)
        #expect(typed["retries"] == .null)
        #expect(typed["tags"] == ["one"])
        #expect(typed["enabled"] == false)
        #expect(typed["name"] == "s")
    }

    @Test func multipartBodies() {
        let body =
            "preamble\r\n--b0\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\nline1\r\nline2\r\n"
            + "--b0\r\nContent-Disposition: form-data; name=\"obj\"\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n--b0--\r\n"
        let params = Self.params("multipart/form-data; boundary=\"b0\"", body)
        #expect(params?["config"] == "line1\r\nline2")
        #expect(params?["obj"] == ["a": 1])
    }

    @Test(arguments: [
        "plain", "/path/x", "3.0", "true", "Yes", "null", "~", "", " lead", "trail ", "a: b", "#c", "-x", "1_000",
        "0x1F",
        "10:30", "é", "tab\there", "quote\"s", "back\\slash", "multi\nline\n", "multi\nline", "two\n\n", "\u{2028}",
        "[x]", "{x}", "*a", "&a", "!t", "%p", "@a", "`b", "_1.5", "inf", ".nan", "e5",
    ])
    func yamlStringsReadBack(_ text: String) throws {
        let doc = YAMLWriter.document(["k": .string(text), "list": [.string(text)], "nested": ["in": .string(text)]])
        let value = try ConfigText.parse(doc, fileName: "x.yml").get().value
        #expect(value["k"] == .string(text), "\(doc)")
        #expect(value["list"] == [.string(text)])
        #expect(value["nested"]?["in"] == .string(text))
    }

    @Test func yamlScalarsReadBack() throws {
        let original: Value = [
            "int": 42, "neg": -7, "double": 1.5, "whole": 3.0, "tiny": 1e-20, "huge": 1e300, "yes": true, "no": false,
            "nothing": .null, "empty_list": [], "empty_map": [:], "nested": [["a": 1, "b": [1, 2]], [[1], []]],
            "key with space": "v", "123": "numeric key",
        ]
        let doc = YAMLWriter.document(original)
        let value = try ConfigText.parse(doc, fileName: "x.yml").get().value
        #expect(value == original, "\(doc)")
    }
}
