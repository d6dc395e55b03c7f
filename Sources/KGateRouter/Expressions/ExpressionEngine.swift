import KGateRegex
import KGateSchema

/// The expression routes of the `expressions` flavor: each route's `expression` (with Kong's
/// `net.protocol` check for its protocols) tried by descending `priority`, then UUID, before
/// every route without an expression (Kong sets the top byte of an expression route's
/// priority).
final class ExpressionEngine: Sendable {
    struct Compiled: Sendable {
        let entry: Int
        let expression: ATCExpression
        let priority: Int
        let uuid: UInt128
        let stripPath: Bool
    }

    let routes: [Compiled]
    /// Whether some expression reads headers, or the client's or server's address.
    let usesHeaders: Bool
    let usesAddresses: Bool

    /// Compiles the expression routes of `entries`; `diagnostics` gets those left out.
    init(entries: [RouteEntry], diagnostics: inout [String]) {
        var compiled: [(Compiled, order: Int)] = []
        for (i, entry) in entries.enumerated() {
            guard let source = entry.route.expression else { continue }
            do {
                var expression = try ATCExpression.compile(Self.amended(source))
                if let check = Self.protocolCheck(entry.route.protocols) { expression = .and(expression, check) }
                compiled.append(
                    (
                        Compiled(
                            entry: i, expression: expression, priority: entry.route.priority,
                            uuid: RouteUUID.parse(entry.route.id) ?? 0, stripPath: entry.route.stripPath),
                        compiled.count
                    ))
            } catch {
                diagnostics.append("route \(entry.route.id): could not add route: \(error)")
            }
        }
        compiled.sort { a, b in
            if a.0.priority != b.0.priority { return a.0.priority > b.0.priority }
            if a.0.uuid != b.0.uuid { return a.0.uuid > b.0.uuid }
            return a.order < b.order
        }
        routes = compiled.map(\.0)
        let fields = routes.flatMap { $0.expression.predicates.map(\.field) }
        usesHeaders = fields.contains { $0.hasPrefix("http.headers.") }
        usesAddresses = fields.contains { $0.hasPrefix("net.src.") || $0 == "net.dst.ip" }
    }

