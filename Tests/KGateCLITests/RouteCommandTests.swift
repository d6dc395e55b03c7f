import Foundation
import Synchronization
import Testing

@testable import KGateCLI

/// `kgate route test`, run in-process on a small config.
@Suite struct RouteCommandTests {
    static let config = """
        _format_version: "3.0"
        services:
        - name: users
          url: http://users.internal:8080/api
          routes:
          - name: user-by-id
            paths: ["~/v1/users/(?<id>\\\\d+)$"]
            hosts: [api.example.com]
          - name: users-list
            paths: [/v1/users]
            methods: [POST]
            hosts: [api.example.com]
            strip_path: false
        - name: secure
          url: https://secure.internal
          routes:
          - name: tls-only
            protocols: [https]
            https_redirect_status_code: 301
            paths: [/secure]
        routes:
        - name: no-service
          paths: [/orphan]

        """

    private func run(_ arguments: [String], config: String = Self.config) throws -> (status: Int32, out: String, err: String) {
        let dir = NSTemporaryDirectory() + "kgate-route-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/kong.yml"
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        let out = Mutex("")
        let err = Mutex("")
        let console = Console(out: { t in out.withLock { $0 += t } }, err: { t in err.withLock { $0 += t } })
        let status = KGateCommand.run(arguments: ["route", "test", "-c", file] + arguments, console: console)
        return (status, out.withLock { $0 }, err.withLock { $0 })
    }

    /// The plugins that would run, by Kong's precedence, with the scope of the winning config.
    @Test func pluginsOfTheMatchedRoute() throws {
        let config = Self.config + """
            plugins:
            - name: rate-limiting
              config: {minute: 5}
            - name: rate-limiting
              route: users-list
              config: {minute: 50}
            - name: key-auth
              service: users
            - name: cors
            """
        let r = try run(["--host", "api.example.com", "--method", "POST", "--path", "/v1/users"], config: config)
        #expect(r.status == 0)
        #expect(r.out.contains("Plugins:  cors (global), key-auth (service), rate-limiting (route)\n"))
        let other = try run(["--path", "/secure", "--https"], config: config)
        #expect(other.out.contains("Plugins:  cors (global), rate-limiting (global)\n"))
    }

    @Test func regexRouteWithCaptures() throws {
        let r = try run(["--host", "api.example.com", "--path", "/v1/users/7?x=1"])
        #expect(r.status == 0)
        #expect(r.out.contains("Route:    user-by-id (id "))
        #expect(r.out.contains("Service:  users (id "))
        #expect(r.out.contains("Captures: 0='/v1/users/7' 1='7' id='7'"))
        #expect(r.out.contains("Upstream: http://users.internal:8080/api?x=1"))
        #expect(r.out.contains("Host:     users.internal:8080"))
        #expect(r.out.contains("Result:   proxied"))
    }

    @Test func prefixRouteWithoutStrip() throws {
        let r = try run([
            "--host", "api.example.com", "--path", "/v1/users/", "--method", "POST", "--router-flavor", "traditional",
        ])
        #expect(r.status == 0)
        #expect(r.out.contains("Route:    users-list"))
        #expect(r.out.contains("Matched:  host api.example.com, path /v1/users, method POST"))
        #expect(r.out.contains("Upstream: http://users.internal:8080/api/v1/users/"))
    }

    @Test func httpsOnlyAndServiceless() throws {
        let tls = try run(["--path", "/secure/x", "--host", "h.example"])
        #expect(tls.out.contains("Result:   301 [Location: https://h.example/secure/x]"))
        let orphan = try run(["--path", "/orphan"])
        #expect(orphan.out.contains("Service:  none"))
        #expect(orphan.out.contains("Result:   503 no Service found with those values"))
    }

    @Test func explainsMisses() throws {
        let r = try run(["--host", "api.example.com", "--path", "/v1/users", "--method", "DELETE"])
        #expect(r.status == 1)
        #expect(r.out.contains("Result:   404 no Route matched with those values"))
        #expect(r.out.contains("Closest routes:"))
        #expect(r.out.contains("FAIL methods: DELETE in [\"POST\"]"))
    }

    @Test func usageErrors() throws {
        #expect(try run(["--router-flavor", "fancy"]).status == 1)
        #expect(try run(["--header", "nocolon"]).status == 1)
    }
}
