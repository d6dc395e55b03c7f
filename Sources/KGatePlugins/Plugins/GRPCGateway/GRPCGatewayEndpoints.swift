import KGateProtobuf
import KGateRegex
import KGateSchema

/// The HTTP routes of a `.proto` file's methods, from their `google.api.http` options, as Kong's
/// grpc-gateway reads them (`get_proto_info`): each method's rule and the rule in its
/// `additional_bindings` (one level, the last one written, as protoc.lua keeps it), one
/// endpoint per `get`, `post`, `put`, `patch` or `delete` path of each, in the file's order.
struct GRPCGatewayEndpoints: Sendable {
    /// One HTTP path of a method.
    struct Endpoint: Sendable {
        /// The path template as a regex (`{name}` → `([^/]+)`, `{name=a/*/**}` → `(a/[^/]+/.+)`).
        var regex: PCRERegex
        /// The variable each capture group fills, in order.
        var variables: [String]
        /// The method's gRPC path (`/package.Service/Method`).
        var grpcPath: String
        var inputType: String
        var outputType: String
        /// The binding's `body`: `*` (the JSON body is the message), a field name (the body is
        /// that field), or nil (the query string fills the message).
        var body: String?
    }

    /// Endpoints by lower-case HTTP method.
    private var byMethod: [String: [Endpoint]] = [:]

    /// The HTTP methods a rule may bind.
    static let httpMethods: Set<String> = ["get", "post", "put", "patch", "delete"]

    /// The endpoints of `schema`'s methods.
    init(_ schema: ProtoSchema) throws(PCREError) {
        for method in schema.methods {
            guard case .structure(let rule)? = method.options["google.api.http"] else { continue }
            var bindings = [rule]
            if case .structure(let additional)? = rule["additional_bindings"] { bindings.append(additional) }
            for binding in bindings {
                var body: String?
                if case .string(let b)? = binding["body"] { body = b }
                for (key, value) in binding {
                    let httpMethod = key.lowercased()
                    guard Self.httpMethods.contains(httpMethod), case .string(let template) = value else { continue }
                    let (pattern, variables) = Self.pattern(of: template)
                    byMethod[httpMethod, default: []].append(
                        Endpoint(
                            regex: try PCRERegex(pattern, matchLimit: PCRERegex.pluginMatchLimit), variables: variables,
                            grpcPath: ProtoFiles.path(of: method), inputType: method.inputType,
                            outputType: method.outputType, body: body))
                }
            }
        }
    }

    /// The endpoint serving `method` (lower-case) at `path` and its variables; Kong's error
    /// text otherwise.
    func endpoint(method: String, path: String) -> Result<(Endpoint, [(String, String)]), LookupFailure> {
        guard let endpoints = byMethod[method] else { return .failure(LookupFailure("Unknown method \(LuaQuote.percentQ(method))")) }
        for endpoint in endpoints {
            let match: PCREMatch?
            do {
                match = try endpoint.regex.firstMatch(in: path)
            } catch {
                return .failure(LookupFailure("Cannot match path \(LuaQuote.percentQ(error.description))"))
            }
            guard let match else { continue }
            var values: [(String, String)] = []
            for (i, name) in endpoint.variables.enumerated() {
                if let value = match[i + 1] { values.append((name, value)) }
            }
            return .success((endpoint, values))
        }
        return .failure(LookupFailure("Unknown path \(LuaQuote.percentQ(path))"))
    }

    /// Why no endpoint serves a request.
    struct LookupFailure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// Kong's `parse_options_path`: `^template$` with each `{variable}` or
    /// `{variable=segments}` replaced by a capture group; the rest is left as written (regex
    /// characters included, as Kong's).
    static func pattern(of template: String) -> (String, [String]) {
        let chars = Array(template.utf8)
        var out: [UInt8] = Array("^".utf8)
        var variables: [String] = []
        var i = 0
        while i < chars.count {
            if chars[i] == UInt8(ascii: "{"), let (end, name, segments) = variable(chars, at: i) {
                variables.append(name)
                let group: String
                if let segments, segments != "*" {
                    group = segments.replacing("**", with: ".+").replacing("*", with: "[^/]+")
                } else {
                    group = "[^/]+"
                }
                out.append(contentsOf: "(\(group))".utf8)
                i = end
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        out.append(UInt8(ascii: "$"))
        return (String(decoding: out, as: UTF8.self), variables)
    }

    /// Reads `{name=segments}` at `start` (Kong's `{([-_.~0-9a-zA-Z]+)=?((?:(?:\*|\*\*|[-_.~0-9a-zA-Z])/?)+)?}`):
    /// the index after `}`, the name and the segments; nil when it is not one.
    private static func variable(_ chars: [UInt8], at start: Int) -> (Int, String, String?)? {
        var i = start + 1
        let nameStart = i
        while i < chars.count, isLiteral(chars[i]) { i += 1 }
        guard i > nameStart else { return nil }
        let name = String(decoding: chars[nameStart..<i], as: UTF8.self)
        if i < chars.count, chars[i] == UInt8(ascii: "=") { i += 1 }
        let segmentsStart = i
        while i < chars.count, isLiteral(chars[i]) || chars[i] == UInt8(ascii: "*") || chars[i] == UInt8(ascii: "/") {
            i += 1
        }
        guard i < chars.count, chars[i] == UInt8(ascii: "}") else { return nil }
        let segments = i > segmentsStart ? String(decoding: chars[segmentsStart..<i], as: UTF8.self) : nil
        return (i + 1, name, segments)
    }

    private static func isLiteral(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
