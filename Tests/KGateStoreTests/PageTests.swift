import KGateConfig
import KGateSchema
import KGateStore
import Testing

@Suite("Page indexes")
struct PageTests {
    let config: DeclarativeConfig
    let page: Page

    init() throws {
        config = try Fixtures.load(Fixtures.realistic)
        page = Page(config: config, catalog: Fixtures.catalog)
    }

    private func id(_ row: Object?) -> String? { row?["id"]?.stringValue }

    @Test func countsAndHash() {
        #expect(page.hash == config.hash)
        #expect(page.counts == [
            "services": 2, "routes": 3, "plugins": 4, "upstreams": 1, "targets": 2, "consumers": 2,
            "keyauth_credentials": 2, "basicauth_credentials": 1, "acls": 1,
        ])
        #expect(page.totalCount == 18)
        #expect(!page.isEmpty)
        #expect(Page.empty.isEmpty && Page.empty.hash == ConfigHash.empty)
    }

    @Test func byIDAndEndpointKey() throws {
        let billing = try #require(page.entity("services", endpointKey: "billing"))
        #expect(billing["host"]?.stringValue == "billing.internal")
        let billingID = try #require(id(billing))
        #expect(Fixtures.name(page.entity("services", id: billingID)) == "billing")
        #expect(Fixtures.name(page.entity("routes", endpointKey: "search-api")) == "search-api")
        #expect(Fixtures.name(page.entity("upstreams", endpointKey: "billing.internal")) == "billing.internal")
        #expect(page.entity("consumers", endpointKey: "alice")?["custom_id"]?.stringValue == "c-alice")
        #expect(page["consumers"]?.row(unique: "custom_id", "c-alice")?["username"]?.stringValue == "alice")
        #expect(page.entity("services", endpointKey: "nope") == nil)
        #expect(page.entity("snis", endpointKey: "x") == nil)
        // Targets' endpoint key is not unique: no endpoint-key index, use the cache key.
        #expect(page.entity("targets", endpointKey: "10.0.0.1:8080") == nil)
    }

    @Test func byForeignKey() throws {
        let billingID = try #require(id(page.entity("services", endpointKey: "billing")))
        #expect(page.children("routes", via: "service", of: billingID).compactMap(Fixtures.name) == [
            "billing-api", "billing-admin",
        ])
        #expect(page["routes"]?.ids(referencing: billingID, via: "service").count == 2)
        let upstreamID = try #require(id(page.entity("upstreams", endpointKey: "billing.internal")))
        #expect(page.children("targets", via: "upstream", of: upstreamID).compactMap { $0["target"]?.stringValue } == [
            "10.0.0.1:8080", "10.0.0.2:8080",
        ])
        let routeID = try #require(id(page.entity("routes", endpointKey: "billing-api")))
        #expect(page.children("plugins", via: "route", of: routeID).compactMap(Fixtures.name) == ["key-auth"])
        #expect(page.children("plugins", via: "service", of: billingID).compactMap(Fixtures.name) == ["rate-limiting"])
        let aliceID = try #require(id(page.entity("consumers", endpointKey: "alice")))
        #expect(page.children("plugins", via: "consumer", of: aliceID).count == 1)
        #expect(page.children("keyauth_credentials", via: "consumer", of: aliceID).count == 1)
        #expect(page.children("acls", via: "consumer", of: aliceID).first?["group"]?.stringValue == "admins")
        #expect(page.children("routes", via: "service", of: "no-such-id").isEmpty)
    }

    @Test func byCacheKey() throws {
        let table = try #require(page["plugins"])
        #expect(table.cacheKeyFields == ["name", "route", "service", "consumer"])
        let billingID = try #require(id(page.entity("services", endpointKey: "billing")))
        let routeID = try #require(id(page.entity("routes", endpointKey: "billing-api")))
        let aliceID = try #require(id(page.entity("consumers", endpointKey: "alice")))

        let keyAuth = EntityTable.cacheKey(["key-auth", routeID, nil, nil])
        #expect(keyAuth == "key-auth:\(routeID)::")
        #expect(Fixtures.name(page.entity("plugins", cacheKey: keyAuth)) == "key-auth")
        #expect(page.entity("plugins", cacheKey: "rate-limiting::\(billingID):") != nil)
        #expect(page.entity("plugins", cacheKey: "rate-limiting:::\(aliceID)")?["config"]?["minute"] == 5)
        #expect(Fixtures.name(page.entity("plugins", cacheKey: "cors:::")) == "cors")
        #expect(page.entity("plugins", cacheKey: "cors::\(billingID):") == nil)
        for row in table.rows.values {
            #expect(table.row(cacheKey: try #require(table.cacheKey(of: row)))?["id"] == row["id"])
        }

        let upstreamID = try #require(id(page.entity("upstreams", endpointKey: "billing.internal")))
        #expect(page.entity("targets", cacheKey: "\(upstreamID):10.0.0.2:8080")?["weight"] == 50)
        #expect(page.entity("acls", cacheKey: "\(aliceID):admins") != nil)
        #expect(page.entity("keyauth_credentials", cacheKey: "bob-key") != nil)
    }

    @Test func credentials() throws {
        let alice = try #require(page.entity("consumers", endpointKey: "alice"))
        let key = try #require(page.keyAuthCredential(key: "alice-key"))
        #expect(key["consumer"]?["id"] == alice["id"])
        #expect(page.referenced("consumer", by: key, in: "keyauth_credentials")?["username"] == "alice")
        let bob = try #require(page.keyAuthCredential(key: "bob-key"))
        #expect(page.referenced("consumer", by: bob, in: "keyauth_credentials")?["username"] == "bob")
        #expect(page.keyAuthCredential(key: "mallory-key") == nil)
        let basic = try #require(page.basicAuthCredential(username: "alice-basic"))
        #expect(basic["consumer"]?["id"] == alice["id"])
        #expect(page.basicAuthCredential(username: "alice") == nil)
    }

    @Test func byTag() throws {
        let billingID = try #require(id(page.entity("services", endpointKey: "billing")))
        let routeID = try #require(id(page.entity("routes", endpointKey: "billing-api")))
        #expect(page.tags == ["prod", "team-a"])
        // Catalogue order (core entities: consumers before services before upstreams), then declaration.
        #expect(page.entities(tagged: "prod").map(\.entity) == ["consumers", "services", "upstreams"])
        #expect(page.entities(tagged: "team-a") == [
            EntityRef(entity: "services", id: billingID), EntityRef(entity: "routes", id: routeID),
        ])
        #expect(page["services"]?.ids(tagged: "team-a") == [billingID])
        #expect(page["routes"]?.rows(tagged: "team-a").compactMap(Fixtures.name) == ["billing-api"])
        #expect(page.entities(tagged: "none").isEmpty)
    }

    @Test func keyStrings() {
        #expect(EntityTable.keyString(.string("a")) == "a")
        #expect(EntityTable.keyString(.integer(42)) == "42")
        #expect(EntityTable.keyString(.object(["id": "x"])) == "x")
        #expect(EntityTable.keyString(.null) == nil)
        #expect(EntityTable.keyString(nil) == nil)
        #expect(EntityTable.cacheKey([nil, "b", nil]) == ":b:")
    }
}
