import KGateConfig
import KGateSchema
import Testing

/// Loads `text` with the YAML reader and returns the first document, failing the test on errors.
private func yaml(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> SourceDocument? {
    switch YAMLReader.read(Array(text.utf8)) {
    case .success(let doc):
        return doc
    case .failure(let e):
        Issue.record("unexpected error: \(e.message)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The error message the YAML reader gives for `text` (nil when it loads).
private func yamlError(_ text: String) -> String? {
    if case .failure(let e) = YAMLReader.read(Array(text.utf8)) { return e.message }
    return nil
}

/// The value of key `v` in the one-line document `v: <scalar>`.
private func scalarValue(_ scalar: String) -> Value? {
    yaml("v: \(scalar)\n")?.value["v"]
}

@Suite struct YAMLReaderTests {
    // MARK: Implicit scalar resolution (lyaml/implicit.lua)

    static let plainScalars: [(String, Value)] = [
        // null
        ("", .null), ("~", .null), ("null", .null), ("Null", .null), ("NULL", .null),
        ("nULL", "nULL"), ("nil", "nil"), ("None", "None"),
        // bool
        ("true", true), ("True", true), ("TRUE", true), ("false", false), ("False", false), ("FALSE", false),
        ("yes", true), ("Yes", true), ("YES", true), ("no", false), ("No", false), ("NO", false),
        ("on", true), ("On", true), ("ON", true), ("off", false), ("Off", false), ("OFF", false),
        ("y", "y"), ("n", "n"), ("Y", "Y"), ("tRUE", "tRUE"), ("yES", "yES"),
        // decimal
        ("0", 0), ("1", 1), ("-1", -1), ("+1", 1), ("8000", 8000), ("1_000", 1000), ("_5", 5), ("-_5", -5),
        ("08", 8), ("09", 9), ("9223372036854775807", .integer(Int.max)),
        ("9223372036854775808", .number(9223372036854775808.0)), ("-0", 0),
        // octal
        ("012", 10), ("00", 0), ("0_12", 10), ("-012", -10), ("+07", 7), ("0777", 511),
        // float
        ("1.5", .number(1.5)), ("3.0", .number(3.0)), ("-1.5", .number(-1.5)), ("+1.5", .number(1.5)),
        (".5", .number(0.5)), ("5.", .number(5.0)), ("1e3", .number(1000)), ("1E3", .number(1000)),
        ("1e-3", .number(0.001)), ("1.5e+2", .number(150)), ("1_000.5", .number(1000.5)), ("_1.5", .number(1.5)),
        ("1.2.3", "1.2.3"), ("1e", "1e"), ("e5", "e5"), (".", "."), ("1.5x", "1.5x"), ("2.0.1", "2.0.1"),
        ("0x1.8", .number(1.5)), ("0xE", 14), ("0xdeadbeef", 3_735_928_559), ("0XE", 14), ("0x1p4", "0x1p4"),
        ("1e99999999", "1e99999999"),
        // inf / nan
        (".inf", .number(.infinity)), (".Inf", .number(.infinity)), (".INF", .number(.infinity)),
        ("+.inf", .number(.infinity)), ("-.inf", .number(-.infinity)), ("-.Inf", .number(-.infinity)),
        (".iNF", ".iNF"), ("inf", "inf"), ("infinity", "infinity"), ("-inf", "-inf"), ("nan", "nan"),
        // hexadecimal
        ("0x1F", 31), ("0x_1F", 31), ("-0x1F", -31), ("0x1f_ff", 0x1fff), ("0X1F", "0X1F"), ("0x", "0x"),
        ("0xG", "0xG"),
        // binary
        ("0b10", 2), ("0b1010_0111", 0b1010_0111), ("-0b11", -3), ("0b_11", 3), ("0b1", "0b1"), ("0b12", "0b12"),
        // sexagesimal
        ("1:30", 90), ("190:20:30", 685_230), ("-1:30", -90), ("12:30", 750), ("1:2", 62), ("1:2::", 62),
        ("1::2", "1::2"), ("1:a", "1:a"),
        // sexfloat
        ("1:30.5", .number(90.5)), ("-1:30.5", .number(-90.5)), ("1:30.", "1:30."),
        // plain strings
        ("abc", "abc"), ("/path", "/path"), ("example.com", "example.com"), ("10.0.0.1", "10.0.0.1"),
        ("1.0.0", "1.0.0"), ("2001:db8::1", "2001:db8::1"), ("-", "-"), ("+", "+"), ("_", "_"),
        ("~x", "~x"), ("http://x:80/", "http://x:80/"),
    ]

    @Test(arguments: plainScalars)
    func plainScalarResolution(text: String, expected: Value) {
        let resolved: Value
        switch ScalarResolver.resolvePlain(text) {
        case .string: resolved = .string(text)
        case .value(let v): resolved = v
        default:
            Issue.record("\(text) did not resolve")
            return
        }
        #expect(resolved == expected, "\(text)")
        // The same through the reader (a few texts cannot be written as a block mapping value).
        if !["1:2::", "-"].contains(text) {
            #expect(scalarValue(text) == expected, "\(text) in a document")
        }
    }

    @Test func nanResolvesToNaN() {
        for text in [".nan", ".NaN", ".NAN"] {
            guard case .number(let d)? = scalarValue(text) else {
                Issue.record("\(text)")
                continue
            }
            #expect(d.isNaN)
        }
        #expect(scalarValue(".Nan") == ".Nan")
    }

    static let luaErrorScalars = ["0_7_", "00_", "0b10_", "-012_"]

    @Test(arguments: luaErrorScalars)
    func octalAndBinaryWithTrailingUnderscoreFailAsInLyaml(text: String) {
        #expect(ScalarResolver.resolvePlain(text) == .luaError)
        let message = yamlError("v: \(text)")
        #expect(message?.hasPrefix("1:4: attempt to perform arithmetic on a nil value") == true)
    }

    @Test func formatVersionThreeIsANumber() {
        #expect(scalarValue("3.0") == .number(3.0))
        #expect(scalarValue("\"3.0\"") == "3.0")
    }

    // MARK: Quoted, block and tagged scalars

    static let quotedScalars: [(String, Value)] = [
        ("'true'", "true"), ("\"1\"", "1"), ("'~'", "~"), ("\"\"", ""), ("''", ""), ("'null'", "null"),
        ("\"3.0\"", "3.0"), ("'it''s'", "it's"), ("\"a\\tb\"", "a\tb"), ("\"\\u00e9\"", "é"),
        ("\"x\\0y\"", "x"),  // lyaml pushes the text with lua_pushstring: it stops at NUL
        ("|\n  a\n  b\n", "a\nb\n"), (">\n  a\n  b\n", "a b\n"), ("|-\n  12\n", "12"), (">-\n  true\n", "true"),
    ]

    @Test(arguments: quotedScalars)
    func quotedAndBlockScalarsStayStrings(text: String, expected: Value) {
        #expect(scalarValue(text) == expected, "\(text)")
    }

    static let taggedScalars: [(String, Value)] = [
        ("!!str 12", "12"), ("!!str true", "true"), ("!!str ~", "~"), ("!!str", ""),
        ("!!int 12", 12), ("!!int \"12\"", 12), ("!!int 0x1F", 31), ("!!int 012", 10), ("!!int 1:30", 90),
        ("!!float 1", .number(1)), ("!!float '2.5'", .number(2.5)), ("!!float .inf", .number(.infinity)),
        ("!!float 0x10", .number(16)), ("!!float \" 1.5\"", .number(1.5)), ("!!float 0xE", .number(14)), ("!!float 1:30.5", .number(90.5)),
        ("!!bool yes", true), ("!!bool y", true), ("!!bool N", false), ("!!bool 'off'", false),
        ("!!null anything", .null), ("!!null ''", .null),
        ("!<tag:yaml.org,2002:int> 7", 7),
        // Unknown tags are ignored: plain scalars still resolve implicitly, quoted stay strings.
        ("!foo 12", 12), ("! 12", 12), ("!foo '12'", "12"), ("!!binary 12", 12),
    ]

    @Test(arguments: taggedScalars)
    func explicitTags(text: String, expected: Value) {
        #expect(scalarValue(text) == expected, "\(text)")
    }

    static let invalidTagged: [(String, String)] = [
        ("!!int 1.5", "1:4: invalid 'tag:yaml.org,2002:int' value: '1.5'"),
        ("!!int abc", "1:4: invalid 'tag:yaml.org,2002:int' value: 'abc'"),
        ("!!float abc", "1:4: invalid 'tag:yaml.org,2002:float' value: 'abc'"),
        ("!!float 1:30", "1:4: invalid 'tag:yaml.org,2002:float' value: '1:30'"),
        ("!!bool maybe", "1:4: invalid 'tag:yaml.org,2002:bool' value: 'maybe'"),
        ("!!bool 'yes please'", "1:4: invalid 'tag:yaml.org,2002:bool' value: 'yes please'"),
    ]

    @Test(arguments: invalidTagged)
    func invalidTaggedValuesFail(text: String, message: String) {
        #expect(yamlError("v: \(text)") == message)
    }

    // MARK: Mappings and sequences

    @Test func mappingsKeepOrderAndLastDuplicateWins() throws {
        let doc = try #require(yaml("b: 1\na: 2\nc: 3\na: 4\n"))
        let object = try #require(doc.value.objectValue)
        #expect(Array(object.keys) == ["b", "a", "c"])
        #expect(object["a"] == 4)
        #expect(doc.root.child(key: "a")?.mark == SourceMark(line: 4, column: 4))
        #expect(doc.root.child(key: "a")?.keyMark == SourceMark(line: 4, column: 1))
    }

    @Test func nonStringKeysBecomeTheirText() throws {
        let doc = try #require(yaml("1: a\ntrue: b\n~: c\n0x10: d\n'q': e\n1.5: f\n? [x]\n: g\n"))
        let keys = try #require(doc.value.objectValue).keys
        #expect(Array(keys) == ["1", "true", "~", "0x10", "q", "1.5", "table"])
    }

    @Test func nestedValues() throws {
        let doc = try #require(
            yaml(
                """
                services:
                - name: s1
                  url: http://example.com
                  routes:
                  - paths: [/a, /b]
                    strip_path: false
                - name: s2
                  port: 8080
                """))
        let expected: Value = [
            "services": [
                ["name": "s1", "url": "http://example.com", "routes": [["paths": ["/a", "/b"], "strip_path": false]]],
                ["name": "s2", "port": 8080],
            ]
        ]
        #expect(doc.value == expected)
    }

    @Test func marksAndPaths() throws {
        let doc = try #require(
            yaml(
                """
                _format_version: "3.0"
                services:
                  - name: svc
                    routes:
                      - paths:
                          - /x
                """))
        let root = doc.root
        #expect(root.mark == SourceMark(line: 1, column: 1))
        #expect(root.keyMark == nil)
        let fv = try #require(root.child(key: "_format_version"))
        #expect(fv.mark == SourceMark(line: 1, column: 18))
        #expect(fv.keyMark == SourceMark(line: 1, column: 1))
        let services = try #require(root.child(key: "services"))
        #expect(services.keyMark == SourceMark(line: 2, column: 1))
        #expect(services.count == 1)
        let svc = try #require(services.child(index: 0))
        #expect(svc.mark == SourceMark(line: 3, column: 5))
        #expect(svc.keyMark == nil)
        #expect(svc.child(key: "name")?.mark == SourceMark(line: 3, column: 11))
        let path = try #require(root.descendant(["services", 0, "routes", 0, "paths", 0]))
        #expect(path.mark == SourceMark(line: 6, column: 13))
        #expect(root.descendant(["services", 1]) == nil)
        #expect(root.child(index: 0) == nil)
        #expect(svc.child(key: "nope") == nil)
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let doc = try #require(yaml("é: ü\nname: \"日本\" \n"))
        #expect(doc.root.child(key: "é")?.mark == SourceMark(line: 1, column: 4))
        #expect(doc.value["name"] == "日本")
    }

    // MARK: Anchors, aliases, merge keys

    @Test func aliasesReuseTheAnchoredValueAndMarks() throws {
        let doc = try #require(
            yaml(
                """
                base: &b
                  retries: 5
                  tags: [x]
                copy: *b
                list:
                  - *b
                num: &n 42
                again: *n
                """))
        #expect(doc.value["copy"] == doc.value["base"])
        #expect(doc.value["list"] == [doc.value["base"]!])
        #expect(doc.value["again"] == 42)
        let base = try #require(doc.root.child(key: "base"))
        let copy = try #require(doc.root.child(key: "copy"))
        #expect(copy.mark == base.mark)
        #expect(copy.keyMark == SourceMark(line: 4, column: 1))
        #expect(copy.child(key: "retries")?.mark == base.child(key: "retries")?.mark)
        #expect(doc.root.descendant(["list", 0])?.keyMark == nil)
        #expect(doc.root.child(key: "again")?.mark == SourceMark(line: 7, column: 6))
    }

    @Test func aliasErrors() {
        #expect(yamlError(" *ALIAS") == "1:2: invalid reference: ALIAS")
        #expect(yamlError("a: *nope\n") == "1:4: invalid reference: nope")
        #expect(yamlError("a: &x\n  b: *x\n") == "2:6: recursive reference: x")
        // Anchors are per document.
        #expect(yamlError("a: &x 1\n---\nb: *x\n") == "3:4: invalid reference: x")
    }

    @Test func mergeKeys() throws {
        let doc = try #require(
            yaml(
                """
                defaults: &d
                  a: 1
                  b: 2
                more: &m
                  c: 3
                  a: 9
                one:
                  b: 20
                  <<: *d
                  a: 10
                many:
                  <<: [*d, *m]
                  z: 0
                inline:
                  <<: {k: v}
                tagged:
                  !!merge x: *m
                quoted:
                  "<<": *m
                """))
        #expect(doc.value["one"] == ["b": 20, "a": 10])
        #expect(Array(doc.value["one"]!.objectValue!.keys) == ["b", "a"])
        #expect(doc.value["many"] == ["a": 1, "b": 2, "c": 3, "z": 0])
        #expect(doc.value["inline"] == ["k": "v"])
        #expect(doc.value["tagged"] == ["c": 3, "a": 9])
        #expect(doc.value["quoted"] == ["c": 3, "a": 9])
        // Merged entries keep the source positions of the merged mapping.
        #expect(doc.root.descendant(["many", "c"])?.mark == SourceMark(line: 5, column: 6))
        #expect(doc.root.descendant(["one", "a"])?.mark == SourceMark(line: 10, column: 6))
    }

    @Test func mergeSequenceSkipsNullsAndExplicitNullIsKept() throws {
        let doc = try #require(yaml("x: &x {a: 1}\ny:\n  a: ~\n  <<: [~, *x]\n"))
        #expect(doc.value["y"] == ["a": .null])
    }

    @Test func mergeErrors() {
        #expect(yamlError("a:\n  <<: 5\n") == "2:7: invalid '<<' merge event: 5")
        #expect(yamlError("a:\n  <<: [x]\n") == "2:9: invalid '<<' sequence element 1: x")
        #expect(yamlError("a:\n  !!merge k: s\n") == "2:14: invalid 'tag:yaml.org,2002:merge' merge event: s")
    }

    // MARK: Documents

    @Test func emptyStreamsHaveNoDocument() {
        for text in ["", "# just a comment\n", "\n\n"] {
            if case .success(let doc) = YAMLReader.read(Array(text.utf8)) {
                #expect(doc == nil)
            } else {
                Issue.record("error for \(text.debugDescription)")
            }
        }
    }

    @Test func firstDocumentIsUsedButTheWholeStreamIsParsed() throws {
        let doc = try #require(yaml("a: 1\n---\nb: 2\n"))
        #expect(doc.value == ["a": 1])
        #expect(yaml("---\n...\n---\ntwo\n")?.value == .null)
        #expect(yamlError("a: 1\n---\nb: [\n") != nil)
        #expect(yamlError("a: 1\n---\nb: !!int x\n") == "3:4: invalid 'tag:yaml.org,2002:int' value: 'x'")
    }

    @Test func scalarAndSequenceDocuments() {
        #expect(yaml("bobby tables")?.value == "bobby tables")
        #expect(yaml("- 1\n- two\n")?.value == [1, "two"])
        #expect(yaml("%YAML 1.1\n---\n")?.value == .null)
    }

    // MARK: Errors

    static let syntaxErrors: [(String, String)] = [
        ("...", "1:1: did not find expected node content"),
        ("---\n...\ngarbage\n", "2:1: did not find expected <document start>"),
        ("a: b: c\n", "1:4: mapping values are not allowed in this context"),
        ("a: [1, 2\n", "1:8: did not find expected ',' or ']'"),
        ("a: 'x\n", "1:1: found unexpected end of stream"),
        ("a:\n\tb: 1\n", "1:1: found character that cannot start any token"),
        ("%YAML 2.0\n---\n", "1:1: found incompatible YAML document"),
        ("!bkk!bool untrue", "1:1: found undefined tag handle"),
    ]

    @Test(arguments: syntaxErrors)
    func syntaxErrorsReadLikeLyaml(text: String, message: String) {
        #expect(yamlError(text) == message)
    }

    @Test func errorMarkMatchesMessage() {
        guard case .failure(let e) = YAMLReader.read(Array("a:\n  - b\n c: d\n".utf8)) else {
            Issue.record("expected an error")
            return
        }
        #expect(e.message == "3:2: did not find expected key")
        #expect(e.mark == SourceMark(line: 3, column: 2))
    }

    @Test func invalidUTF8IsAnError() {
        let bytes: [UInt8] = Array("a: ".utf8) + [0xFF, 0xFE, 0x41]
        guard case .failure(let e) = YAMLReader.read(bytes) else {
            Issue.record("expected an error")
            return
        }
        #expect(e.message.contains("invalid"))
    }

    @Test func nestingDepthIsCapped() {
        let depth = ConfigText.maxDepth
        let ok = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(yamlError(ok) == nil)
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        #expect(yamlError(tooDeep)?.contains("too many nested data structures") == true)
        // Depth through aliases counts too.
        let half = depth / 2 + 10
        let nested = String(repeating: "[", count: half) + String(repeating: "]", count: half)
        let viaAlias = "a: &a \(nested)\nb: &b \(String(repeating: "[", count: half))*a\(String(repeating: "]", count: half))\n"
        #expect(yamlError(viaAlias)?.contains("too many nested data structures") == true)
        // Very deep block nesting does not crash either.
        var block = ""
        for i in 0..<2000 { block += String(repeating: " ", count: i) + "k:\n" }
        #expect(yamlError(block)?.contains("too many nested data structures") == true)
    }

    // MARK: Robustness

    @Test func everyPrefixOfAConfigParsesOrFails() {
        let bytes = Array(readerSampleConfigYAML.utf8)
        #expect(bytes.count >= 2048)
        guard case .success(let full?) = YAMLReader.read(bytes) else {
            Issue.record("the sample config must load")
            return
        }
        #expect(full.value["services"]?.arrayValue?.count == 3)
        var successes = 0
        for cut in 0...min(bytes.count, 2048) {
            switch YAMLReader.read(Array(bytes[0..<cut])) {
            case .success: successes += 1
            case .failure(let e): #expect(e.mark != nil || e.message.isEmpty == false)
            }
        }
        #expect(successes > 0)
    }

    @Test func garbageInputNeverCrashes() {
        var rng = ReaderTestRNG(seed: 0x5EED)
        let alphabet = Array("{}[]:,-?!&*|>'\"#%@` \n\t\r\\abc01.~<=".utf8)
        for _ in 0..<400 {
            let length = Int(rng.next() % 200)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                let r = rng.next()
                bytes.append(r % 5 == 0 ? UInt8(truncatingIfNeeded: r >> 8) : alphabet[Int((r >> 16) % UInt64(alphabet.count))])
            }
            _ = YAMLReader.read(bytes)
            _ = ConfigText.parse(bytes, fileName: nil)
        }
    }

    @Test func aliasExpansionIsShared() throws {
        // "Billion laughs": each level refers ten times to the previous one. Values are shared, so
        // loading stays linear in the size of the text.
        var text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...12 {
            let refs = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
            text += "l\(level): &l\(level) [\(refs)]\n"
        }
        let doc = try #require(yaml(text))
        var value = try #require(doc.value["l12"])
        var depth = 0
        while case .array(let a) = value, let first = a.first {
            #expect(a.count == 10)
            value = first
            depth += 1
        }
        #expect(depth == 13)
        #expect(value == "lol")
    }

    @Test func publicResolverAPI() {
        #expect(ScalarResolver.tag(named: "tag:yaml.org,2002:int") == .int)
        #expect(ScalarResolver.tag(named: "tag:yaml.org,2002:merge") == nil)
        #expect(ScalarResolver.resolve("12", tag: .int) == .value(12))
        #expect(ScalarResolver.resolve("x", tag: .int) == .invalid)
        #expect(ScalarResolver.resolve("1", tag: .float) == .value(.number(1)))
        #expect(ScalarResolver.resolve("yes", tag: .str) == .string)
        #expect(ScalarResolver.resolvePlain("yes") == .value(true))
    }

    @Test func largeConfigLoads() throws {
        var text = "_format_version: \"3.0\"\nservices:\n"
        for i in 0..<2000 {
            text += "- name: service-\(i)\n  url: http://upstream-\(i).internal:8080/api\n  retries: 5\n"
            text += "  routes:\n  - name: route-\(i)\n    paths: [\"/r\(i)\"]\n    strip_path: true\n"
        }
        let doc = try #require(yaml(text))
        let services = try #require(doc.value["services"]?.arrayValue)
        #expect(services.count == 2000)
        #expect(services[1999]["routes"]?.arrayValue?.first?["name"] == "route-1999")
        #expect(doc.root.descendant(["services", 1999, "routes", 0, "paths", 0])?.mark.line == 2 + 1999 * 7 + 6)
    }
}

