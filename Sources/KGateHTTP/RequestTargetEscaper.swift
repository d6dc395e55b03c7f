import KGateSettings
import NIOCore
import NIOHTTP1

/// Percent-encodes the bytes 0x80–0xFF of each request target before SwiftNIO's HTTP/1 parser
/// reads them.
///
/// nginx accepts such bytes (Lua's HTTP client sends `GET /consumers?tags=🦍` as raw UTF-8, and
/// Kong's tests send a lone `\xFF` in a query or a path) and Kong's Admin API decodes them as it
/// decodes `%XX`; llhttp refuses them, so the request would get a 400. `%XX` escapes decode to
/// the same bytes, so path parameters and query arguments stay what the client sent; only where
/// Kong echoes the target as sent (`next` links) does kgate show the escapes.
///
/// To find the request lines of a keep-alive connection it follows HTTP/1.1 framing: the
/// `Content-Length` or chunked `Transfer-Encoding` of each head says which body bytes to pass
/// over untouched. After an `Upgrade` head, or bytes it cannot frame, it passes everything on
/// unchanged, and the parser answers them as before.
struct RequestTargetEscaper {
    /// Where a request line is: `<method> <target> <version>`.
    private enum RequestLinePart {
        case empty, method, target, version

        /// The part after `byte` (not CR or LF): the first space starts the target, the next one ends it.
        func after(_ byte: UInt8) -> RequestLinePart {
            let space = byte == UInt8(ascii: " ")
            switch self {
            case .empty: return .method
            case .method: return space ? .target : .method
            case .target: return space ? .version : .target
            case .version: return .version
            }
        }
    }

    private enum State {
        /// Reading a request line, in the given part of it.
        case requestLine(RequestLinePart)
        /// Reading a header line (kept, up to `maxHeaderLine` bytes, to read framing headers).
        case header([UInt8])
        /// Passing over a body's remaining bytes.
        case body(remaining: Int)
        /// Reading a chunk-size line: the size so far, and whether an extension (`;...`) began.
        case chunkSize(Int, extensions: Bool)
        /// Passing over a chunk's remaining bytes and the CRLF after them.
        case chunkData(remaining: Int)
        /// Reading the trailer section after the last chunk; `empty` while the line has no byte.
        case trailer(empty: Bool)
        /// Framing is lost or an upgrade began: bytes pass unchanged from now on.
        case passThrough
    }

    /// Longer header lines make the escaper give up (the parser's own limit is far above).
    static let maxHeaderLine = 8192
    /// Body and chunk sizes beyond this are not framed.
    static let maxLength = 1 << 50

    private var state = State.requestLine(.empty)
    /// The latest request line as received (without CR LF; at most `maxHeaderLine` bytes), kept
    /// until the next one begins.
    private(set) var latestRequestLine: [UInt8] = []
    private var contentLength = 0
    private var chunked = false
    private var upgrade = false

    /// The bytes to hand to the parser for `input`: the same buffer when nothing needed escaping.
    mutating func escape(_ input: ByteBuffer) -> ByteBuffer {
        var output: ByteBuffer?
        var copied = input.readerIndex
        let end = input.writerIndex
        var index = input.readerIndex
        while index < end {
            switch state {
            case .passThrough:
                index = end
            case .body(let remaining):
                let step = min(remaining, end - index)
                index += step
                state = remaining == step ? startOfRequest() : .body(remaining: remaining - step)
            case .chunkData(let remaining):
                let step = min(remaining, end - index)
                index += step
                state = remaining == step ? .chunkSize(0, extensions: false) : .chunkData(remaining: remaining - step)
            default:
                let byte = input.getInteger(at: index, as: UInt8.self)!
                if case .requestLine(.target) = state, byte >= 0x80 {
                    var escaped = output ?? ByteBuffer()
                    escaped.writeBytes(input.viewBytes(at: copied, length: index - copied)!)
                    escaped.writeBytes(Self.percentEncoded(byte))
                    output = escaped
                    copied = index + 1
                }
                read(byte)
                index += 1
            }
        }
        guard var output else { return input }
        output.writeBytes(input.viewBytes(at: copied, length: end - copied)!)
        return output
    }

    /// `%XX`, upper-case hex.
    private static func percentEncoded(_ byte: UInt8) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        return [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
    }

