import KGatePlugins
import NIOCore
import NIOHTTP1

/// The values Kong computes for the upstream request's forwarding headers (`runloop/handler.lua`
/// access phase and the `proxy_set_header` lines of `nginx_kong.lua`).
struct ForwardingValues {
    /// `X-Forwarded-For`: the client's list + `, ` + the peer, or the (real) client address.
    var forwardedFor: String
    var forwardedProto: String
    var forwardedHost: String
    var forwardedPort: String
    /// A part of the request target (no string of its own) or a trusted incoming value.
    var forwardedPath: Substring
    /// Sent only when non-nil (stripped prefix other than `/`, or a trusted incoming value).
    var forwardedPrefix: String?
    /// `X-Real-IP`: the client address after `real_ip_header` processing.
    var realIP: String
    /// `Via`: the incoming `Via` + `, ` + `1.1 kong/<version>`.
    var via: String
    /// `X-Kong-Request-Id`, when `headers_upstream` asks for it.
    var requestID: RequestID?
}

/// Writes the request head sent upstream: `METHOD target HTTP/1.1`, Kong's headers (`Host`,
/// `Connection: keep-alive`, `Upgrade`, `TE: trailers`, `X-Forwarded-*`, `X-Real-IP`, `Via`,
/// `X-Kong-Request-Id`), then the client's header lines copied as received minus hop-by-hop and
/// managed ones, then the body framing. Made per try, as `Host` depends on the target.
enum UpstreamRequestHead {
    ///
    /// `out` is cleared first: a connection reuses one buffer, whose memory is written in
    /// place once the previous head went out.
    ///
    /// `added` fields (from plugins) are written after the client's.
    static func write(
        method: HTTPMethod, target: String, host: String, from head: borrowing MessageHead, facts: borrowing RequestFacts,
        forwarding f: borrowing ForwardingValues, added: ArraySlice<HTTPFields.Field>? = nil, into out: inout ByteBuffer
    ) {
        let methodName = method.rawValue
        var bound = 400 + head.buffer.readableBytes + 3 * head.fields.count + methodName.utf8.count + target.utf8.count
        if let added { for field in added { bound += field.name.utf8.count + field.value.utf8.count + 4 } }
        bound += host.utf8.count + (facts.upgrade?.utf8.count ?? 0) + f.forwardedFor.utf8.count
        bound += f.forwardedProto.utf8.count + f.forwardedHost.utf8.count + f.forwardedPort.utf8.count
        bound += f.forwardedPath.utf8.count + (f.forwardedPrefix?.utf8.count ?? 0) + f.realIP.utf8.count
        bound += f.via.utf8.count + 32 + HeadWriter.decimalBound
        out.clear()
        out.writeHead(bound: bound) { w in
            w.write(methodName)
            w.write(" ")
            w.write(target)
            w.write(" HTTP/1.1\r\n")
            w.header("Host: ", host)
            if let upgrade = facts.upgrade {
                w.write("Connection: keep-alive, Upgrade\r\n")
                w.header("Upgrade: ", upgrade)
            } else {
                w.write("Connection: keep-alive\r\n")
            }
            if facts.wantsTrailers { w.write("TE: trailers\r\n") }
            w.header("X-Forwarded-For: ", f.forwardedFor)
            w.header("X-Forwarded-Proto: ", f.forwardedProto)
            w.header("X-Forwarded-Host: ", f.forwardedHost)
            w.header("X-Forwarded-Port: ", f.forwardedPort)
            w.header("X-Forwarded-Path: ", f.forwardedPath)
            if let prefix = f.forwardedPrefix, !prefix.isEmpty { w.header("X-Forwarded-Prefix: ", prefix) }
            w.header("X-Real-IP: ", f.realIP)
            w.header("Via: ", f.via)
            if let id = f.requestID {
                w.write("X-Kong-Request-Id: ")
                w.write(id)
                w.write("\r\n")
            }

            for field in head.fields {
                if let known = KnownHeader.classify(field, in: head) {
                    switch known {
                    case .accept, .contentType, .server, .date, .trailer: break
                    // Without `headers_upstream`, nginx has no `proxy_set_header` for it: the
                    // client's passes.
                    case .xKongRequestID where f.requestID == nil: break
                    default: continue
                    }
                }
                if !facts.connectionTokens.isEmpty, facts.connectionTokens.contains(where: { matches(head, field, $0) }) {
                    continue
                }
                w.line(of: field, in: head)
                w.write("\r\n")
            }
            if let added {
                for field in added {
                    w.write(field.name)
                    w.write(": ")
                    w.write(field.value)
                    w.write("\r\n")
                }
            }

            if facts.chunked {
                w.write("Transfer-Encoding: chunked\r\n")
            } else if let length = facts.contentLength, length > 0 || method.allowsEmptyBodyLength {
                w.write("Content-Length: ")
                w.write(decimal: length)
                w.write("\r\n")
            }
            w.write("\r\n")
        }
    }

    private static func matches(_ head: borrowing MessageHead, _ field: HeaderField, _ lower: String) -> Bool {
        guard Int(field.nameLength) == lower.utf8.count else { return false }
        return head.buffer.withUnsafeReadableBytes { KnownHeader.matches($0, Int(field.nameStart), Array(lower.utf8)) }
    }
}

extension HTTPMethod {
    /// Methods whose requests normally carry a body, for which a `Content-Length: 0` is kept.
    var allowsEmptyBodyLength: Bool {
        switch self {
        case .POST, .PUT, .PATCH: return true
        default: return false
        }
    }
}
