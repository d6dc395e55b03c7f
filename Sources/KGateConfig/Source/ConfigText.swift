import KGateSchema

/// Why a configuration text could not be read.
///
/// From ``ConfigText/parse(_:fileName:)`` `message` is Kong's full message
/// (`failed parsing declarative configuration: 3:5: did not find expected key`); from
/// ``YAMLReader`` and ``JSONReader`` it is the parser's own message (`3:5: did not find expected key`).
/// `mark` is the position the message refers to, when there is one.
public struct ConfigTextError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error message.
    public let message: String
    /// Where the problem is, when known.
    public let mark: SourceMark?

    /// Creates an error.
    public init(message: String, mark: SourceMark?) {
        self.message = message
        self.mark = mark
    }

    public var description: String { message }
}

/// Turns the text of a declarative config file into the value Kong's loader sees.
public enum ConfigText {
    /// Deepest nesting of sequences/mappings (arrays/objects) accepted; deeper documents are refused.
    public static let maxDepth = 512

    /// The prefix of every parse error, as Kong words it.
    public static let parseErrorPrefix = "failed parsing declarative configuration"

    /// Kong's `unserialize(contents, filename)`.
    ///
    /// - With no file name, or one ending in `json`, the text is decoded as JSON (cjson) first.
    /// - If that did not give a table, and there is no file name or it ends in `yml`/`yaml`, it is
    ///   loaded as YAML (lyaml, first document). A YAML text that starts with `{` is tried as JSON
    ///   first (the same value, faster); if that fails it is read as YAML.
    /// - Any other file name: `unknown file type: <filename>. (Accepted types: json, yaml)`.
    /// - Errors: `failed parsing declarative configuration: <parser error>`, and
    ///   `failed parsing declarative configuration: expected an object` when YAML gives no table
    ///   (a scalar, or an empty stream). A JSON file whose value is not a table gives the bare
    ///   `failed parsing declarative configuration`, as in Kong.
    ///
    /// As in Kong any table is accepted: a top-level sequence gives an `.array` value, and a YAML
    /// document that is null (`---`, `~`) gives an empty object (lyaml's null is a Lua table).
    public static func parse(_ bytes: [UInt8], fileName: String?) -> Result<SourceDocument, ConfigTextError> {
        var triedOne = false
        var triedJSON = false
        var failure: ConfigTextError?

        if fileName == nil || fileName!.hasSuffix("json") {
            triedOne = true
            triedJSON = true
            switch JSONReader.read(bytes) {
            case .success(let doc):
                if doc.value.isTable { return .success(named(doc, fileName)) }
                failure = nil
            case .failure(let e):
                failure = e
            }
        }

        if fileName == nil || fileName!.hasSuffix("yml") || fileName!.hasSuffix("yaml") {
            triedOne = true
            if !triedJSON, startsWithBrace(bytes), case .success(let doc) = JSONReader.read(bytes), doc.value.isTable {
                return .success(named(doc, fileName))
            }
            switch YAMLReader.read(bytes) {
            case .success(let doc?):
                switch doc.value {
                case .array, .object:
                    return .success(named(doc, fileName))
                case .null:
                    // lyaml.null is a table: Kong goes on with it as an empty config.
                    let root = SourceNode(mark: doc.root.mark, children: .mapping([:]))
                    return .success(SourceDocument(value: .object([:]), root: root, fileName: fileName))
                default:
                    failure = ConfigTextError(message: "expected an object", mark: doc.root.mark)
                }
            case .success(nil):
                failure = ConfigTextError(message: "expected an object", mark: nil)
            case .failure(let e):
                failure = e
            }
        }

        guard triedOne else {
            return .failure(
                ConfigTextError(
                    message: "unknown file type: \(fileName ?? "nil"). (Accepted types: json, yaml)", mark: nil))
        }
        if let f = failure {
            return .failure(ConfigTextError(message: "\(parseErrorPrefix): \(f.message)", mark: f.mark))
        }
        return .failure(ConfigTextError(message: parseErrorPrefix, mark: nil))
    }

    /// Convenience for text already in memory as a `String`.
    public static func parse(_ text: String, fileName: String?) -> Result<SourceDocument, ConfigTextError> {
        parse(Array(text.utf8), fileName: fileName)
    }

    private static func named(_ doc: SourceDocument, _ fileName: String?) -> SourceDocument {
        SourceDocument(value: doc.value, root: doc.root, fileName: fileName)
    }

    /// Whether the first byte after JSON whitespace is `{`.
    private static func startsWithBrace(_ bytes: [UInt8]) -> Bool {
        for c in bytes {
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "{"): return true
            default: return false
            }
        }
        return false
    }
}