    private mutating func startOfRequest() -> State {
        contentLength = 0
        chunked = false
        upgrade = false
        return .requestLine(.empty)
    }

    /// Advances the line-oriented states by one byte.
    private mutating func read(_ byte: UInt8) {
        let lf = UInt8(ascii: "\n")
        let cr = UInt8(ascii: "\r")
        switch state {
        case .requestLine(let part):
            if byte != lf, byte != cr {
                if part == .empty { latestRequestLine.removeAll(keepingCapacity: true) }
                if latestRequestLine.count < Self.maxHeaderLine { latestRequestLine.append(byte) }
            }
            if byte == lf {
                // Empty lines before a request line are skipped, as parsers do.
                state = part == .empty ? state : .header([])
            } else if byte != cr {
                state = .requestLine(part.after(byte))
            }
        case .header(var line):
            if byte == lf {
                if line.last == cr { line.removeLast() }
                state = line.isEmpty ? endOfHead() : readHeader(line)
            } else if line.count >= Self.maxHeaderLine {
                state = .passThrough
            } else {
                line.append(byte)
                state = .header(line)
            }
        case .chunkSize(let size, let extensions):
            if byte == lf {
                state = size == 0 ? .trailer(empty: true) : .chunkData(remaining: size + 2)
            } else if byte == cr || extensions {
                break
            } else if byte == UInt8(ascii: ";") {
                state = .chunkSize(size, extensions: true)
            } else if let digit = Self.hexValue(byte), size < Self.maxLength {
                state = .chunkSize(size * 16 + digit, extensions: false)
            } else {
                state = .passThrough
            }
        case .trailer(let empty):
            if byte == lf {
                state = empty ? startOfRequest() : .trailer(empty: true)
            } else if byte != cr {
                state = .trailer(empty: false)
            }
        case .body, .chunkData, .passThrough:
            break
        }
    }

    /// Notes `Content-Length`, `Transfer-Encoding` and `Upgrade`; gives up on a length it cannot read.
    private mutating func readHeader(_ line: [UInt8]) -> State {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .header([]) }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        // Spaces and tabs dropped: around the value they are optional, inside it the parser refuses it.
        let unspaced = line[(colon + 1)...].filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
        let value = String(decoding: unspaced, as: UTF8.self).lowercased()
        switch name {
        case "content-length":
            guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(value),
                length < Self.maxLength
            else { return .passThrough }
            contentLength = length
        case "transfer-encoding":
            chunked = value.hasSuffix("chunked")
        case "upgrade":
            upgrade = true
        default:
            break
        }
        return .header([])
    }

    private mutating func endOfHead() -> State {
        if upgrade { return .passThrough }
        if chunked { return .chunkSize(0, extensions: false) }
        if contentLength > 0 { return .body(remaining: contentLength) }
        return startOfRequest()
    }

    /// Whether the latest request line is one nginx parses: `METHOD SP target SP HTTP/1.x` with
    /// a method token of capital letters, `_` and `-` (llhttp knows only the registered methods
    /// and refuses `GEEEET`, which Kong's Admin API answers 405), and an origin-form (`/...`),
    /// asterisk-form or absolute-form target.
    var latestRequestLineIsWellFormed: Bool {
        let parts = latestRequestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, let method = parts.first, !method.isEmpty, let target = parts[1].first else {
            return false
        }
        let methodToken = method.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        let targetForm = target == UInt8(ascii: "/") || target == UInt8(ascii: "*") || parts[1].contains(UInt8(ascii: ":"))
        return methodToken && targetForm && parts[2].starts(with: "HTTP/1.".utf8)
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}

/// Runs a ``RequestTargetEscaper`` in front of the HTTP/1 parser of one connection; the
/// ``HTTPExchangeHandler`` asks it about the request line behind a parser error.
final class RequestTargetEscapingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var escaper = RequestTargetEscaper()

    /// See ``RequestTargetEscaper/latestRequestLineIsWellFormed``.
    var latestRequestLineIsWellFormed: Bool { escaper.latestRequestLineIsWellFormed }

    /// See ``RequestTargetEscaper/latestRequestLine``.
    var latestRequestLine: [UInt8] { escaper.latestRequestLine }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(escaper.escape(unwrapInboundIn(data))))
    }
}
