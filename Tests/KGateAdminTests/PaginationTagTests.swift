import KGateConfig
import KGateSchema
import Testing

@testable import KGateAdmin

/// `size`, `offset`, `next` and `?tags=`, in units and through collections; the tag cases of
/// `spec/02-integration/04-admin_api/14-tags_spec.lua`.
@Suite struct PaginationTagTests {
    @Test(arguments: [
        ("a", [UInt8]("a".utf8)), ("%41%zz", [UInt8]("A%zz".utf8)), ("a+b", [UInt8]("a+b".utf8)),
        ("%F0%9F%A6%8D", [0xF0, 0x9F, 0xA6, 0x8D]),
    ])
    func unescape(_ text: String, _ bytes: [UInt8]) {
        #expect(URIText.unescape(Substring(text)) == bytes)
    }

    @Test func escapeAndQuery() {
        #expect(URIText.escape("a b/c,d~_.-") == "a%20b%2Fc%2Cd~_.-")
        let q = QueryArguments("tags=a+b&size=2&flag&size=3&x=%2C")
        #expect(q["tags"] == "a b")
        #expect(q["size"] == "2")
        #expect(q.has("flag") && q["flag"] == nil)
        #expect(q["x"] == ",")
    }

    @Test(arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar", "12345"])
    func base64RoundTrip(_ text: String) {
        let encoded = Base64.encode(Array(text.utf8))
        #expect(!encoded.contains("="))
        #expect(Base64.decode(encoded) == Array(text.utf8))
    }

    @Test func base64Refusals() {
        #expect(Base64.decode("x") == nil)
        #expect(Base64.decode("|potato|") == nil)
        #expect(Base64.decode("Zm9vYg==") == Array("foob".utf8))
    }

    @Test(arguments: [
        ("corp_ a", TagFilter.Mode.all, ["corp_ a"]),
        ("a,b", .all, ["a", "b"]),
        ("a/b/c", .any, ["a", "b", "c"]),
        ("a,", .all, ["a", ""]),
        ("🦍", .all, ["🦍"]),
    ])
    func tagFilters(_ text: String, _ mode: TagFilter.Mode, _ tags: [String]) throws {
        guard case .ok(let filter?) = TagFilter.parse(QueryArguments(Substring("tags=" + URIText.escape(text)))) else {
            Issue.record("refused \(text)")
            return
        }
        #expect(filter.mode == mode)
        #expect(filter.tags == tags)
    }

    @Test(arguments: ["a,b/c", "a/b,c", ",a", "a,,b", "%FF", "%EF%BF%BD", "a,b,c,d,e,f"])
    func refusedTagFilters(_ query: String) {
        guard case .refused(let response) = TagFilter.parse(QueryArguments(Substring("tags=" + query))) else {
            Issue.record("accepted \(query)")
            return
        }
        #expect(response.status == .badRequest)
    }

    @Test func sizeAndOffsetChecks() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        #expect(
            await h.get("/services?size=abc").json == [
                "code": 9, "name": "invalid size", "message": "size must be a number",
            ])
        let big = await h.get("/services?size=1001")
        #expect(big.message == "size must be an integer between 1 and 1000")
        #expect(await h.get("/services?size=0").status == 400)
        #expect(await h.get("/services?size=1.5").status == 400)
        let offset = await h.get("/routes?offset=x")
        #expect(
            offset.json == [
                "code": 7, "name": "invalid offset", "message": "'x' is not a valid offset: bad base64 encoding",
            ])
        let potato = await h.get("/routes?offset=%7Cpotato%7C")
        #expect(potato["code"] == 7)
        #expect(potato["name"] == "invalid offset")
    }

    @Test func paginationAcross2500Entities() async throws {
        let h = try AdminHarness()
        var yaml = "_format_version: \"3.0\"\nconsumers:\n"
        for i in 1...2500 { yaml += "- username: user-\(i)\n  tags: [\(i % 2 == 0 ? "even" : "odd"), all]\n" }
        #expect(await h.load(yaml).generation != nil)
        var seen: [String] = []
        var next: String? = "/consumers?size=1000"
        var pages = 0
        while let path = next {
            let page = await h.get(path)
            #expect(page.status == 200)
            seen += page.data.compactMap { $0["username"]?.stringValue }
            next = page["next"]?.stringValue
            if next != nil {
                #expect(page["offset"]?.stringValue != nil)
                #expect(path == "/consumers?size=1000" || next!.hasSuffix("&size=1000"))
            } else {
                #expect(page["offset"] == nil)
            }
            pages += 1
        }
        #expect(pages == 3)
        #expect(Set(seen) == Set((1...2500).map { "user-\($0)" }))
        #expect(seen.count == 2500)

        // Default page size 100, tags kept in `next`. Kong takes a page of 100 rows, then keeps
        // the tagged ones: 25 pages of about 50, and as the last of them is full, a 26th, empty.
        var evens = 0
        next = "/consumers?tags=even"
        pages = 0
        while let path = next {
            let page = await h.get(path)
            evens += page.data.count
            #expect(page.data.allSatisfy { $0["tags"]?.arrayValue?.contains("even") == true })
            next = page["next"]?.stringValue
            if let n = next { #expect(n.contains("&tags=even")) }
            pages += 1
        }
        #expect(evens == 1250)
        #expect(pages == 26)
    }

    /// Kong's off strategy lists rows in the order of their LMDB keys (primary keys), and an
    /// offset is the key to carry on from, not a position.
    @Test func keyedPagesInPrimaryKeyOrder() async throws {
        let h = try AdminHarness()
        func consumers(_ numbers: [Int], tagged: Int? = nil) -> String {
            var yaml = "_format_version: \"3.0\"\nconsumers:\n"
            for n in numbers {
                yaml += "- username: c\(n)\n  id: 00000000-0000-4000-8000-00000000000\(n)\n"
                if n == tagged { yaml += "  tags: [t]\n" }
            }
            return yaml
        }
        // Declared in reverse: listed by id.
        #expect(await h.load(consumers([3, 2, 1])).generation != nil)
        #expect(await h.get("/consumers").data.map { $0["username"] } == ["c1", "c2", "c3"])
        let first = await h.get("/consumers?size=2")
        #expect(first.data.map { $0["username"] } == ["c1", "c2"])
        let token = try #require(first["offset"]?.stringValue)
        #expect(first["next"] == .string("/consumers?offset=\(URIText.escape(token))&size=2"))

        // The offset names the row to carry on from: a consumer added before it changes nothing.
        #expect(await h.load(consumers([3, 2, 1, 0])).generation != nil)
        #expect(await h.get("/consumers?size=2&offset=\(URIText.escape(token))").data.map { $0["username"] } == ["c3"])

        // `?tags=` filters each page of `size` rows: pages may be empty and still have a `next`;
        // a full last page has one too, to an empty page.
        #expect(await h.load(consumers([1, 2, 3], tagged: 3)).generation != nil)
        var pages: [[Value]] = []
        var next: String? = "/consumers?tags=t&size=1"
        while let path = next {
            let page = await h.get(path)
            pages.append(page.data)
            next = page["next"]?.stringValue
        }
        #expect(pages.map(\.count) == [0, 0, 1, 0])
        #expect(pages[2].first?["username"] == "c3")
    }

    /// Kong's targets DAO pages `/upstreams/{u}/targets` and `/health` with a plain position
    /// (`"offset": "1"`); `/targets/all` is the generic keyed listing.
    @Test func targetOffsets() async throws {
        let h = try AdminHarness()
        await h.load(Fixture.sample)
        let first = await h.get("/upstreams/up/targets?size=1")
        #expect(first.data.count == 1)
        #expect(first["offset"] == "1")
        #expect(first["next"] == "/upstreams/up/targets?offset=1")
        let second = await h.get("/upstreams/up/targets?offset=1&size=1")
        #expect(second.data.count == 1)
        #expect(second["next"] == .null)
        #expect(first.data.first?["target"] != second.data.first?["target"])
        let health = await h.get("/upstreams/up/health?size=1")
        #expect(health["offset"] == "1")
        #expect(health["next"] == "/upstreams/up/health?offset=1")
        #expect(await h.get("/upstreams/up/targets?offset=x").status == 400)
        let all = await h.get("/upstreams/up/targets/all?size=1")
        let token = try #require(all["offset"]?.stringValue)
        #expect(token != "1")
        #expect(all["next"] == .string("/upstreams/up/targets/all?offset=\(URIText.escape(token))"))
        // `08-status_api/02-targets_routes_spec.lua`, "paginates a set": the second page is
        // full, so it has an offset too, to an empty third page.
        let last = await h.get("/upstreams/up/targets/all?size=1&offset=\(URIText.escape(token))")
        #expect(last.data.count == 1)
        let end = try #require(last["offset"]?.stringValue)
        #expect(await h.get("/upstreams/up/targets/all?size=1&offset=\(URIText.escape(end))").body == #"{"data":[],"next":null}"#)
    }

    // MARK: - 14-tags_spec.lua

    static let tagged = """
        _format_version: "3.0"
        consumers:
        - username: adminapi-filter-by-tag-1
          tags: ["corp_ a", "consumer_ 1", "🦍"]
          plugins:
          - name: file-log
            config: {path: /tmp/f1}
            tags: ["corp_ a", "consumer_ 1"]
        - username: adminapi-filter-by-tag-2
          tags: ["corp_ a", "consumer_ 2", "🦍"]
          plugins:
          - name: file-log
            config: {path: /tmp/f2}
            tags: ["corp_ a", "consumer_ 2"]
        """

    @Test func entitiesFilteredByTags() async throws {
        let h = try AdminHarness()
        #expect(await h.load(Self.tagged).generation != nil)
        #expect(await h.get("/consumers?tags=corp_%20a").data.count == 2)
        #expect(await h.get("/consumers?tags=%F0%9F%A6%8D").data.count == 2)
        #expect(await h.get("/consumers?tags=🦍").data.count == 2)
        #expect(await h.get("/consumers?tags=").message == "invalid option (tags: cannot be null)")
        #expect(await h.get("/consumers?tags=").json?["options"] == ["tags": "cannot be null"])
        #expect(await h.get("/consumers?tags=''").data.isEmpty)
        let and = await h.get("/consumers?tags=corp_%20a,consumer_%201")
        #expect(and.data.count == 1)
        #expect(and.data.first?["tags"] == ["corp_ a", "consumer_ 1", "🦍"])
        #expect(await h.get("/consumers?tags=consumer_%202/consumer_%201").data.count == 2)
        let nested = await h.get("/consumers/adminapi-filter-by-tag-1/plugins?tags=consumer_%202")
        #expect(nested.data.count == 1)
        #expect(nested.data.first?["tags"] == ["corp_ a", "consumer_ 1"])
        for query in [
            "consumer_%203,consumer_%202/consumer_%201", "consumer_%203/consumer_%202,consumer_%201", "%FF", "\u{FFFD}",
        ] {
            #expect(await h.get("/consumers?tags=\(query)").message == "invalid option (tags: invalid filter syntax)")
        }
        let next = await h.get("/consumers?tags=corp_%20a&size=1")
        #expect(next.data.count == 1)
        #expect(next["next"]?.stringValue?.contains("tags=corp_%20a") == true)
    }

    /// Follows `next` until null, collecting `data`.
    static func all(_ h: AdminHarness, _ path: String) async -> [Value] {
        var data: [Value] = []
        var next: String? = path
        while let p = next {
            let page = await h.get(p)
            data += page.data
            next = page["next"]?.stringValue
        }
        return data
    }

    @Test func tagsEndpoints() async throws {
        let h = try AdminHarness()
        let yaml = """
            _format_version: "3.0"
            consumers:
            - username: adminapi-filter-by-tag-1
              tags: ["corp_ a", "consumer_ 1"]
            - username: adminapi-filter-by-tag-2
              tags: ["corp_ a", "consumer_ 2"]
            """
        #expect(await h.load(yaml).generation != nil)
        let all = await Self.all(h, "/tags")
        #expect(all.count == 4)
        #expect(all.first?["entity_name"] == "consumers")
        #expect(all.first?["tag"] == "corp_ a")
        #expect(await Self.all(h, "/tags/corp_%20a").count == 2)
        #expect(await Self.all(h, "/tags/does-not-exist").isEmpty)
        let invalid = await h.get("/tags/%FF")
        #expect(invalid.status == 400)
        #expect(invalid.message == "invalid utf-8 character sequence detected at position 1")
        #expect(await Self.all(h, "/tags?tags=not_a_tag").count == 4)
        #expect(await Self.all(h, "/tags?tags=invalid@tag").count == 4)
        #expect(await Self.all(h, "/tags/corp_%20a?tags=not_a_tag").count == 2)
        let paged = await h.get("/tags?size=3")
        #expect(paged["next"]?.stringValue?.hasPrefix("/tags?offset=") == true)
        #expect(paged["next"]?.stringValue?.hasSuffix("&size=3") == true)
        let tagPaged = await h.get("/tags/corp_%20a?size=1")
        #expect(tagPaged["next"]?.stringValue?.hasPrefix("/tags/corp_%20a?offset=") == true)
    }

    /// A consumer's tag as `/tags` lists it.
    static func tagItem(_ tag: String, _ id: String) -> Value {
        ["tag": .string(tag), "entity_name": "consumers", "entity_id": .string(id)]
    }

    /// The entity types with `tags`, in the order `/tags` walks them.
    static let taggedTypes = EntityCatalog().order.filter { EntityCatalog().schemas[$0]?.field(named: "tags") != nil }

    /// Kong's DB-less `page_for_tags`: one entity type per page, `size` rows of it (not tags),
    /// the offset `<type>|<token>` inside a type and `<type>|nil` at its end, none after the
    /// last type; `next` repeats `size` (and `tags`) for `/tags` only.
    @Test func tagsPageOneEntityTypeAtATime() async throws {
        let h = try AdminHarness()
        let yaml = """
            _format_version: "3.0"
            consumers:
            - username: c1
              id: 00000000-0000-4000-8000-000000000001
              tags: [t, c1]
            - username: c2
              id: 00000000-0000-4000-8000-000000000002
              tags: [c2]
            - username: c3
              id: 00000000-0000-4000-8000-000000000003
              tags: [t]
            services:
            - name: s1
              host: example.com
              tags: [t, s1]
            upstreams:
            - name: u
            """
        #expect(await h.load(yaml).generation != nil)
        let types = Self.taggedTypes
        let consumers = try #require(types.firstIndex(of: "consumers"))

        // The first page is the first type's, with no offset given.
        let first = await h.get("/tags?size=2")
        #expect(first["offset"] == .string("\(types[0])|nil"))
        #expect(first["next"] == .string("/tags?offset=\(types[0])%7Cnil&size=2"))

        // Two consumer rows make a full page: three tags, and the token of the next row.
        let before = consumers == 0 ? "" : "&offset=" + URIText.escape("\(types[consumers - 1])|nil")
        let page = await h.get("/tags?size=2" + before)
        let tags = page.data.map { "\($0["entity_name"]?.stringValue ?? "")/\($0["tag"]?.stringValue ?? "")" }
        #expect(tags == ["consumers/t", "consumers/c1", "consumers/c2"])
        #expect(page.data.first?["entity_id"] == "00000000-0000-4000-8000-000000000001")
        let offset = try #require(page["offset"]?.stringValue)
        #expect(offset.hasPrefix("consumers|") && offset != "consumers|nil")
        #expect(page["next"] == .string("/tags?offset=\(URIText.escape(offset))&size=2"))
        let rest = await h.get("/tags?size=2&offset=" + URIText.escape(offset))
        #expect(rest.data == [Self.tagItem("t", "00000000-0000-4000-8000-000000000003")])
        #expect(rest["offset"] == "consumers|nil")

        // `/tags/{tag}` pages the same way, counting rows: a page of one row may hold no match.
        // Its `next` does not repeat `size` (Kong's route writes none).
        var pages: [[Value]] = []
        var next: String? = "/tags/c2?size=1"
        while let path = next {
            let reply = await h.get(path)
            #expect(reply.status == 200)
            #expect(!(reply["next"]?.stringValue?.contains("size=") ?? false))
            pages.append(reply.data)
            next = reply["next"]?.stringValue.map { $0 + "&size=1" }
        }
        #expect(pages.flatMap { $0 } == [Self.tagItem("c2", "00000000-0000-4000-8000-000000000002")])
        #expect(pages.contains([]))
        // Three consumer rows are three full pages and an empty one; the service and the
        // upstream (a row, even without tags) two each; every other type one empty page.
        #expect(pages.count == types.count + 5)
        #expect(await Self.all(h, "/tags/c2?size=1").count == 1)

        // The last type ends the listing; every tag is found once.
        let last = await h.get("/tags?offset=" + URIText.escape("\(types[types.count - 1])|nil"))
        #expect(last.data.isEmpty && last["offset"] == nil && last["next"] == .null)
        let everything = await Self.all(h, "/tags")
        #expect(everything.count == 6)
        #expect(Set(everything.compactMap { $0["entity_name"]?.stringValue }) == ["consumers", "services"])
    }

    @Test func tagsSizeAndOffsetErrors() async throws {
        let h = try AdminHarness()
        func message(_ path: String) async -> String? {
            let reply = await h.get(path)
            #expect(reply.status == 400, "\(path)")
            return reply.message
        }
        // `/tags` pages through the DAO: 1 to 1000.
        #expect(await message("/tags?size=1001") == "size must be an integer between 1 and 1000")
        #expect(await message("/tags?size=0") == "size must be an integer between 1 and 1000")
        #expect(await message("/tags?size=x") == "size must be a number")
        // `/tags/{tag}` reads the size before the tag, and has no upper bound.
        #expect(await h.get("/tags/a?size=5000").status == 200)
        #expect(await message("/tags/a?size=0") == "size must be an integer greater than 0")
        #expect(await message("/tags/a?size=1.5") == "size must be an integer greater than 0")
        #expect(await message("/tags/%FF?size=x") == "size must be a number")
        #expect(await h.get("/tags?size=x")["code"] == 9)

        for (offset, shown, reason) in [
            ("x", "x", "bad offset string"), ("", "", "bad offset string"),
            ("consumers%7C", "consumers|", "bad offset string"), ("%7Cnil", "|nil", "bad offset string"),
            ("nope%7Cnil", "nope|nil", "bad offset string"),
            ("consumers%7C%21%21", "!!", "bad base64 encoding"),
        ] {
            for path in ["/tags", "/tags/a"] {
                let reply = await h.get("\(path)?offset=\(offset)")
                #expect(reply.status == 400)
                #expect(reply["code"] == 7)
                #expect(reply.message == "'\(shown)' is not a valid offset: \(reason)", "\(path) \(offset)")
            }
        }
    }
}
