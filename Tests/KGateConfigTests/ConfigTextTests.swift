import KGateConfig
import KGateSchema
import Testing

private func parse(_ text: String, _ fileName: String?) -> Result<SourceDocument, ConfigTextError> {
    ConfigText.parse(Array(text.utf8), fileName: fileName)
}

private func errorMessage(_ text: String, _ fileName: String?) -> String? {
    if case .failure(let e) = parse(text, fileName) { return e.message }
    return nil
}

private func value(_ text: String, _ fileName: String?) -> Value? {
    if case .success(let d) = parse(text, fileName) { return d.value }
    return nil
}

@Suite struct ConfigTextTests {
    static let yamlText = "_format_version: \"3.0\"\nservices:\n- name: s\n  port: 80\n"
    static let jsonText = #"{"_format_version": "3.0", "services": [{"name": "s", "port": 80}]}"#
    static let expected: Value = ["_format_version": "3.0", "services": [["name": "s", "port": 80]]]

    static let dispatch: [(String?, String, Value?, String?)] = [
        // fileName, text, value, error
        ("kong.yml", yamlText, expected, nil),
        ("kong.yaml", yamlText, expected, nil),
        ("/etc/kong/kong.yaml", yamlText, expected, nil),
        ("kong.json", jsonText, expected, nil),
        (nil, jsonText, expected, nil),
        (nil, yamlText, expected, nil),
        ("kong.yml", jsonText, expected, nil),  // JSON content in a YAML file
        ("kong.json", yamlText, nil,
            "failed parsing declarative configuration: Expected value but found invalid token at character 1"),
        ("kong.conf", yamlText, nil, "unknown file type: kong.conf. (Accepted types: json, yaml)"),
        ("kong.YML", yamlText, nil, "unknown file type: kong.YML. (Accepted types: json, yaml)"),
        ("kong", jsonText, nil, "unknown file type: kong. (Accepted types: json, yaml)"),
        ("kongjson", jsonText, expected, nil),  // Lua's `json$` needs no dot
        ("kong.xyml", yamlText, expected, nil),
    ]

    @Test(arguments: dispatch)
    func fileNameDecidesTheParser(fileName: String?, text: String, value: Value?, error: String?) {
        switch parse(text, fileName) {
        case .success(let doc):
            #expect(doc.value == value)
            #expect(doc.fileName == fileName)
            #expect(error == nil)
        case .failure(let e):
            #expect(e.message == error)
            #expect(value == nil)
        }
    }

    static let notAnObject: [(String, String?, String)] = [
        ("bobby tables", nil, "failed parsing declarative configuration: expected an object"),
        ("bobby tables", "kong.yml", "failed parsing declarative configuration: expected an object"),
        ("", "kong.yml", "failed parsing declarative configuration: expected an object"),
        ("", nil, "failed parsing declarative configuration: expected an object"),
        ("# nothing\n", "kong.yaml", "failed parsing declarative configuration: expected an object"),
        ("42", nil, "failed parsing declarative configuration: expected an object"),
        ("\"str\"", nil, "failed parsing declarative configuration: expected an object"),
        // cjson gave a non-table without an error and YAML is not tried for .json files.
        ("\"str\"", "kong.json", "failed parsing declarative configuration"),
        ("null", "kong.json", "failed parsing declarative configuration"),
        ("", "kong.json", "failed parsing declarative configuration: Expected value but found T_END at character 1"),
    ]

    @Test(arguments: notAnObject)
    func nonTablesAreRefused(text: String, fileName: String?, message: String) {
        #expect(errorMessage(text, fileName) == message)
    }

    static let yamlSyntaxErrors: [(String, String, SourceMark)] = [
        ("a:\n  b: 1\n c: 2\n", "3:2: did not find expected key", SourceMark(line: 3, column: 2)),
        (
            "_format_version: \"3.0\"\nservices:\n  - name: a\n    url: http://x\n   routes: []\n",
            "5:4: did not find expected '-' indicator", SourceMark(line: 5, column: 4)
        ),
    ]

    @Test(arguments: yamlSyntaxErrors)
    func yamlSyntaxErrorsCarryLyamlPositions(text: String, message: String, mark: SourceMark) {
        guard case .failure(let e) = parse(text, "kong.yml") else {
            Issue.record("expected an error")
            return
        }
        #expect(e.message == "failed parsing declarative configuration: \(message)")
        #expect(e.mark == mark)
    }

    @Test func withoutFileNameYAMLErrorsWin() {
        #expect(errorMessage("a: [1, 2\n", nil)
            == "failed parsing declarative configuration: 1:8: did not find expected ',' or ']'")
    }

    @Test func braceTextThatIsNotJSONIsReadAsYAML() {
        #expect(value("{a: 1, b: [x, y]}", "kong.yml") == ["a": 1, "b": ["x", "y"]])
        #expect(value("  {\"a\": yes}", "kong.yml") == ["a": true])
        #expect(value("{a: 1}", nil) == ["a": 1])
    }

    @Test func formatVersionNumberStaysANumber() {
        #expect(value("_format_version: 3.0\n", "kong.yml") == ["_format_version": .number(3.0)])
        #expect(value(#"{"_format_version": 3.0}"#, "kong.json") == ["_format_version": .number(3.0)])
        #expect(value(#"{"_format_version": 3}"#, "kong.json") == ["_format_version": 3])
    }

    @Test func anyTableIsAccepted() {
        // Kong only checks `type(t) == "table"`: sequences go on to validation.
        #expect(value("- a\n- b\n", "kong.yml") == ["a", "b"])
        #expect(value("[1, 2]", "kong.json") == [1, 2])
        // lyaml.null is a table too: a null YAML document is an empty config.
        #expect(value("---\n", "kong.yml") == .object([:]))
        #expect(value("~", "kong.yml") == .object([:]))
        #expect(value("null", nil) == .object([:]))
    }

    @Test func yamlNullsAreNull() {
        #expect(value("a: ~\nb: null\nc:\n", "kong.yml") == ["a": .null, "b": .null, "c": .null])
    }

    @Test func stringOverload() {
        guard case .success(let doc) = ConfigText.parse("a: 1", fileName: "x.yml") else {
            Issue.record("parse failed")
            return
        }
        #expect(doc.value == ["a": 1])
        #expect(doc.root.child(key: "a")?.mark == SourceMark(line: 1, column: 4))
    }

    @Test func everyPrefixThroughTheDispatcher() {
        let yaml = Array(readerSampleConfigYAML.utf8)
        let json = Array(readerSampleConfigJSON.utf8)
        for cut in stride(from: 0, through: 2048, by: 7) {
            _ = ConfigText.parse(Array(yaml[0..<min(cut, yaml.count)]), fileName: nil)
            _ = ConfigText.parse(Array(json[0..<min(cut, json.count)]), fileName: "kong.yml")
        }
    }
}
