import KGateConfig
import KGateSchema
import NIOHTTP1
import Testing

@testable import KGateAdmin

/// Writes to entity endpoints, as `spec/02-integration/04-admin_api/15-off_spec.lua` expects
/// them refused in DB-less mode.
@Suite struct EntityWriteTests {
    static func unsupported(_ message: String) -> Value {
        ["code": 12, "name": "operation unsupported", "message": .string(message)]
    }

    @Test func creatingARouteIsRefusedWithJSON() async throws {
        let h = try AdminHarness()
        let r = await h.json(
            .POST, "/routes",
            [
                "protocols": ["http"], "hosts": ["my.route.test"], "service": ["id": .string(EntityID.random())],
            ])
        #expect(r.status == 405)
        #expect(r.json == Self.unsupported("cannot create 'routes' entities when not using a database"))
    }

    /// Kong's DAO resolves a foreign key given by name before anything else: an existing
    /// service goes on to the 405, a missing one is 400 code 13 (09-routes_routes_spec "POST
    /// errors handles invalid input", "creates a complex route by referencing a service by name").
    @Test func foreignKeysByNameAreResolvedFirst() async throws {
        let h = try AdminHarness()
        await h.load("_format_version: \"3.0\"\nservices:\n- {name: s1, url: http://a.test}\n")
        let missing = await h.json(.POST, "/routes", ["methods": ["GET"], "service": ["name": "non-existing"]])
        #expect(missing.status == 400)
        let message = "the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity"
        #expect(
            missing.json
                == [
                    "code": 13, "name": "foreign keys unresolved", "message": .string("foreign key unresolved (service.name: \(message))"),
                    "fields": ["service": ["name": .string(message)]],
                ])
        let existing = await h.json(.POST, "/routes", ["methods": ["GET"], "service": ["name": "s1"]])
        #expect(existing.status == 405)
        let form = await h.send(
            .POST, "/routes", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "methods=GET&service.name=s1")
        #expect(form.status == 405)
    }

    @Test func creatingAComplexRouteIsRefusedWithAForm() async throws {
        let h = try AdminHarness()
        let body =
            "protocols=http&methods[]=GET&methods[]=POST&hosts=foo.api.test&paths[1]=/foo&paths[2]=/bar"
            + "&service.id=\(EntityID.random())"
        let r = await h.send(
            .POST, "/routes", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body)
        #expect(r.status == 405)
        #expect(r.json == Self.unsupported("cannot create 'routes' entities when not using a database"))
    }

    @Test func invalidBodiesAreSchemaViolationsFirst() async throws {
        let h = try AdminHarness()
        let r = await h.json(.POST, "/services", ["host": "example.com", "port": 99999])
        #expect(r.status == 400)
        #expect(
            r.json == [
                "code": 2, "name": "schema violation",
                "message": "schema violation (port: value should be between 0 and 65535)",
                "fields": ["port": "value should be between 0 and 65535"],
            ])
        let two = await h.json(.POST, "/services", ["port": -1])
        #expect(
            two.message
                == "2 schema violations (host: required field missing; port: value should be between 0 and 65535)")
    }

    @Test(arguments: ["DELETE", "PUT", "PATCH", "POST"])
    func collectionMethods(_ method: String) async throws {
        let h = try AdminHarness()
        let r = await h.json(
            HTTPMethod(rawValue: method), "/routes", ["paths": ["/"], "service": ["id": .string(EntityID.random())]])
        #expect(r.status == 405)
        if method == "POST" {
            #expect(r.json == Self.unsupported("cannot create 'routes' entities when not using a database"))
        } else {
            #expect(r.json == ["message": "Method not allowed"])
        }
    }

    @Test func itemPutAndPost() async throws {
        let h = try AdminHarness()
        let path = "/routes/\(EntityID.random())"
        let body: Value = ["paths": ["/"], "service": ["id": .string(EntityID.random())]]
        let put = await h.json(.PUT, path, body)
        #expect(put.status == 405)
        #expect(put.json == Self.unsupported("cannot create or update 'routes' entities when not using a database"))
        let post = await h.json(.POST, path, body)
        #expect(post.status == 405)
        #expect(post.json == ["message": "Method not allowed"])
    }

    @Test func patchAndDeleteReadFirst() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let missing = "/routes/\(EntityID.random())"
        #expect(await h.json(.PATCH, missing, ["paths": ["/x"]]).status == 404)
        #expect(await h.send(.DELETE, missing).status == 204)
        let patch = await h.json(.PATCH, "/routes/481a9539-f49c-51b6-b2e2-fe99ee68866c", ["paths": ["/x"]])
        #expect(patch.json == Self.unsupported("cannot update 'routes' entities when not using a database"))
        let delete = await h.send(.DELETE, "/routes/481a9539-f49c-51b6-b2e2-fe99ee68866c")
        #expect(delete.status == 405)
        #expect(delete.json == Self.unsupported("cannot remove 'routes' entities when not using a database"))
        let byName = await h.send(.DELETE, "/services/svc-a")
        #expect(
            byName.json == Self.unsupported("cannot remove 'services' entities by 'name' when not using a database"))
        let patchByName = await h.json(.PATCH, "/services/svc-a", ["retries": 3])
        #expect(
            patchByName.json
                == Self.unsupported("cannot update 'services' entities by 'name' when not using a database"))
        let badPatch = await h.json(.PATCH, "/services/svc-a", ["retries": "many"])
        #expect(badPatch.status == 400)
        #expect(badPatch.message == "schema violation (retries: expected an integer)")
        let putByName = await h.json(.PUT, "/services/svc-c", ["host": "c.example.com"])
        #expect(
            putByName.json
                == Self.unsupported("cannot create or update 'services' entities by 'name' when not using a database"))
        #expect(await h.send(.DELETE, "/services/nothing-here").status == 204)
    }

    @Test func nestedWrites() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let create = await h.json(.POST, "/services/svc-a/routes", ["paths": ["/new"]])
        #expect(create.json == Self.unsupported("cannot create 'routes' entities when not using a database"))
        #expect(await h.json(.POST, "/services/ghost/routes", ["paths": ["/new"]]).status == 404)
        let delete = await h.send(.DELETE, "/services/svc-a/routes/route-a")
        #expect(delete.json == Self.unsupported("cannot remove 'routes' entities by 'name' when not using a database"))
        // A child of another parent, or none: 404 (not 204) under a parent.
        #expect(await h.send(.DELETE, "/services/svc-b/routes/route-a").status == 404)
        let credential = await h.json(.POST, "/consumers/alice/key-auth", ["key": "another"])
        #expect(
            credential.json
                == Self.unsupported("cannot create 'keyauth_credentials' entities when not using a database"))
        let acl = await h.json(.PUT, "/consumers/bob/acls/readers", [:])
        #expect(acl.json == Self.unsupported("cannot create or update 'acls' entities when not using a database"))
        let existing = await h.json(.PUT, "/consumers/alice/acls/admins", [:])
        #expect(existing.json == Self.unsupported("cannot create or update 'acls' entities when not using a database"))
        let missingConsumer = await h.json(.POST, "/key-auths", ["key": "another"])
        #expect(missingConsumer.status == 400)
        #expect(missingConsumer.message == "schema violation (consumer: required field missing)")
    }

    @Test func foreignEntityWrites() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let patch = await h.json(.PATCH, "/routes/route-a/service", ["retries": 2])
        #expect(patch.json == Self.unsupported("cannot update 'services' entities when not using a database"))
        #expect(await h.send(.DELETE, "/routes/route-a/service").json == ["message": "Method not allowed"])
        #expect(await h.send(.DELETE, "/routes/lonely/service").status == 404)
        #expect(await h.json(.PATCH, "/routes/lonely/service", ["retries": 2]).status == 404)
    }

    @Test func targetsAndTags() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let create = await h.json(.POST, "/upstreams/up/targets", ["target": "10.0.0.9"])
        #expect(create.json == Self.unsupported("cannot create 'targets' entities when not using a database"))
        let delete = await h.send(.DELETE, "/upstreams/up/targets/10.0.0.1:8000")
        #expect(delete.json == Self.unsupported("cannot remove 'targets' entities when not using a database"))
        #expect(await h.send(.DELETE, "/upstreams/up/targets/10.9.9.9").status == 404)
        for method in [HTTPMethod.GET, .POST, .DELETE] {
            #expect(await h.send(method, "/targets").json == ["message": "Not found"])
        }
        let tags = await h.json(.POST, "/tags", ["tag": "x"])
        #expect(tags.status == 400)
        #expect(tags.message == "schema violation (tags: does not support insert/upsert/update/delete operations)")
    }

    @Test func nothingChangesTheLiveConfig() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let before = h.store.current.number
        _ = await h.json(.POST, "/services", ["host": "x.test"])
        _ = await h.send(.DELETE, "/services/svc-a")
        _ = await h.json(.PUT, "/consumers/alice", ["username": "alice"])
        #expect(h.store.current.number == before)
        #expect(await h.get("/services/svc-a").status == 200)
    }
}
