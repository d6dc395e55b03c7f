import Foundation
import KGateConfig
import KGateStore
import Testing

/// The last loaded config kept in the prefix, as Kong keeps it in LMDB
/// (`spec/02-integration/11-dbless/03-config_persistence_spec.lua`).
@Suite("PersistedConfig")
struct PersistedConfigTests {
    let prefix = NSTemporaryDirectory() + "kgate-persist-" + UUID().uuidString

    @Test func savesAndLoadsTheText() throws {
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let persisted = PersistedConfig(prefix: prefix)
        #expect(persisted.load() == nil)
        try persisted.save(Array("first".utf8))
        try persisted.save(Array(Fixtures.realistic.utf8))
        #expect(persisted.load() == Array(Fixtures.realistic.utf8))
        #expect(persisted.path == prefix + "/dbless.config")
        #expect(!FileManager.default.fileExists(atPath: persisted.path + ".new"))
    }

    @Test func anUnwritablePrefixIsAnError() {
        let persisted = PersistedConfig(prefix: "/nonexistent/kgate/prefix")
        #expect(throws: PersistedConfig.SaveError.self) { try persisted.save([1]) }
    }

    /// Every config that flips is saved, whatever its source; a refused one is not, and
    /// loading the persisted text again does not write it back.
    @Test func theCoordinatorPersistsFlippedConfigs() async throws {
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let persisted = PersistedConfig(prefix: prefix)
        let store = try ConfigStore(catalog: Fixtures.catalog)
        let coordinator = ReloadCoordinator(
            store: store, loader: Fixtures.loader, logger: LogCapture().logger, persistence: persisted)
        let first = Array(Fixtures.numbered(1).utf8)
        await withRunning(coordinator) {
            #expect(await coordinator.reload(.bytes(first, source: .admin)).generation == 1)
            #expect(persisted.load() == first)
            let refused = await coordinator.reload(.bytes(Array("services: 3".utf8), source: .admin))
            #expect(refused.error != nil)
            #expect(persisted.load() == first)
            try? FileManager.default.removeItem(atPath: persisted.path)
            let again = await coordinator.reload(.bytes(first, source: .persisted(path: persisted.path), force: true))
            #expect(again.generation == 2)
            #expect(persisted.load() == nil)
        }
        #expect(store.current.hash == ConfigHash.md5Hex(first))
    }
}
