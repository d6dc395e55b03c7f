import KGateConfig
import KGateSchema
import Testing

private func json(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> SourceDocument? {
    switch JSONReader.read(Array(text.utf8)) {
    case .success(let doc):
        return doc
    case .failure(let e):
        Issue.record("unexpected error: \(e.message)", sourceLocation: sourceLocation)
        return nil
    }
}

private func jsonError(_ bytes: [UInt8]) -> ConfigTextError? {
    if case .failure(let e) = JSONReader.read(bytes) { return e }
    return nil
}

private func jsonError(_ text: String) -> String? {
    jsonError(Array(text.utf8))?.message
}

@Suite struct JSONReaderTests {
    static let scalars: [(String, Value)] = [
        ("0", 0), ("-0", 0), ("42", 42), ("-17", -17), ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .number(-9223372036854775808.0)),
        ("92233720368547758070", .number(92233720368547758070.0)),
        ("1.0", .number(1)), ("1.5", .number(1.5)), ("-0.25", .number(-0.25)), ("1e3", .number(1000)),
        ("1E-2", .number(0.01)), ("2.5e+1", .number(25)),
        // cjson's lenient numbers (decode_invalid_numbers is on by default)
        ("+1", 1), ("007", 7), ("0x1F", .number(31)), ("1.", .number(1)), ("Infinity", .number(.infinity)),
        ("-inf", .number(-.infinity)),
        ("true", true), ("false", false), ("null", .null),
        ("\"\"", ""), ("\"abc\"", "abc"), ("\"a\\\"b\"", "a\"b"), ("\"\\\\\\/\\b\\f\\n\\r\\t\"", "\\/\u{8}\u{c}\n\r\t"),
        ("\"\\u00e9\"", "é"), ("\"\\u20AC\"", "€"), ("\"\\ud83d\\ude00\"", "😀"), ("\"\\u0000x\"", "\u{0}x"),
        ("\"日本\"", "日本"), ("\"tab\there\"", "tab\there"),
    ]

    @Test(arguments: scalars)
    func scalarValues(text: String, expected: Value) {
        #expect(json(text)?.value == expected, "\(text)")
        #expect(json("[\(text)]")?.value == [expected], "[\(text)]")
    }

    @Test func nanIsANumber() {
        guard case .number(let d)? = json("NaN")?.value else {
            Issue.record("NaN")
            return
        }
        #expect(d.isNaN)
    }

    @Test func objectsKeepOrderAndLastDuplicateWins() throws {
        let doc = try #require(json(#"{"b": 1, "a": 2, "c": {"x": []}, "a": 3}"#))
        let object = try #require(doc.value.objectValue)
        #expect(Array(object.keys) == ["b", "a", "c"])
        #expect(object["a"] == 3)
        #expect(object["c"] == ["x": []])
        #expect(json("{}")?.value == .object([:]))
        #expect(json(" [ ] ")?.value == .array([]))
    }

    @Test func marks() throws {
        let text = """
            {
              "services": [
                {"name": "a", "port": 80},
                {"name": "b\\nc",
                 "tags": ["x", "é", "y"]}
              ]
            }
            """
        let doc = try #require(json(text))
        let root = doc.root
        #expect(root.mark == SourceMark(line: 1, column: 1))
        let services = try #require(root.child(key: "services"))
        #expect(services.mark == SourceMark(line: 2, column: 15))
        #expect(services.keyMark == SourceMark(line: 2, column: 3))
        #expect(root.descendant(["services", 0])?.mark == SourceMark(line: 3, column: 5))
        #expect(root.descendant(["services", 0])?.keyMark == nil)
        #expect(root.descendant(["services", 0, "port"])?.mark == SourceMark(line: 3, column: 27))
        #expect(root.descendant(["services", 0, "port"])?.keyMark == SourceMark(line: 3, column: 19))
        #expect(root.descendant(["services", 1, "tags"])?.keyMark == SourceMark(line: 5, column: 6))
        // Columns count characters: "é" is two bytes.
        #expect(root.descendant(["services", 1, "tags", 2])?.mark == SourceMark(line: 5, column: 25))
    }

    @Test func rawNewlinesInStringsAdvanceLines() throws {
        let doc = try #require(json("[\"a\nb\", 1,\n 2]"))
        #expect(doc.value == ["a\nb", 1, 2])
        #expect(doc.root.child(index: 1)?.mark == SourceMark(line: 2, column: 5))
        #expect(doc.root.child(index: 2)?.mark == SourceMark(line: 3, column: 2))
    }

    static let errors: [(String, String)] = [
        ("", "Expected value but found T_END at character 1"),
        ("   ", "Expected value but found T_END at character 4"),
        ("{", "Expected object key string but found T_END at character 2"),
        ("{\"a\" 1}", "Expected colon but found T_INTEGER at character 6"),
        ("{\"a\": 1,}", "Expected object key string but found T_OBJ_END at character 9"),
        ("{\"a\": 1 \"b\": 2}", "Expected comma or object end but found T_STRING at character 9"),
        ("[1, 2,]", "Expected value but found T_ARR_END at character 7"),
        ("[1 2]", "Expected comma or array end but found T_INTEGER at character 4"),
        ("{} x", "Expected the end but found invalid token at character 4"),
        ("{}}", "Expected the end but found T_OBJ_END at character 3"),
        ("[tru]", "Expected value but found invalid token at character 2"),
        ("[\"abc", "Expected value but found unexpected end of string at character 6"),
        ("[\"a\\qb\"]", "Expected value but found invalid escape code at character 4"),
        ("[\"\\u12G4\"]", "Expected value but found invalid unicode escape code at character 3"),
        ("[\"\\udc00\"]", "Expected value but found invalid unicode escape code at character 3"),
        ("[\"\\ud800x\"]", "Expected value but found invalid unicode escape code at character 3"),
        ("[\"\\ud800\\u0041\"]", "Expected value but found invalid unicode escape code at character 3"),
        ("[-]", "Expected value but found invalid number at character 2"),
        ("[+]", "Expected value but found invalid number at character 2"),
        ("{'a': 1}", "Expected object key string but found invalid token at character 2"),
        ("a: 1", "Expected value but found invalid token at character 1"),
        ("\u{FEFF}{}", "Expected value but found invalid token at character 1"),
        ("[1]\n// comment", "Expected the end but found invalid token at character 5"),
    ]

    @Test(arguments: errors)
    func errorsReadLikeCjson(text: String, message: String) {
        #expect(jsonError(text) == message)
    }

    @Test func errorMarks() throws {
        let e = try #require(jsonError(Array("{\n  \"a\": 1,\n  \"b\" 2\n}".utf8)))
        #expect(e.message == "Expected colon but found T_INTEGER at character 19")
        #expect(e.mark == SourceMark(line: 3, column: 7))
        let s = try #require(jsonError(Array("[\"ab\ncd\\x\"]".utf8)))
        #expect(s.message == "Expected value but found invalid escape code at character 8")
        #expect(s.mark == SourceMark(line: 2, column: 3))
    }

    @Test func nulEndsTheText() {
        #expect(json("{\"a\": 1}\u{0}garbage")?.value == ["a": 1])
        #expect(jsonError([UInt8]("[\"a".utf8) + [0] + [UInt8]("\"]".utf8))?.message
            == "Expected value but found unexpected end of string at character 4")
    }

    @Test func utf16IsRefused() {
        #expect(jsonError([0x7B, 0x00, 0x7D, 0x00])?.message == "JSON parser does not support UTF-16 or UTF-32")
        #expect(jsonError([0x00, 0x7B])?.message == "JSON parser does not support UTF-16 or UTF-32")
    }

    @Test func nestingDepthIsCapped() {
        let depth = ConfigText.maxDepth
        #expect(jsonError(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)) == nil)
        let deep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        #expect(jsonError(deep) == "Found too many nested data structures (\(depth + 1)) at character \(depth + 1)")
        // Far deeper input fails the same way without exhausting the stack.
        #expect(jsonError(String(repeating: "{\"a\":", count: 100_000))?.hasPrefix("Found too many nested") == true)
    }

    @Test func everyPrefixOfAConfigParsesOrFails() {
        let bytes = Array(readerSampleConfigJSON.utf8)
        #expect(bytes.count >= 2048)
        guard case .success(let full) = JSONReader.read(bytes) else {
            Issue.record("the sample config must load")
            return
        }
        #expect(full.value["services"]?.arrayValue?.count == 3)
        var failures = 0
        for cut in 0...min(bytes.count, 2048) {
            if case .failure(let e) = JSONReader.read(Array(bytes[0..<cut])) {
                failures += 1
                #expect(e.mark != nil)
            }
        }
        // Only the whole text is a complete JSON value.
        #expect(failures == min(bytes.count, 2048) + 1 - (bytes.count <= 2048 ? 1 : 0))
    }

    @Test func garbageInputNeverCrashes() {
        var rng = ReaderTestRNG(seed: 0x7E57)
        let alphabet = Array("{}[]:,\"\\u0123456789abcdefABCDEF+-.eEtruefalsnulxINnf \n\t".utf8)
        for _ in 0..<1000 {
            let length = Int(rng.next() % 120)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                let r = rng.next()
                bytes.append(r % 7 == 0 ? UInt8(truncatingIfNeeded: r >> 8) : alphabet[Int((r >> 16) % UInt64(alphabet.count))])
            }
            _ = JSONReader.read(bytes)
        }
    }
}

