import KGateConfig
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

/// What grpc-gateway and grpc-web do alike when they transcode JSON (Kong's `deco` modules).
enum GRPCTranscoding {
    /// Undecoded bytes of the answer (an incomplete message), between body chunks.
    struct PendingBody: Sendable {
        var bytes: [UInt8]
    }

    /// Kong's `kong.log.err(err)` and `kong.response.exit(400, err)`: the message as the body.
    static func refuse(_ message: String, _ ctx: inout PluginContext) throws {
        ctx.logger.error("\(message)")
        try ctx.exit(400, body: .bytes(Array(message.utf8)))
    }

    /// Removes a service's non-zero `Content-Length` from a response whose messages are
    /// rewritten (gRPC services send none; Kong leaves it). The `Content-Length: 0` of a
    /// trailers-only answer and the lengths of Kong's own responses stay.
    static func dropLength(_ response: inout PluginResponse) {
        guard response.fromService, let length = response.header("Content-Length"), length != "0" else { return }
        response.clearHeader("Content-Length")
    }

    /// The answer's messages completed by `chunk`, each decoded with `type` and written as JSON
    /// by `encoder` (one that does not decode is logged and kept as it came), and the bytes
    /// kept for the next chunk (an incomplete message).
    static func jsonMessages(
        _ chunk: [UInt8], as type: String, schema: ProtoSchema, encoder: KongJSONEncoder, _ ctx: inout PluginContext
    ) -> (messages: [[UInt8]], rest: [UInt8]) {
        var pending = (ctx.plugin["pending"] as? PendingBody)?.bytes ?? []
        pending.append(contentsOf: chunk)
        let messages = GRPCFrame.unframe(&pending).map { message -> [UInt8] in
            do throws(ProtoError) {
                var json: [UInt8] = []
                encoder.encode(try schema.decode(message, as: type), into: &json)
                return json
            } catch {
                ctx.logger.error("failed to decode the upstream message: \(error.description)")
                return message
            }
        }
        ctx.plugin["pending"] = PendingBody(bytes: pending)
        return (messages, pending)
    }
}
