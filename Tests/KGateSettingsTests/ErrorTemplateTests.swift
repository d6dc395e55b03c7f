import Foundation
import Testing

@testable import KGateSettings

/// `error_template_*`: Kong's `string.format(template, message, request_id)` placeholders, read
/// from the file when the settings are resolved.
struct ErrorTemplateTests {
    struct ParseCase: Sendable, CustomTestStringConvertible {
        let template: String
        let parts: [ErrorTemplate.Part]
        var testDescription: String { template.debugDescription }

        init(_ template: String, _ parts: ErrorTemplate.Part...) {
            self.template = template
            self.parts = parts
        }
    }

    static func text(_ s: String) -> ErrorTemplate.Part { .text(Array(s.utf8)) }

    static let parsed: [ParseCase] = [
        ParseCase(""),
        ParseCase("no placeholder at all\n", text("no placeholder at all\n")),
        ParseCase("%s", .message),
        ParseCase("%s%s", .message, .requestID),
        ParseCase(
            "{\n  \"custom_template_message\":\"%s\",\n  \"request_id\":\"%s\"\n}", text("{\n  \"custom_template_message\":\""),
            .message, text("\",\n  \"request_id\":\""), .requestID, text("\"\n}")),
        ParseCase("100%% sure: %s", text("100% sure: "), .message),
        ParseCase("%%s is literal, %s is not", text("%s is literal, "), .message, text(" is not")),
        // Kong's spec fixture writes `\n` as two characters: they stay as they are.
        ParseCase("custom plain template: %s\\n\nrequest_id: %s\\n", text("custom plain template: "), .message,
                  text("\\n\nrequest_id: "), .requestID, text("\\n")),
    ]

    @Test(arguments: parsed)
    func placeholders(_ c: ParseCase) throws {
        #expect(try ErrorTemplate(path: "t", bytes: Array(c.template.utf8)).parts == c.parts)
    }

    static let refused: [(String, String)] = [
        ("%s %s %s", "more than two %s placeholders; the first is the message, the second the request id"),
        ("<p>%d</p>", "unsupported placeholder '%d' (only %s, for the message then the request id, and %% for a percent sign)"),
        ("%5s", "unsupported placeholder '%5' (only %s, for the message then the request id, and %% for a percent sign)"),
        ("50% off", "unsupported placeholder '% ' (only %s, for the message then the request id, and %% for a percent sign)"),
        ("100%", "a lone '%' ends the template (write %% for a percent sign)"),
    ]

    @Test(arguments: refused)
    func refusedTemplate(_ c: (String, String)) {
        #expect(throws: ErrorTemplate.Problem(c.1)) { try ErrorTemplate(path: "t", bytes: Array(c.0.utf8)) }
    }

    @Test func bytesAreKeptAsTheyAre() throws {
        let bytes: [UInt8] = [0xFF, 0xFE, UInt8(ascii: "%"), UInt8(ascii: "s"), 0x00, 0xC3]
        #expect(try ErrorTemplate(path: "t", bytes: bytes).parts == [.text([0xFF, 0xFE]), .message, .text([0x00, 0xC3])])
    }

    /// A temporary file with the given content, removed after `body`.
    private func withFile<R>(_ content: String, _ body: (String) throws -> R) throws -> R {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-template-\(UUID().uuidString)").path
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test func readFromTheFileAtStart() throws {
        try withFile("<h1>Not the default</h1><p>%s.</p><p>request_id: %s</p>") { path in
            let s = try settings("error_template_html = \(path)")
            #expect(s.errorTemplateHTML?.path == path)
            #expect(s.errorTemplateHTML?.parts == [
                Self.text("<h1>Not the default</h1><p>"), .message, Self.text(".</p><p>request_id: "), .requestID,
                Self.text("</p>"),
            ])
            #expect(s.errorTemplateJSON == nil && s.errorTemplateXML == nil && s.errorTemplatePlain == nil)
            #expect(s.redactedDictionary["error_template_html"] == path)
            #expect(s.redactedDictionary["error_template_json"] == nil)
        }
    }

    @Test func fromTheEnvironment() throws {
        try withFile("{\"message\":\"%s\"}") { path in
            let s = try settings(env: ["KONG_ERROR_TEMPLATE_JSON": path, "KONG_ERROR_TEMPLATE_PLAIN": path])
            #expect(s.errorTemplateJSON?.parts == [Self.text("{\"message\":\""), .message, Self.text("\"}")])
            #expect(s.errorTemplatePlain?.path == path)
        }
    }

    @Test func badTemplateIsAStartUpError() throws {
        try withFile("<m>%s</m><m>%s</m><m>%s</m>") { path in
            #expect(problems("error_template_xml = \(path)") == [
                "kong.conf:1: invalid value for 'error_template_xml': '\(path)' "
                    + "(more than two %s placeholders; the first is the message, the second the request id)"
            ])
        }
    }

    @Test func missingFileNamesTheVariable() {
        #expect(problems(env: ["KONG_ERROR_TEMPLATE_PLAIN": "missing/template.txt"]) == [
            "KONG_ERROR_TEMPLATE_PLAIN: invalid value for 'error_template_plain': 'missing/template.txt' (no such file)"
        ])
    }
}
