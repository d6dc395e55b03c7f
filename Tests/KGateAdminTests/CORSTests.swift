import KGateSettings
import NIOHTTP1
import Testing

@testable import KGateAdmin

/// The Admin API's CORS headers with and without `admin_gui_url`
/// (Kong's `spec/02-integration/04-admin_api/23-cors_spec.lua`).
struct CORSTests {
    static func harness(adminGUIURL: String) throws -> AdminHarness {
        var settings = NodeSettings()
        settings.adminGUIURLs = adminGUIURL.split(separator: ",").compactMap { AdminGUIURL(String($0)) }
        return try AdminHarness(settings: settings)
    }

    static let adminGUIURLs = ["", "http://admin.api:9100", "http://admin.api:9100/path/to/any/way"]

    @Test(arguments: adminGUIURLs)
    func preflightAllowsTheRouteMethodsAndTheAskedHeaders(_ url: String) async throws {
        let h = try Self.harness(adminGUIURL: url)
        for (path, methods) in [
            ("/", "GET, HEAD, OPTIONS"), ("/routes", "GET, HEAD, OPTIONS, POST"),
            ("/routes/test", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        ] {
            let r = await h.send(.OPTIONS, path)
            #expect(r.status == 204)
            #expect(r.headers.first(name: "Allow") == methods)
            #expect(r.headers.first(name: "Access-Control-Allow-Methods") == methods)
        }
        #expect(await h.send(.OPTIONS, "/").headers.first(name: "Access-Control-Allow-Headers") == "Content-Type")
        let asked = await h.send(.OPTIONS, "/", headers: [("Access-Control-Request-Headers", "X-Header-1,X-Header-2")])
        #expect(asked.status == 204)
        #expect(asked.headers.first(name: "Access-Control-Allow-Headers") == "X-Header-1,X-Header-2")
    }

    @Test(arguments: adminGUIURLs, [HTTPMethod.OPTIONS, .GET])
    func allowOriginIsTheGUIOriginWhenSet(_ url: String, _ method: HTTPMethod) async throws {
        let h = try Self.harness(adminGUIURL: url)
        let withOrigin = await h.send(method, "/", headers: [("Origin", "http://example.com")])
        let withoutOrigin = await h.send(method, "/")
        #expect(withOrigin.status == (method == .GET ? 200 : 204))
        #expect(
            withOrigin.headers.first(name: "Access-Control-Allow-Origin")
                == (url.isEmpty ? "http://example.com" : "http://admin.api:9100"))
        #expect(
            withoutOrigin.headers.first(name: "Access-Control-Allow-Origin")
                == (url.isEmpty ? "*" : "http://admin.api:9100"))
        #expect(withOrigin.headers.first(name: "Access-Control-Allow-Credentials") == "true")
        #expect(withOrigin.headers.first(name: "Access-Control-Max-Age") == nil)
    }

    @Test(arguments: adminGUIURLs)
    func mainRequestIgnoresPreflightHeaders(_ url: String) async throws {
        let h = try Self.harness(adminGUIURL: url)
        let r = await h.send(
            .GET, "/",
            headers: [
                ("Access-Control-Request-Method", "PATCH"),
                ("Access-Control-Request-Headers", "X-Header-1,X-Header-2"),
            ])
        #expect(r.status == 200)
        #expect(r.headers.first(name: "Access-Control-Allow-Methods") == nil)
        #expect(r.headers.first(name: "Access-Control-Allow-Headers") == nil)
    }

    /// With several URLs, a request from any of their origins gets its own origin back.
    @Test func severalGUIURLs() async throws {
        let h = try Self.harness(adminGUIURL: "http://localhost:8002/manager,https://manager.example:8445/manager")
        func allowed(_ origin: String?) async -> String? {
            let r = await h.send(.GET, "/services", headers: origin.map { [("Origin", $0)] } ?? [])
            return r.headers.first(name: "Access-Control-Allow-Origin")
        }
        #expect(await allowed("https://manager.example:8445") == "https://manager.example:8445")
        #expect(await allowed("http://localhost:8002") == "http://localhost:8002")
        #expect(await allowed("http://localhost:8002/manager") == "http://localhost:8002")
        #expect(await allowed("https://evil.example") == "http://localhost:8002")
        #expect(await allowed(nil) == "http://localhost:8002")
        #expect(await h.send(.GET, "/nope", headers: [("Origin", "https://evil.example")])
            .headers.first(name: "Access-Control-Allow-Origin") == "http://localhost:8002")
    }
}
