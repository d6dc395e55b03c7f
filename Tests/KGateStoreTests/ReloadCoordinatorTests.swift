import Foundation
import KGateConfig
import KGateStore
import Logging
import Synchronization
import Testing

@Suite("ReloadCoordinator")
struct ReloadCoordinatorTests {
    let capture = LogCapture()
    let store: ConfigStore
    let coordinator: ReloadCoordinator

    init() throws {
        store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder(), PickyBuilder()])
        coordinator = ReloadCoordinator(store: store, loader: Fixtures.loader, logger: capture.logger)
    }

    static let invalid = """
        _format_version: "3.0"
        services:
        - name: a
          url: http://a
          retries: many

        """

    private func bytes(_ text: String, name: String = "kong.yml") -> ReloadRequest {
        .bytes(Array(text.utf8), source: .string(name: name), fileName: name)
    }

    @Test func statusBeforeAnyConfig() {
        let status = coordinator.status
        #expect(status.generation == 0)
        #expect(status.configurationHash == "00000000000000000000000000000000")
        #expect(status.lastError == nil && status.lastOutcome == nil)
    }

    @Test func reloadFlipsAndReports() async throws {
        let events = Mutex<[StoreEvent]>([])
        coordinator.events.onEvent { event in events.withLock { $0.append(event) } }
        let outcome = await withRunning(coordinator) { await coordinator.reload(bytes(Fixtures.realistic)) }

        guard case .flipped(let flipped) = outcome else { Issue.record("not flipped: \(outcome)"); return }
        let g = store.current
        #expect(flipped.generation == 1 && g.number == 1)
        #expect(flipped.oldHash == ConfigHash.empty && flipped.newHash == g.hash)
        #expect(flipped.entityCounts["routes"] == 3)
        #expect(flipped.durations.parse > .zero && flipped.durations.build > .zero)
        #expect(g.source == .string(name: "kong.yml"))

        let status = coordinator.status
        #expect(status.generation == 1)
        #expect(status.configurationHash == g.hash && status.configurationHash.count == 32)
        #expect(status.entityCounts == g.entityCounts)
        #expect(status.durations == flipped.durations)
        #expect(status.lastOutcome == .flipped && status.lastError == nil)
        #expect(status.counters.flipped == 1)

        let lines = capture.lines
        #expect(lines.count == 1)
        #expect(lines.first?.level == .notice && lines.first?.message == "configuration reloaded")
        #expect(lines.first?.metadata["config.hash.new"] == "\(g.hash)")
        #expect(lines.first?.metadata["config.hash.old"] == "\(ConfigHash.empty)")
        #expect(lines.first?.metadata["config.entities"]?.description.contains("services=2") == true)
        #expect(lines.first?.metadata["config.duration.flip_ms"] != nil)
        #expect(events.withLock { $0.count } == 1)
    }

    @Test func rejectedConfigKeepsTheOldGeneration() async throws {
        let (first, second) = await withRunning(coordinator) {
            (await coordinator.reload(bytes(Fixtures.realistic)), await coordinator.reload(bytes(Self.invalid)))
        }
        #expect(first.generation == 1)
        guard case .rejected(let error, let declarative) = second else { Issue.record("not rejected"); return }
        #expect(declarative != nil)
        #expect(error.stage == .parse)
        #expect(error.message == "services[1].retries: expected an integer")
        #expect(error.file == "kong.yml" && error.line == 5 && error.column == 12)
        #expect(error.description == "kong.yml:5:12: services[1].retries: expected an integer")
        #expect(error.details.contains("in 'retries': expected an integer (kong.yml:5:12)"))

        #expect(store.current.number == 1)
        #expect(store.current.page.entity("services", endpointKey: "billing") != nil)
        let status = coordinator.status
        #expect(status.generation == 1 && status.lastOutcome == .rejected)
        #expect(status.lastError == error)
        #expect(status.counters.rejected == 1 && status.counters.flipped == 1)

        let lines = capture.lines
        #expect(lines.count == 2)
        #expect(lines.last?.level == .error)
        #expect(lines.last?.metadata["error.line"] == "5" && lines.last?.metadata["error.column"] == "12")
        #expect(lines.last?.metadata["config.generation"] == "1")
    }

    /// Kong answers a refused `POST /config` with its errors and logs nothing a check for
    /// `[error]` or `[warn]` would find (its 15-off_spec checks the log after each one); a bad
    /// file is still an error in the log.
    @Test func adminRejectionsAreAnsweredNotLoggedAsErrors() async {
        let admin = ReloadRequest(input: .bytes(Array(Self.invalid.utf8)), source: .admin, fileName: nil, force: false)
        let outcome = await withRunning(coordinator) { await coordinator.reload(admin) }
        guard case .rejected = outcome else { Issue.record("not rejected"); return }
        #expect(capture.lines.map(\.level) == [.info])
        #expect(capture.lines.first?.message == "configuration rejected, keeping the active configuration")
    }

    @Test func syntaxErrorHasAPosition() async {
        let outcome = await withRunning(coordinator) {
            await coordinator.reload(bytes("_format_version: \"3.0\"\nservices: [\n  - a: b\n"))
        }
        let error = outcome.error
        #expect(error?.stage == .parse)
        #expect(error?.message.hasPrefix("failed parsing declarative configuration") == true)
        #expect(error?.line != nil && error?.column != nil)
        #expect(store.current.number == 0)
        #expect(coordinator.status.configurationHash == ConfigHash.empty)
    }

    @Test func identicalHashIsSkipped() async {
        let request = bytes(Fixtures.numbered(2))
        let outcomes = await withRunning(coordinator) {
            [
                await coordinator.reload(request), await coordinator.reload(request),
                await coordinator.reload(ReloadRequest(input: request.input, source: .admin, fileName: nil, force: true)),
            ]
        }
        #expect(outcomes[0].generation == 1)
        guard case .skipped(let hash) = outcomes[1] else { Issue.record("not skipped"); return }
        #expect(outcomes[2].generation == 2)  // forced: reloaded although identical
        #expect(hash == store.current.hash)
        let status = coordinator.status
        #expect(status.counters.skipped == 1 && status.counters.flipped == 2)
        #expect(capture.lines.map(\.message) == [
            "configuration reloaded", "configuration unchanged, reload skipped", "configuration reloaded",
        ])
    }

    @Test func artifactFailureRejects() async {
        let poison = "_format_version: \"3.0\"\nservices:\n- name: poison\n  url: http://p\n"
        let rejected = Mutex<[ConfigRejected]>([])
        coordinator.events.onEvent { event in
            if case .configRejected(let r) = event { rejected.withLock { $0.append(r) } }
        }
        let outcomes = await withRunning(coordinator) {
            [await coordinator.reload(bytes(Fixtures.numbered(1))), await coordinator.reload(bytes(poison))]
        }
        #expect(outcomes[0].generation == 1)
        #expect(outcomes[1].error?.stage == .build)
        #expect(outcomes[1].error?.message == "a service is named poison")
        #expect(store.current.number == 1)
        #expect(coordinator.status.lastError?.stage == .build)
        #expect(rejected.withLock { $0.map(\.summary) } == ["a service is named poison"])
        #expect(rejected.withLock { $0.first?.source } == .string(name: "kong.yml"))
    }

    @Test func fileRequests() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("kong.yml").path
        try Fixtures.numbered(1).write(toFile: path, atomically: true, encoding: .utf8)

        let (loaded, missing) = await withRunning(coordinator) {
            let loaded = await coordinator.reload(.file(path))
            try? FileManager.default.removeItem(atPath: path)
            return (loaded, await coordinator.reload(.file(path)))
        }
        #expect(loaded.generation == 1)
        #expect(store.current.source == .file(path: path))
        #expect(missing.error?.stage == .read)
        #expect(missing.error?.message.hasPrefix("could not read file '\(path)'") == true)
        #expect(store.current.number == 1)
        #expect(coordinator.status.source == .file(path: path))
    }

    @Test func newerRequestSupersedesQueuedOne() async throws {
        // Before the executor runs: the first request is started, the second waits, and the
        // third supersedes it (the second and third race, so either may be the one superseded).
        coordinator.submit(bytes(Fixtures.numbered(1)))
        let outcomes = await withTaskGroup(of: (Int, ReloadOutcome)?.self) { group in
            group.addTask { (2, await coordinator.reload(bytes(Fixtures.numbered(2)))) }
            group.addTask { (3, await coordinator.reload(bytes(Fixtures.numbered(3)))) }
            while coordinator.status.counters.superseded == 0 { try? await Task.sleep(for: .milliseconds(1)) }
            group.addTask {
                await coordinator.run()
                return nil
            }
            var results: [Int: ReloadOutcome] = [:]
            for await result in group {
                guard let (k, outcome) = result else { continue }
                results[k] = outcome
                if results.count == 2 { group.cancelAll() }
            }
            return results
        }
        let survivor = try #require(outcomes.first { $0.value.generation != nil })
        let loser = try #require(outcomes.first { if case .superseded = $0.value { true } else { false } })
        #expect(survivor.key != loser.key)
        #expect(survivor.value.generation == 2)
        #expect(store.current.number == 2)
        #expect(store.current.page.count(of: "services") == survivor.key + 1)
        let status = coordinator.status
        #expect(status.counters.superseded == 1 && status.counters.flipped == 2)
        // One log line per load that ran; none for the superseded request.
        #expect(capture.lines.count == 2)
    }

    @Test func stoppedCoordinatorAnswersShutdown() async {
        await withRunning(coordinator) {}
        #expect(await coordinator.reload(bytes(Fixtures.numbered(1))).generation == nil)
        if case .shutdown = await coordinator.reload(bytes(Fixtures.numbered(1))) {} else { Issue.record("not shutdown") }
        #expect(store.current.number == 0)
        #expect(capture.lines.isEmpty)
    }
}
