import KGateSchema
import Testing

@testable import KGateProxy

/// nginx's not-modified filter, as it treats the responses Kong makes itself.
@Suite("nginx's not-modified filter")
struct NotModifiedFilterTests {
    typealias F = NotModifiedFilter

    @Test("HTTP dates in nginx's three formats; invalid ones are nil")
    func dates() {
        let t = 784_111_777  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(HTTPTime.parse("Sun, 06 Nov 1994 08:49:37 GMT") == t)
        #expect(HTTPTime.parse("Sunday, 06-Nov-94 08:49:37 GMT") == t)
        #expect(HTTPTime.parse("Sun Nov  6 08:49:37 1994") == t)
        #expect(HTTPTime.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPTime.parse("Tue, 29 Feb 2000 23:59:59 GMT") == 951_868_799)
        #expect(HTTPTime.parse("Mon, 29 Feb 1999 00:00:00 GMT") == nil)
        #expect(HTTPTime.parse("Sun, 06 nov 1994 08:49:37 GMT") == nil)
        #expect(HTTPTime.parse("Sun, 06 Nov 1994 24:00:00 GMT") == nil)
        #expect(HTTPTime.parse("yesterday") == nil)
        #expect(HTTPTime.parse("1") == nil)
    }

    @Test("entity tag lists: *, strong and weak comparison, spaces and commas")
    func entityTags() {
        #expect(F.matches("*", etag: nil, weak: false))
        #expect(!F.matches("1", etag: nil, weak: false))
        #expect(F.matches("\"a\", \"b\"", etag: "\"b\"", weak: false))
        #expect(F.matches("\"x\" ,\"a\"  ", etag: "\"a\"", weak: false))
        #expect(!F.matches("\"ab\"", etag: "\"a\"", weak: false))
        #expect(!F.matches("W/\"a\"", etag: "\"a\"", weak: false))
        #expect(F.matches("W/\"a\"", etag: "\"a\"", weak: true))
        #expect(F.matches("\"a\"", etag: "W/\"a\"", weak: true))
    }

    @Test("a 200 with failed preconditions is a 412, with matched validators a 304; other statuses pass")
    func outcomes() {
        let lm = "Sun, 06 Nov 1994 08:49:37 GMT"
        func outcome(_ c: F.Conditions, status: Int = 200, etag: String? = nil, lastModified: String? = nil) -> F.Outcome {
            F.evaluate(status: status, etag: etag, lastModified: lastModified, c)
        }
        #expect(outcome(.init()) == .send)
        // Kong's 24-buffered_spec: If-Match on a response without an ETag.
        #expect(outcome(.init(ifMatch: "1")) == .preconditionFailed)
        #expect(outcome(.init(ifMatch: "1"), status: 201) == .send)
        #expect(outcome(.init(ifMatch: "*")) == .send)
        #expect(outcome(.init(ifMatch: "\"v1\""), etag: "\"v1\"") == .send)
        #expect(outcome(.init(ifUnmodifiedSince: lm)) == .preconditionFailed)
        #expect(outcome(.init(ifUnmodifiedSince: lm), lastModified: lm) == .send)
        #expect(outcome(.init(ifUnmodifiedSince: "Sat, 05 Nov 1994 08:49:37 GMT"), lastModified: lm) == .preconditionFailed)
        #expect(outcome(.init(ifNoneMatch: "*")) == .notModified)
        #expect(outcome(.init(ifNoneMatch: "\"v1\"")) == .send)
        #expect(outcome(.init(ifNoneMatch: "W/\"v1\""), etag: "\"v1\"") == .notModified)
        #expect(outcome(.init(ifModifiedSince: lm)) == .send)
        #expect(outcome(.init(ifModifiedSince: lm), lastModified: lm) == .notModified)
        #expect(outcome(.init(ifModifiedSince: "Mon, 07 Nov 1994 08:49:37 GMT"), lastModified: lm) == .send)
        // Both validators sent: both must match.
        #expect(outcome(.init(ifNoneMatch: "*", ifModifiedSince: "Mon, 07 Nov 1994 08:49:37 GMT"), lastModified: lm) == .send)
        #expect(outcome(.init(ifNoneMatch: "\"v1\"", ifModifiedSince: lm), etag: "\"v1\"", lastModified: lm) == .notModified)
    }
}
