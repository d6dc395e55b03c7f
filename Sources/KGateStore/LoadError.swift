import KGateConfig
import KGateSchema

/// Why a load was refused, in the shape `/status` and logs report it.
public struct LoadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stage that failed.
    public enum Stage: String, Sendable, Hashable {
        /// The file could not be read.
        case read
        /// Parse, validate or flatten (one loader call): the text is not a valid config.
        case parse
        /// An artifact builder (router, plugins iterator, ...) refused the config.
        case build
    }

    /// The stage that failed.
    public var stage: Stage
    /// One line: the first error with its path (`services[1].port: expected an integer`).
    public var message: String
    /// The file the position refers to, when known.
    public var file: String?
    /// 1-based line of the first error, when known.
    public var line: Int?
    /// 1-based column of the first error, when known.
    public var column: Int?
    /// Every error, one per line, with positions (the text `kgate config parse` prints after
    /// `Failed parsing:`); the message again for read and build failures.
    public var details: String
    /// Number of error messages in the tree (1 for read and build failures).
    public var errorCount: Int
    /// md5 of the refused text, when it could be read.
    public var hash: String?
    /// Where the refused config came from.
    public var source: ConfigSource
    /// When the refused load started (seconds since 1970).
    public var at: Double

    /// Creates an error.
    public init(
        stage: Stage, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil,
        details: String? = nil, errorCount: Int = 1, hash: String? = nil, source: ConfigSource, at: Double
    ) {
        self.stage = stage
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.details = details ?? message
        self.errorCount = errorCount
        self.hash = hash
        self.source = source
        self.at = at
    }

    /// The loader's error: the first message of the tree (in insertion order) and its position.
    public init(_ error: DeclarativeError, hash: String?, source: ConfigSource, at: Double) {
        let first = Self.firstMessage(in: error.fields, path: [])
        let mark: SourceMark?
        if let document = error.document, let first {
            mark = ErrorPositions(document: document).mark(for: first.path, message: first.message)
        } else {
            mark = error.syntaxMark
        }
        let path = first.map { Self.pathText($0.path) } ?? ""
        let text = first?.message ?? "invalid declarative configuration"
        self.init(
            stage: .parse, message: path.isEmpty ? text : path + ": " + text,
            file: error.fileName ?? error.document?.fileName, line: mark?.line, column: mark?.column,
            details: CLIErrorText.details(error), errorCount: max(1, Self.messageCount(error.fields)), hash: hash,
            source: source, at: at)
    }

    /// `kong.yml:12:7: services[1].port: expected an integer`.
    public var description: String {
        var prefix = ""
        if let file { prefix += file + ":" }
        if let line, let column { prefix += "\(line):\(column):" }
        return prefix.isEmpty ? message : prefix + " " + message
    }

    /// The first message of an error tree, depth first in insertion order, with its path.
    static func firstMessage(in node: ErrorNode, path: [ErrorKey]) -> (path: [ErrorKey], message: String)? {
        for (key, value) in node.entries {
            switch value {
            case .message(let m): return (path + [key], m)
            case .node(let child):
                if let found = firstMessage(in: child, path: path + [key]) { return found }
            }
        }
        return nil
    }

    /// Number of messages in an error tree.
    static func messageCount(_ node: ErrorNode) -> Int {
        node.entries.reduce(0) { sum, entry in
            switch entry.value {
            case .message: return sum + 1
            case .node(let child): return sum + messageCount(child)
            }
        }
    }

    /// `services[1].routes[2].paths[3]`; `@entity` (with its list index) and the parse error's
    /// `error` key are left out.
    static func pathText(_ path: [ErrorKey]) -> String {
        var text = ""
        var afterEntity = false
        for key in path {
            defer { afterEntity = key == .field("@entity") }
            switch key {
            case .index where afterEntity: continue  // the position in the `@entity` list
            case .index(let i): text += "[\(i)]"
            case .field("@entity"): continue
            case .field("error") where path.count == 1: continue
            case .field(let f): text += text.isEmpty ? f : "." + f
            }
        }
        return text
    }
}