/// A small deterministic PRNG for the garbage test.
struct ReaderTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A realistic Kong config of a bit more than 2 KB.
let readerSampleConfigYAML = """
    _format_version: "3.0"
    _transform: true

    # Shared defaults
    x-defaults: &service-defaults
      retries: 5
      connect_timeout: 60000
      write_timeout: 60000
      read_timeout: 60000
      protocol: http

    services:
      - <<: *service-defaults
        name: example-service
        host: example.com
        port: 80
        path: /api
        tags: [team-a, "tier:1"]
        routes:
          - name: example-route
            paths:
              - /example
              - ~/items/\\d+$
            methods: [GET, POST]
            strip_path: false
            preserve_host: yes
            https_redirect_status_code: 426
        plugins:
          - name: rate-limiting
            config:
              minute: 20
              policy: local
              fault_tolerant: true
      - name: second
        url: https://second.internal:8443/v2
        enabled: true
        ca_certificates: []
        routes:
          - name: second-route
            hosts: ["api.example.com", "*.example.org"]
            headers:
              x-version: ["v1", 'v2']
            regex_priority: 0x10
      - name: third
        host: third.svc
        port: 0o10
        client_certificate: null
        routes: ~

    consumers:
      - username: alice
        custom_id: "0001"
        keyauth_credentials:
          - key: alice-secret-key
        tags:
          - 'gold'
      - username: bob
        acls:
          - group: admins
          - group: users

    upstreams:
      - name: backend
        algorithm: round-robin
        slots: 10000
        healthchecks:
          active:
            healthy:
              interval: 0
              successes: 0
            unhealthy:
              http_failures: 0
              interval: 0.5
          threshold: 0.0
        targets:
          - target: 10.0.0.1:8080
            weight: 100
          - target: 10.0.0.2:8080
            weight: 50

    plugins:
      - name: cors
        config:
          origins: ["*"]
          methods: [GET, HEAD, PUT, PATCH, POST]
          headers: >
            Accept, Accept-Version, Content-Length,
            Content-MD5, Content-Type, Date, X-Auth-Token
          credentials: true
          max_age: 3600
      - name: request-transformer
        config:
          add:
            headers:
              - "x-added:1"
            body: |
              line one
              line two
    certificates:
      - cert: |
          -----BEGIN CERTIFICATE-----
          MIIBszCCAVmgAwIBAgIUJc3r5m2c1h4b0Vb3Y3JhZ2VudGVzdDAKBggqhkjOPQQDAjAk
          -----END CERTIFICATE-----
        key: |
          -----BEGIN PRIVATE KEY-----
          MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg
          -----END PRIVATE KEY-----
        snis:
          - name: example.com
    """