/// A realistic Kong config of a bit more than 2 KB, as JSON.
let readerSampleConfigJSON = """
    {
      "_format_version": "3.0",
      "_transform": true,
      "services": [
        {
          "name": "example-service",
          "host": "example.com",
          "port": 80,
          "path": "/api",
          "retries": 5,
          "connect_timeout": 60000,
          "write_timeout": 60000,
          "read_timeout": 60000,
          "protocol": "http",
          "tags": ["team-a", "tier:1"],
          "routes": [
            {
              "name": "example-route",
              "paths": ["/example", "~/items/\\\\d+$"],
              "methods": ["GET", "POST"],
              "strip_path": false,
              "preserve_host": true,
              "https_redirect_status_code": 426
            }
          ],
          "plugins": [
            {"name": "rate-limiting", "config": {"minute": 20, "policy": "local", "fault_tolerant": true}}
          ]
        },
        {
          "name": "second",
          "url": "https://second.internal:8443/v2",
          "enabled": true,
          "ca_certificates": [],
          "routes": [
            {
              "name": "second-route",
              "hosts": ["api.example.com", "*.example.org"],
              "headers": {"x-version": ["v1", "v2"]},
              "regex_priority": 16
            }
          ]
        },
        {"name": "third", "host": "third.svc", "port": 8, "client_certificate": null, "routes": null}
      ],
      "consumers": [
        {"username": "alice", "custom_id": "0001", "keyauth_credentials": [{"key": "alice-secret-key"}], "tags": ["gold"]},
        {"username": "bob", "acls": [{"group": "admins"}, {"group": "users"}]}
      ],
      "upstreams": [
        {
          "name": "backend",
          "algorithm": "round-robin",
          "slots": 10000,
          "healthchecks": {
            "active": {
              "healthy": {"interval": 0, "successes": 0},
              "unhealthy": {"http_failures": 0, "interval": 0.5}
            },
            "threshold": 0.0
          },
          "targets": [
            {"target": "10.0.0.1:8080", "weight": 100},
            {"target": "10.0.0.2:8080", "weight": 50}
          ]
        }
      ],
      "plugins": [
        {
          "name": "cors",
          "config": {
            "origins": ["*"],
            "methods": ["GET", "HEAD", "PUT", "PATCH", "POST"],
            "headers": "Accept, Accept-Version, Content-Length, Content-MD5, Content-Type, Date, X-Auth-Token\\n",
            "credentials": true,
            "max_age": 3600
          }
        },
        {
          "name": "request-transformer",
          "config": {"add": {"headers": ["x-added:1"], "body": "line one\\nline two\\n"}}
        }
      ],
      "certificates": [
        {
          "cert": "-----BEGIN CERTIFICATE-----\\nMIIBszCCAVmgAwIBAgIUJc3r5m2c1h4b0Vb3Y3JhZ2VudGVzdDAKBggqhkjOPQQDAjAk\\n-----END CERTIFICATE-----\\n",
          "key": "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\\n-----END PRIVATE KEY-----\\n",
          "snis": [{"name": "example.com"}]
        }
      ]
    }
    """
