#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KGateHTTP
import KGatePlugins
import KGateSchema

/// nginx's not-modified header filter (`ngx_http_not_modified_filter_module`) for the responses
/// Kong makes itself: plugin exits (`kong.response.exit`) and buffered proxying (Kong's
/// `response` phase, printed by Lua). nginx skips it for proxied responses
/// (`r->disable_not_modified = !u->cacheable`), so streamed upstream responses never go through it.
///
/// Only a 200 is checked: a failed `If-Unmodified-Since` or `If-Match` turns it into nginx's 412
/// error page; otherwise a matching `If-Modified-Since` / `If-None-Match` (all those sent must
/// match) turns it into a bodiless 304.
enum NotModifiedFilter {
    enum Outcome: Equatable {
        case send
        case preconditionFailed
        case notModified
    }

    /// The request's conditional headers (nginx keeps the first of each; a second is a 400).
    struct Conditions {
        var ifMatch: String?
        var ifNoneMatch: String?
        var ifModifiedSince: String?
        var ifUnmodifiedSince: String?

        var isEmpty: Bool { ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil }
    }

    /// What nginx does with a response Kong makes itself, of `status` with `headers`, to
    /// `request` (whose conditional headers are only read for a 200).
    static func evaluate(status: Int, headers: HTTPFields, request: borrowing MessageHead) -> Outcome {
        guard status == 200 else { return .send }
        return evaluate(status: status, etag: headers["etag"], lastModified: headers["last-modified"], Conditions(request))
    }

    /// The fields of a 304 made from a response's: nginx clears `Content-Type`,
    /// `Content-Length`, `Accept-Ranges` and `Content-Encoding`.
    static func notModifiedFields(_ fields: HTTPFields) -> HTTPFields {
        var out = fields
        for name in ["content-type", "content-length", "accept-ranges", "content-encoding"] { out.remove(name) }
        return out
    }

    /// What nginx does with a response of `status` carrying `etag` and `lastModified`.
    static func evaluate(status: Int, etag: String?, lastModified: String?, _ c: Conditions) -> Outcome {
        guard status == 200, !c.isEmpty else { return .send }
        let modified = lastModified.flatMap(HTTPTime.parse)
        if let value = c.ifUnmodifiedSince {
            guard let modified, let since = HTTPTime.parse(value), since >= modified else { return .preconditionFailed }
        }
        if let list = c.ifMatch, !matches(list, etag: etag, weak: false) { return .preconditionFailed }
        guard c.ifModifiedSince != nil || c.ifNoneMatch != nil else { return .send }
        // `if_modified_since exact` (nginx's default): unchanged only at the same second.
        if let value = c.ifModifiedSince {
            guard let modified, HTTPTime.parse(value) == modified else { return .send }
        }
        if let list = c.ifNoneMatch, !matches(list, etag: etag, weak: true) { return .send }
        return .notModified
    }

    /// `ngx_http_test_if_match`: `*` alone matches anything; else an entity tag of the
    /// comma-separated list must equal `etag` byte for byte (`W/` prefixes ignored when `weak`).
    static func matches(_ list: String, etag: String?, weak: Bool) -> Bool {
        let list = Array(list.utf8)
        if list == [UInt8(ascii: "*")] { return true }
        guard var tag = etag.map({ Array($0.utf8)[...] }) else { return false }
        func isWeak(_ s: ArraySlice<UInt8>) -> Bool {
            s.count > 2 && s[s.startIndex] == UInt8(ascii: "W") && s[s.startIndex + 1] == UInt8(ascii: "/")
        }
        if weak, isWeak(tag) { tag = tag.dropFirst(2) }
        var i = 0
        while i < list.count {
            if weak, isWeak(list[i...]) { i += 2 }
            guard tag.count <= list.count - i else { return false }
            if list[i..<(i + tag.count)].elementsEqual(tag) {
                var j = i + tag.count
                while j < list.count, list[j] == UInt8(ascii: " ") || list[j] == UInt8(ascii: "\t") { j += 1 }
                if j == list.count || list[j] == UInt8(ascii: ",") { return true }
            }
            while i < list.count, list[i] != UInt8(ascii: ",") { i += 1 }
            while i < list.count, list[i] == UInt8(ascii: " ") || list[i] == UInt8(ascii: "\t") || list[i] == UInt8(ascii: ",") {
                i += 1
            }
        }
        return false
    }

}

extension NotModifiedFilter.Conditions {
    /// The first of each conditional header of `head`.
    init(_ head: borrowing MessageHead) {
        self.init(
            ifMatch: head.firstValue("if-match"), ifNoneMatch: head.firstValue("if-none-match"),
            ifModifiedSince: head.firstValue("if-modified-since"),
            ifUnmodifiedSince: head.firstValue("if-unmodified-since"))
    }
}
