#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A custom error page template (`error_template_html`, `_json`, `_xml`, `_plain`): the file's
/// bytes, split at its placeholders once, when the settings are read.
///
/// Kong renders a template with `string.format(template, message, request_id)`
/// (`kong/tools/http.lua` `get_error_template`, used by `kong/error_handlers.lua` and
/// `kong.response.error`): the first `%s` is the error message, the second the request id, `%%`
/// is a percent sign; both placeholders are optional. Anything else Lua would fail on when an
/// error is rendered (a third `%s`, another directive, a lone `%`) is refused here instead.
///
/// Kong reads the file at the first error of that type and, when it cannot, logs an error and
/// keeps its default template; kgate reads it at start-up and refuses a missing or unreadable
/// file, so the mistake shows before traffic does.
public struct ErrorTemplate: Sendable, Hashable, CustomStringConvertible {
    /// A piece of the template.
    public enum Part: Sendable, Hashable {
        /// Bytes written as they are (`%%` already turned into `%`).
        case text([UInt8])
        /// The first `%s`: the error message.
        case message
        /// The second `%s`: the request id.
        case requestID
    }

    /// The file, as configured.
    public let path: String
    /// The template, in order.
    public let parts: [Part]

    /// The largest template file read (a guard against pointing the setting at a huge file).
    public static let maximumSize = 1 << 20

    /// Splits a template's bytes at its placeholders.
    ///
    /// - Throws: a description of the first placeholder Kong could not render.
    public init(path: String, bytes: [UInt8]) throws(ErrorTemplate.Problem) {
        self.path = path
        var parts: [Part] = []
        var text: [UInt8] = []
        var placeholders = 0
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "%") else {
                text.append(byte)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else {
                throw Problem("a lone '%' ends the template (write %% for a percent sign)")
            }
            switch bytes[i + 1] {
            case UInt8(ascii: "%"):
                text.append(UInt8(ascii: "%"))
            case UInt8(ascii: "s"):
                placeholders += 1
                guard placeholders <= 2 else {
                    throw Problem(
                        "more than two %s placeholders; the first is the message, the second the request id")
                }
                if !text.isEmpty { parts.append(.text(text)) }
                text = []
                parts.append(placeholders == 1 ? .message : .requestID)
            default:
                let directive = String(decoding: bytes[i...i + 1], as: UTF8.self)
                throw Problem(
                    "unsupported placeholder '\(directive)' (only %s, for the message then the request id, "
                        + "and %% for a percent sign)")
            }
            i += 2
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// The path, as configured.
    public var description: String { path }

    /// Why a template file cannot be used: it cannot be read, or Kong could not render it.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, for `invalid value for 'error_template_…': '<path>' (<detail>)`.
        public var description: String

        init(_ description: String) {
            self.description = description
        }
    }

    /// Reads a template file and parses it.
    public static func load(path: String) throws(Problem) -> ErrorTemplate {
        try ErrorTemplate(path: path, bytes: TemplateFile.contents(of: path, limit: maximumSize))
    }
}

/// Reads a small regular file whole with plain POSIX calls (no Foundation in this module).
enum TemplateFile {
    /// The file's bytes; the error says why they could not be read (`no such file`,
    /// `cannot read the file: permission denied`, `not a regular file`, `larger than …`).
    static func contents(of path: String, limit: Int) throws(ErrorTemplate.Problem) -> [UInt8] {
        let tooLarge = ErrorTemplate.Problem("the file is larger than \(limit >> 10) KiB")
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw reason(errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw reason(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw ErrorTemplate.Problem("not a regular file") }
        guard Int(info.st_size) <= limit else { throw tooLarge }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw reason(errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
            guard bytes.count <= limit else { throw tooLarge }
        }
        return bytes
    }

    /// `no such file`, or the system's text for the error, lower-cased as Kong's messages are.
    private static func reason(_ code: Int32) -> ErrorTemplate.Problem {
        if code == ENOENT { return ErrorTemplate.Problem("no such file") }
        guard let text = strerror(code) else { return ErrorTemplate.Problem("cannot read the file (error \(code))") }
        let message = String(cString: text)
        return ErrorTemplate.Problem(
            "cannot read the file: " + (message.first.map { $0.lowercased() + message.dropFirst() } ?? message))
    }
}
