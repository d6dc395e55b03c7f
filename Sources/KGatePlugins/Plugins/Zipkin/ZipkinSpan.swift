import KGateSchema

/// A span as Kong's zipkin plugin keeps it (`kong/plugins/zipkin/span.lua`), shaped like
/// Zipkin's v2 JSON span; times in microseconds since 1970.
struct ZipkinSpan: Sendable {
    enum Kind: String, Sendable {
        case server = "SERVER"
        case client = "CLIENT"
    }

    var kind: Kind
    var name: String
    var traceID: [UInt8]
    var spanID: [UInt8]
    var parentID: [UInt8]?
    var timestamp: Int
    var duration: Int?
    var shouldSample: Bool
    var baggage: [String: String]?
    /// Tags in the order first set, values as Lua's `tostring` prints them.
    private(set) var tags: [(key: String, value: String)] = []
    private(set) var annotations: [(value: String, timestamp: Int)] = []
    /// The remote service's name (`remoteEndpoint.serviceName`).
    var serviceName: String?
    /// The remote address and port (`remoteEndpoint`).
    var ip: String?
    var port: Int?

    init(
        kind: Kind, name: String, start: Int, shouldSample: Bool, traceID: [UInt8], spanID: [UInt8]? = nil,
        parentID: [UInt8]? = nil, baggage: [String: String]? = nil
    ) {
        self.kind = kind
        self.name = name
        self.timestamp = start
        self.shouldSample = shouldSample
        self.traceID = traceID
        self.spanID = spanID ?? TraceIDs.random(8)
        self.parentID = parentID
        self.baggage = baggage
    }

    /// A span in the same trace with this one as parent (`new_child`).
    func child(_ kind: Kind, _ name: String, start: Int) -> ZipkinSpan {
        ZipkinSpan(kind: kind, name: name, start: start, shouldSample: shouldSample, traceID: traceID, parentID: spanID, baggage: baggage)
    }

    /// Sets or, with nil, removes a tag.
    mutating func setTag(_ key: String, _ value: String?) {
        let index = tags.firstIndex { $0.key == key }
        switch (index, value) {
        case (let i?, let value?): tags[i].value = value
        case (let i?, nil): tags.remove(at: i)
        case (nil, let value?): tags.append((key, value))
        case (nil, nil): break
        }
    }

    mutating func annotate(_ value: String, at timestamp: Int) { annotations.append((value, timestamp)) }

    /// Ends the span (never before it began).
    mutating func finish(at end: Int) { duration = max(0, end - timestamp) }

    /// The span as the reporter sends it (`zipkin_reporter_methods:report`); nil when it is
    /// not sampled.
    func report(localServiceName: String, defaultServiceName: String?) -> Value? {
        guard shouldSample else { return nil }
        var span: Object = ["traceId": .string(TraceIDs.hex(traceID)), "name": .string(name)]
        if let parentID { span["parentId"] = .string(TraceIDs.hex(parentID)) }
        span["id"] = .string(TraceIDs.hex(spanID))
        span["kind"] = .string(kind.rawValue)
        span["timestamp"] = .integer(timestamp)
        if let duration { span["duration"] = .integer(duration) }
        span["localEndpoint"] = .object(["serviceName": .string(localServiceName)])
        let remoteName = serviceName ?? defaultServiceName
        if port != nil || remoteName != nil {
            var remote: Object = [:]
            if let remoteName { remote["serviceName"] = .string(remoteName) }
            if let port { remote["port"] = .integer(port) }
            if let ip { remote[ip.contains(":") ? "ipv6" : "ipv4"] = .string(ip) }
            span["remoteEndpoint"] = .object(remote)
        } else {
            span["remoteEndpoint"] = .null
        }
        let shown = tags.filter { !$0.value.isEmpty }
        if !shown.isEmpty { span["tags"] = .object(Object(shown.map { ($0.key, Value.string($0.value)) }, uniquingKeysWith: { $1 })) }
        if !annotations.isEmpty {
            span["annotations"] = .array(annotations.map { .object(["value": .string($0.value), "timestamp": .integer($0.timestamp)]) })
        }
        return .object(span)
    }
}

/// Kong's zipkin `request_tags.parse`: `name=value` items separated by `;` in the tags
/// header, and the items that do not parse.
enum ZipkinRequestTags {
    static func parse(_ values: [String]) -> (tags: [(String, String)], errors: [String]) {
        var tags: [(String, String)] = []
        var errors: [String] = []
        for value in values {
            for item in value.split(separator: ";", omittingEmptySubsequences: false) where !item.isEmpty {
                if let tag = parseItem(item) { tags.append(tag) } else { errors.append(String(item)) }
            }
        }
        return (tags, errors)
    }

    /// Lua's `^%s*(%S+)%s*=%s*(.*%S)%s*$`: the longest name that leaves `= value`.
    private static func parseItem(_ item: Substring) -> (String, String)? {
        let bytes = Array(item.utf8)
        let isSpace = { (c: UInt8) in c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }) else { return nil }
        let runEnd = bytes[start...].firstIndex(where: isSpace) ?? bytes.count
        // Where `=` may follow the name: after the whole run (and spaces), or at an `=` inside it.
        var candidates: [(nameEnd: Int, equals: Int)] = []
        if let next = bytes[runEnd...].firstIndex(where: { !isSpace($0) }), bytes[next] == UInt8(ascii: "=") {
            candidates.append((runEnd, next))
        }
        for i in stride(from: runEnd - 1, to: start, by: -1) where bytes[i] == UInt8(ascii: "=") { candidates.append((i, i)) }
        for (nameEnd, equals) in candidates {
            let rest = bytes[(equals + 1)...]
            guard let first = rest.firstIndex(where: { !isSpace($0) }), let last = rest.lastIndex(where: { !isSpace($0) }) else { continue }
            return (String(decoding: bytes[start..<nameEnd], as: UTF8.self), String(decoding: bytes[first...last], as: UTF8.self))
        }
        return nil
    }
}
