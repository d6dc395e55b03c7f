import KGateProtobuf

/// gRPC's message framing (Kong's `kong.tools.grpc` `frame` and `unframe`): a flags byte, the
/// length (4 bytes, big-endian) and the message.
enum GRPCFrame {
    /// One framed message.
    static func frame(_ flags: UInt8, _ message: [UInt8]) -> [UInt8] {
        let n = UInt32(truncatingIfNeeded: message.count)
        var out: [UInt8] = [flags, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
        out.append(contentsOf: message)
        return out
    }

    /// Takes the complete messages at the front of `buffer`, leaving an incomplete one (or
    /// its beginning) there for more bytes.
    static func unframe(_ buffer: inout [UInt8]) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var at = 0
        while buffer.count - at >= 5 {
            let length = buffer[at + 1...at + 4].reduce(0) { $0 << 8 | Int($1) }
            guard buffer.count - at - 5 >= length else { break }
            messages.append(Array(buffer[at + 5..<at + 5 + length]))
            at += 5 + length
        }
        if at > 0 { buffer.removeFirst(at) }
        return messages
    }

    /// Removes a service's non-zero `Content-Length` from a response whose messages are
    /// rewritten (gRPC services send none; Kong leaves it). The `Content-Length: 0` of a
    /// trailers-only answer and the lengths of Kong's own responses stay.
    static func dropLength(_ response: inout PluginResponse) {
        guard response.fromService, let length = response.header("Content-Length"), length != "0" else { return }
        response.clearHeader("Content-Length")
    }
}

/// The `.proto` files of grpc-gateway and grpc-web configs, read as Kong's `kong.tools.grpc`
/// reads them.
enum ProtoFiles {
    /// Where Kong's protoc looks for imports besides the file's directory.
    static let kongIncludePaths = [
        "/usr/local/kong/include", "/usr/local/opt/protobuf/include/", "/usr/include", "kong/include",
        "spec/fixtures/grpc",
    ]

    /// Reads `path` (relative to the working directory, as Kong's) and its imports.
    static func load(_ path: String) throws(ProtoError) -> ProtoSchema {
        try ProtoSchema.load(path: path, includePaths: kongIncludePaths)
    }

    /// `"/package.Service/Method"`, the path a method is called at (Kong's `rewrite_path`).
    static func path(of method: ProtoMethod) -> String {
        method.package.isEmpty
            ? "/\(method.service)/\(method.name)" : "/\(method.package).\(method.service)/\(method.name)"
    }
}
