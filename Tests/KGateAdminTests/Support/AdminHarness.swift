import KGateConfig
import KGateHTTP
import KGateSchema
import KGateSettings
import KGateStore
import Logging
import NIOCore
import NIOHTTP1

@testable import KGateAdmin

/// An Admin API over a real store and reload coordinator (its load loop running), answered
/// in process through `handle(_:)`.
final class AdminHarness: Sendable {
    let store: ConfigStore
    let coordinator: ReloadCoordinator
    let api: AdminAPI
    let loop: Task<Void, Never>

    /// A response as tests look at it.
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        /// The body parsed as JSON (nil when it is not).
        var json: Value? {
            guard case .success(let doc) = JSONReader.read(Array(body.utf8)) else { return nil }
            return doc.value
        }
        subscript(key: String) -> Value? { json?[key] }
        var message: String? { json?["message"]?.stringValue }
        var data: [Value] { json?["data"]?.arrayValue ?? [] }
    }

    static let quiet = Logger(label: "admin-test") { _ in SwiftLogNoOpLogHandler() }

    init(
        settings: NodeSettings = NodeSettings(), catalog: EntityCatalog = EntityCatalog(),
        statusBody: @escaping @Sendable () -> Value = { ["status": "ok"] }, surface: AdminAPI.Surface = .admin,
        cache: NodeCache? = nil
    ) throws {
        store = try ConfigStore(catalog: catalog)
        coordinator = ReloadCoordinator(store: store, loader: DeclarativeLoader(catalog: catalog), logger: Self.quiet)
        api = AdminAPI(
            settings: settings, catalog: catalog, coordinator: coordinator, statusBody: statusBody, logger: Self.quiet,
            nodeID: "5b7cd4b6-53c4-4f7b-8a0c-6f1f5e8e1a2b", surface: surface, cache: cache)
        let coordinator = self.coordinator
        loop = Task { await coordinator.run() }
    }

    deinit { loop.cancel() }

    /// Loads a config as a file reload would (source `string`).
    @discardableResult
    func load(_ yaml: String) async -> ReloadOutcome {
        await coordinator.reload(.bytes(Array(yaml.utf8), source: .string(name: "test"), force: true))
    }

    /// Sends a request to `handle(_:)`.
    func send(
        _ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: String = ""
    ) async -> Reply {
        var h = HTTPHeaders()
        for (k, v) in headers { h.add(name: k, value: v) }
        let request = HTTPRequest(method: method, uri: uri, headers: h, body: ByteBuffer(string: body))
        let response = await api.handle(request)
        var b = response.body
        return Reply(
            status: Int(response.status.code), headers: response.headers,
            body: b.readString(length: b.readableBytes) ?? "")
    }

    func get(_ uri: String) async -> Reply { await send(.GET, uri) }

    /// A JSON request.
    func json(_ method: HTTPMethod, _ uri: String, _ body: Value) async -> Reply {
        await send(method, uri, headers: [("Content-Type", "application/json")], body: body.jsonText)
    }
}

/// The pieces of Kong's fixtures the tests use.
enum Fixture {
    /// An EC P-256 self-signed certificate and its key (OpenSSL 3).
    static let cert = """
        -----BEGIN CERTIFICATE-----
        MIIBcTCCARegAwIBAgIUJhldJM7JxMU1+N75klXki/zFVbMwCgYIKoZIzj0EAwIw
        DTELMAkGA1UEAwwCY2EwIBcNMjYxMTIxMDEyNzEyWhgPMjEyNjEwMjgwMTI3MTJa
        MA0xCzAJBgNVBAMMAmNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzehXBQH0
        yCTCiBlyQX0HZRctKfLwaoIKSFVWCHDVJyAid5QAXXOP4Wpk/hrdG4qZy0CNrIa6
        I07vvJtkUxSeiKNTMFEwHQYDVR0OBBYEFCXXJcdDLjxC8P9cyQb4WUtgYYpEMB8G
        A1UdIwQYMBaAFCXXJcdDLjxC8P9cyQb4WUtgYYpEMA8GA1UdEwEB/wQFMAMBAf8w
        CgYIKoZIzj0EAwIDSAAwRQIhAJYHnpAA2n0Ur+W4o2veF6ousmw3Yxak2mIoPcwA
        eM5FAiACJrRP9ErA7nRwscmysRshBH7G0tvSewDvhps+fsWVug==
        -----END CERTIFICATE-----

        """
    static let key = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUF7iYS/tUIk7nZo9
        8aWYROIEGOxUlcxWmtEPsBChf8ehRANCAATN6FcFAfTIJMKIGXJBfQdlFy0p8vBq
        ggpIVVYIcNUnICJ3lABdc4/hamT+Gt0bipnLQI2shrojTu+8m2RTFJ6I
        -----END PRIVATE KEY-----

        """

    /// A config with a bit of everything, fixed ids where tests need them.
    static let sample = """
        _format_version: "3.0"
        services:
        - name: svc-a
          id: 0855b320-0dd2-547d-891d-601e9b38647f
          url: http://example.com:8080/base
          tags: [team-a, public]
          routes:
          - name: route-a
            id: 481a9539-f49c-51b6-b2e2-fe99ee68866c
            paths: [/a]
            tags: [team-a]
          plugins:
          - name: key-auth
            id: 661199ff-aa1c-5498-982c-d57a4bd6e48b
        - name: svc-b
          host: b.example.com
          tags: [team-b]
        routes:
        - name: lonely
          paths: [/lonely]
        consumers:
        - username: alice
          custom_id: alice-1
          id: 4b1b701d-de2b-5588-9aa2-3b97061d9f52
          tags: [corp_ a, consumer_ 1]
          keyauth_credentials:
          - key: alice-key
          acls:
          - group: admins
        - username: bob
          tags: [corp_ a, consumer_ 2]
        upstreams:
        - name: up
          targets:
          - target: 10.0.0.1
          - target: 10.0.0.2:81
        """
}

extension Value {
    /// The value with object keys sorted at every level (JSON object order does not matter).
    var unordered: Value {
        switch self {
        case .object(let o):
            return .object(
                Object(uniqueKeysWithValues: o.sorted { $0.key < $1.key }.map { ($0.key, $0.value.unordered) }))
        case .array(let a): return .array(a.map(\.unordered))
        default: return self
        }
    }
}

/// `value.unordered`, for literals.
func unordered(_ value: Value) -> Value { value.unordered }
