import KGateConfig
import KGateSchema
import KGateStore
import Logging
import Synchronization
import Testing

/// Shared pieces for the store tests.
enum Fixtures {
    /// One catalogue and loader for all tests (building them validates every schema).
    static let catalog = EntityCatalog()
    static let loader = DeclarativeLoader(catalog: catalog)

    /// A config a team might run: services with nested routes and plugins, an upstream with
    /// targets, consumers with credentials, a global plugin, tags.
    static let realistic = """
        _format_version: "3.0"
        services:
        - name: billing
          url: http://billing.internal:8080/v1
          tags: [team-a, prod]
          routes:
          - name: billing-api
            paths: [/billing]
            tags: [team-a]
            plugins:
            - name: key-auth
          - name: billing-admin
            paths: [/billing/admin]
          plugins:
          - name: rate-limiting
            config: {minute: 60, policy: local}
        - name: search
          url: http://search.internal
          routes:
          - name: search-api
            hosts: [search.example.com]
        upstreams:
        - name: billing.internal
          tags: [prod]
          targets:
          - target: 10.0.0.1:8080
          - target: 10.0.0.2:8080
            weight: 50
        consumers:
        - username: alice
          custom_id: c-alice
          tags: [prod]
          keyauth_credentials:
          - key: alice-key
          basicauth_credentials:
          - username: alice-basic
            password: secret
          acls:
          - group: admins
          plugins:
          - name: rate-limiting
            config: {minute: 5}
        - username: bob
          keyauth_credentials:
          - key: bob-key
        plugins:
        - name: cors

        """

    /// Loads YAML text, failing the test when it does not load.
    static func load(_ yaml: String, fileName: String = "kong.yml") throws -> DeclarativeConfig {
        switch loader.load(bytes: Array(yaml.utf8), fileName: fileName) {
        case .success(let config): return config
        case .failure(let error): throw LoadFailure(text: CLIErrorText.details(error))
        }
    }

    struct LoadFailure: Error, CustomStringConvertible {
        var text: String
        var description: String { text }
    }

    /// Config `k` of a family whose content encodes `k`: `k + 1` services named `c<k>-s<j>`, each
    /// tagged `c<k>` with one route; `variant` changes the text (and hash) but not the content.
    static func numbered(_ k: Int, variant: Int = 0) -> String {
        var yaml = "_format_version: \"3.0\"\n# variant \(variant)\nservices:\n"
        for j in 0...k {
            yaml += """
                - name: c\(k)-s\(j)
                  url: http://u\(j).internal
                  tags: [c\(k)]
                  routes:
                  - name: c\(k)-r\(j)
                    paths: [/c\(k)/\(j)]

                """
        }
        return yaml
    }

    /// The `name` of an entity row.
    static func name(_ row: Object?) -> String? { row?["name"]?.stringValue }
}

/// An artifact recording what page it was built from: lets readers check that a generation's
/// artifacts and page belong together.
struct StampBuilder: GenerationArtifactBuilder {
    struct Stamp: Sendable {
        var hash: String
        var services: Int
    }

    func build(page: Page, previous: Generation?) throws -> Stamp {
        Stamp(hash: page.hash, services: page.count(of: "services"))
    }
}

/// A builder that refuses pages holding a service named `poison`.
struct PickyBuilder: GenerationArtifactBuilder {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "a service is named poison" }
    }

    static var name: String { "picky" }

    func build(page: Page, previous: Generation?) throws -> Int {
        if page.entity("services", endpointKey: "poison") != nil { throw Refused() }
        return (previous?.artifact(for: PickyBuilder.self) ?? 0) + 1
    }
}

/// Log lines captured in memory.
final class LogCapture: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let storage = Mutex<[Line]>([])

    var lines: [Line] { storage.withLock { $0 } }

    var logger: Logger {
        Logger(label: "kgate.store.test") { _ in Handler(capture: self) }
    }

    fileprivate func append(_ line: Line) { storage.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append(Line(level: event.level, message: event.message.description, metadata: event.metadata ?? [:]))
        }
    }
}

/// Runs `body` while `coordinator.run()` runs in a child task, then stops it.
func withRunning<T: Sendable>(_ coordinator: ReloadCoordinator, _ body: () async throws -> T) async rethrows -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await coordinator.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
