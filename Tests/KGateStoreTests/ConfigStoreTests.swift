import KGateConfig
import KGateStore
import Testing

@Suite("ConfigStore")
struct ConfigStoreTests {
    @Test func startsEmpty() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder()])
        let g = store.current
        #expect(g.number == 0)
        #expect(g.hash == ConfigHash.empty)
        #expect(g.configurationHash == ConfigHash.empty)
        #expect(g.source == .none)
        #expect(g.page.isEmpty)
        #expect(g.artifact(for: StampBuilder.self)?.hash == ConfigHash.empty)
        #expect(g.artifact(for: PickyBuilder.self) == nil)
        #expect(store.inactiveGeneration == nil)
        #expect(store.liveGenerations == 1)
        // The process-wide count includes this store's (other tests run in parallel).
        #expect(Generation.liveCount >= store.liveGenerations)
    }

    @Test func prepareThenFlip() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder(), PickyBuilder()])
        let config = try Fixtures.load(Fixtures.realistic)
        let prepared = try store.prepare(config, source: .file(path: "kong.yml"), parseDuration: .milliseconds(3))
        // Built but not published.
        #expect(store.current.number == 0)
        #expect(store.inactiveGeneration === prepared)
        #expect(prepared.number == 1)
        #expect(prepared.parseDuration == .milliseconds(3))
        #expect(prepared.artifactCount == 2)
        #expect(prepared.artifact(for: PickyBuilder.self) == 2)  // previous (empty) generation's 1, + 1

        let flip = try #require(store.flip())
        #expect(flip.old.number == 0 && flip.new === prepared)
        #expect(store.current === prepared)
        #expect(store.current.configurationHash == config.hash)
        #expect(store.current.entityCounts["services"] == 2)
        #expect(store.current.meta["_format_version"] == "3.0")
        // The old generation moved to the inactive slot; nothing left to flip.
        #expect(store.inactiveGeneration === flip.old)
        #expect(store.flip() == nil)
    }

    @Test func builderFailureKeepsActive() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder(), PickyBuilder()])
        try store.install(Fixtures.load(Fixtures.numbered(1)), source: .admin)
        let active = store.current
        let poison = try Fixtures.load("_format_version: \"3.0\"\nservices:\n- name: poison\n  url: http://p\n")
        #expect {
            try store.prepare(poison, source: .admin)
        } throws: { error in
            let e = error as? ArtifactBuildError
            return e?.builder == "picky" && e?.description == "a service is named poison"
        }
        #expect(store.current === active)
        #expect(store.flip() == nil)
        #expect(store.inactiveGeneration == nil)
    }

    @Test func emptyConfigHasZeroConfigurationHash() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog)
        let flip = try store.install(Fixtures.load("_format_version: \"3.0\"\n"), source: .string(name: nil))
        #expect(flip.new.hash != ConfigHash.empty)
        #expect(flip.new.configurationHash == ConfigHash.empty)
    }

    @Test func storeHoldsAtMostTwoGenerations() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog, artifacts: [StampBuilder()])
        let configs = try (0..<4).map { try Fixtures.load(Fixtures.numbered($0)) }
        var held: Generation? = nil
        for i in 0..<50 {
            try store.install(configs[i % configs.count], source: .admin)
            if i == 10 { held = store.current }  // a long request keeps one generation alive
            #expect(store.liveGenerations <= (held == nil ? 2 : 3))
        }
        #expect(held?.number == 11)
        held = nil
        #expect(store.liveGenerations == 2)  // active + retired
        store.releaseInactive()
        #expect(store.liveGenerations == 1)
        #expect(store.current.number == 50)
    }

    @Test func readerKeepsOldGenerationAlive() throws {
        let store = try ConfigStore(catalog: Fixtures.catalog)
        try store.install(Fixtures.load(Fixtures.numbered(2)), source: .admin)
        let reader = store.current  // a request in flight
        try store.install(Fixtures.load(Fixtures.numbered(3)), source: .admin)
        try store.install(Fixtures.load(Fixtures.numbered(4)), source: .admin)
        // The store dropped generation 1 at the last prepare; the reader still uses it.
        #expect(store.liveGenerations == 3)
        #expect(reader.number == 1)
        #expect(reader.page.count(of: "services") == 3)
        #expect(Fixtures.name(reader.page.entity("services", endpointKey: "c2-s2")) == "c2-s2")
    }
}
