/// A media type (`type/subtype; name=value`) as Kong's `mime_type.parse_mime_type` reads it:
/// type, subtype and parameter names in lower case, spaces around each part dropped.
struct MediaType: Sendable, Equatable {
    var type: String
    var subtype: String
    var parameters: [String: String]

    init?(_ text: String) {
        let parts = text.split(separator: ";")
        guard let first = parts.first else { return nil }
        let pieces = first.split(separator: "/", maxSplits: 1)
        guard pieces.count == 2 else { return nil }
        type = pieces[0].trimmingSpaces().lowercased()
        subtype = pieces[1].trimmingSpaces().lowercased()
        guard !type.isEmpty, !subtype.isEmpty else { return nil }
        var parameters: [String: String] = [:]
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            parameters[pair[0].trimmingSpaces().lowercased()] = pair[1].trimmingSpaces()
        }
        self.parameters = parameters
    }

    /// proxy-cache's exact match: `*` matches any type or subtype; the parameters must be the
    /// same.
    func accepts(_ other: MediaType) -> Bool {
        (type == "*" || type == other.type) && (subtype == "*" || subtype == other.subtype)
            && parameters == other.parameters
    }

    /// `application/json` or `application/<something>+json` (Kong's `is_json_body` match).
    var isJSON: Bool { type == "application" && (subtype == "json" || subtype.hasSuffix("+json")) }
}
