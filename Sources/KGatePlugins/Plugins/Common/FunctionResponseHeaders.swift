import NIOHTTP1

/// The headers of a serverless function's answer as Kong's azure-functions and aws-lambda
/// handlers send them to the client.
enum FunctionResponseHeaders {
    /// Headers both handlers drop: the length (recomputed for the answer) and the hop-by-hop
    /// ones (Kong tests `ngx.var.http2`, which is never nil, so always).
    static let dropped: Set<String> = [
        "content-length", "connection", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding",
    ]

    /// The function's headers without the dropped ones, in order.
    static func fields(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers where !dropped.contains(name.lowercased()) { fields.add(name, value) }
        return fields
    }

    /// Kong's outbound `Via` (`2 kong/<version>`, as `ngx.var.http2` is always set) after the
    /// function's own, on one field at the end.
    static func addVia(to fields: inout HTTPFields) {
        let existing = fields.fields.filter { HTTPFields.sameName($0.name, "Via") }.map(\.value)
        fields.remove("Via")
        fields.add("Via", (existing + ["2 kong/\(PluginConstants.kongVersion)"]).joined(separator: ", "))
    }
}