    /// Kong's `amending_expression`: the deprecated `net.port` is `net.dst.port`.
    static func amended(_ source: String) -> String {
        let bytes = Array(source.utf8)
        let old = Array("net.port".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes.count - i >= old.count, Array(bytes[i..<i + old.count]) == old {
                var j = i + old.count
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                if j < bytes.count, "=><!".utf8.contains(bytes[j]) {
                    out += Array("net.dst.port".utf8)
                    i += old.count
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `net.protocol` among the route's protocols (grpc as http, grpcs as https), except for
    /// a route of https alone (whose http requests then get its redirect or 426).
    static func protocolCheck(_ protocols: [String]) -> ATCExpression? {
        if protocols.count == 1, protocols[0] == "https" { return nil }
        var check: ATCExpression?
        for p in protocols {
            let value = p == "grpc" ? "http" : p == "grpcs" ? "https" : p
            let predicate = ATCExpression.predicate(
                ATCPredicate(field: "net.protocol", lower: false, any: false, op: .equals, value: .string(value)))
            check = check.map { .or($0, predicate) } ?? predicate
        }
        return check
    }

    /// The first expression route matching the request.
    func match(_ v: RequestView, target: String) -> EngineMatch? {
        guard !routes.isEmpty else { return nil }
        var fields = ExpressionFields(v, target: target)
        for route in routes {
            var found = ExpressionFields.Found()
            guard route.expression.evaluate(&fields, &found) else { continue }
            var m = EngineMatch(entry: route.entry)
            if route.stripPath, let matched = found.path {
                m.prefixLength = matched.utf8.count
                m.postfixStart = matched.utf8.count
            }
            if found.captures.numbered.dropFirst().contains(where: { $0 != nil }) || !found.captures.named.isEmpty {
                m.captures = found.captures
            }
            return m
        }
        return nil
    }
}

extension ATCExpression {
    /// atc-router's interpreter: `&&` and `||` short-circuit; what matched is recorded in
    /// `found`.
    func evaluate(_ fields: inout ExpressionFields, _ found: inout ExpressionFields.Found) -> Bool {
        switch self {
        case .predicate(let p): return p.evaluate(&fields, &found)
        case .and(let l, let r): return l.evaluate(&fields, &found) && r.evaluate(&fields, &found)
        case .or(let l, let r): return l.evaluate(&fields, &found) || r.evaluate(&fields, &found)
        case .not(let e): return !e.evaluate(&fields, &found)
        }
    }
}

extension ATCPredicate {
    /// True when every value of the field matches (or, with `any`, one does); false for a
    /// field the request does not have.
    func evaluate(_ fields: inout ExpressionFields, _ found: inout ExpressionFields.Found) -> Bool {
        let values = fields.values(of: field)
        guard !values.isEmpty else { return false }
        for raw in values {
            let value = lower ? raw.lowered : raw
            let matched = test(value, &found)
            if any, matched { return true }
            if !any, !matched { return false }
        }
        return !any
    }

    private func test(_ value: ExpressionFields.Value, _ found: inout ExpressionFields.Found) -> Bool {
        switch (op, value, self.value) {
        case (.equals, .string(let a), .string(let b)):
            guard a == b else { return false }
            found.record(field, b)
            return true
        case (.notEquals, .string(let a), .string(let b)): return a != b
        case (.equals, .int(let a), .int(let b)): return a == b
        case (.notEquals, .int(let a), .int(let b)): return a != b
        case (.equals, .ip(let a), .ip(let b)): return a == b
        case (.notEquals, .ip(let a), .ip(let b)): return a != b
        case (.regex, .string(let a), .regex(let regex, _)):
            guard let m = try? regex.firstMatch(in: a) else { return false }
            found.record(field, m.groups.first.flatMap { $0 } ?? "")
            found.captures = RouteCaptures(match: m, dropLast: false)
            return true
        case (.prefix, .string(let a), .string(let b)):
            guard a.utf8.starts(with: b.utf8) else { return false }
            found.record(field, b)
            return true
        case (.postfix, .string(let a), .string(let b)):
            guard a.utf8.reversed().starts(with: b.utf8.reversed()) else { return false }
            found.record(field, b)
            return true
        case (.contains, .string(let a), .string(let b)): return b.isEmpty || a.contains(b)
        case (.greater, .int(let a), .int(let b)): return a > b
        case (.greaterOrEqual, .int(let a), .int(let b)): return a >= b
        case (.less, .int(let a), .int(let b)): return a < b
        case (.lessOrEqual, .int(let a), .int(let b)): return a <= b
        case (.in, .ip(let a), .cidr(let net)): return net.contains(a)
        case (.notIn, .ip(let a), .cidr(let net)): return !net.contains(a)
        default: return false
        }
    }
}

/// The request's values of the expression fields (`kong/router/fields.lua`), read when first
/// asked for.
struct ExpressionFields {
    enum Value {
        case string(String)
        case int(Int64)
        case ip(IPAddress)

        var lowered: Value {
            if case .string(let s) = self { return .string(s.lowercased()) }
            return self
        }
    }

    /// What matched: the value of each field a `==`, `^=`, `=^` or `~` predicate matched
    /// (atc-router's `matches`; `http.path`'s is the route's prefix), and the last regex's
    /// captures.
    struct Found {
        var path: String?
        var captures = RouteCaptures(numbered: [], named: [:])

        mutating func record(_ field: String, _ value: String) {
            if field == "http.path" { path = value }
        }
    }

    private let view: RequestView
    private let target: String
    private var path: String?
    private var segments: [Substring]?
    private var queries: [(name: String, value: String)]?

    init(_ view: RequestView, target: String) {
        self.view = view
        self.target = target
    }

    mutating func values(of field: String) -> [Value] {
        switch field {
        case "http.method": return [.string(String(decoding: view.method, as: UTF8.self))]
        case "http.path": return [.string(pathString())]
        case "http.host":
            // The Host header's name as sent, without its port (`split_host_port`).
            guard let host = view.compatHost else { return [] }
            return [.string(String(decoding: host, as: UTF8.self))]
        case "net.protocol": return [.string(view.scheme.rawValue)]
        case "tls.sni": return view.sni.map { [.string(String(decoding: $0, as: UTF8.self))] } ?? []
        case "net.src.ip": return view.sourceIP.map { [.ip($0)] } ?? []
        case "net.dst.ip": return view.destinationIP.map { [.ip($0)] } ?? []
        case "net.src.port": return view.sourcePort.map { [.int(Int64($0))] } ?? []
        case "net.dst.port": return (view.compatPort ?? view.destinationPort).map { [.int(Int64($0))] } ?? []
        case "http.path.segments.len": return [.int(Int64(pathSegments().count))]
        default: break
        }
        if let name = field.dropPrefix("http.headers.") {
            return view.headers.compactMap { h in Self.sameHeaderName(h.name, name) ? .string(h.value) : nil }
        }
        if let name = field.dropPrefix("http.queries.") {
            return queryArgs().compactMap { $0.name == name ? .string($0.value) : nil }
        }
        if let range = field.dropPrefix("http.path.segments.") {
            return segment(range).map { [.string($0)] } ?? []
        }
        return []
    }

    /// Header names compare case-insensitively, with `_` in the field standing for `-`.
    static func sameHeaderName(_ name: String, _ field: Substring) -> Bool {
        let a = name.utf8, b = field.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            let x = x == UInt8(ascii: "_") ? UInt8(ascii: "-") : x | (x >= 65 && x <= 90 ? 0x20 : 0)
            let y = y == UInt8(ascii: "_") ? UInt8(ascii: "-") : y | (y >= 65 && y <= 90 ? 0x20 : 0)
            return x == y
        }
    }

    /// The routing path (normalised, without the query), made once.
    private mutating func pathString() -> String {
        if let path { return path }
        let made = view.pathString
        path = made
        return made
    }

    /// The path's segments after the leading `/`, trailing empty ones dropped.
    private mutating func pathSegments() -> [Substring] {
        if let segments { return segments }
        var parts = pathString().dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        while let last = parts.last, last.isEmpty { parts.removeLast() }
        segments = parts
        return parts
    }

    /// `http.path.segments.N` (0 is the first) or `.N_M` (N to M joined with `/`).
    private mutating func segment(_ range: Substring) -> String? {
        let parts = pathSegments()
        if let i = Int(range) { return i >= 0 && i < parts.count ? String(parts[i]) : nil }
        let bounds = range.split(separator: "_", maxSplits: 1)
        guard bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, a < b, b < parts.count else {
            return nil
        }
        return parts[a...b].joined(separator: "/")
    }

    /// The query's arguments, decoded (`ngx.req.get_uri_args`); an argument without `=` is
    /// empty.
    private mutating func queryArgs() -> [(name: String, value: String)] {
        if let queries { return queries }
        var args: [(String, String)] = []
        if let q = target.firstIndex(of: "?") {
            for pair in target[target.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.unescape(kv[0])
                guard !name.isEmpty else { continue }
                args.append((name, kv.count > 1 ? Self.unescape(kv[1]) : ""))
            }
        }
        queries = args
        return args
    }

    private static func unescape(_ s: Substring) -> String {
        var out: [UInt8] = []
        var bytes = s.utf8[...]
        while let c = bytes.popFirst() {
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), bytes.count >= 2,
                let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
            {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func dropPrefix(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? self[index(startIndex, offsetBy: prefix.count)...] : nil
    }
}
