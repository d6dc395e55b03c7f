import KGateSchema

/// The text `kong config parse` prints for a refused config, with kgate's source positions.
///
/// Kong (`kong/cmd/init.lua`, `pretty_print_error` in `kong/db/declarative/init.lua`) writes to
/// stderr:
///
/// ```
/// Error: Failed parsing:
/// in 'services':
///   - in entry 1 of 'services':
///     in 'host': required field missing
///
///   Run with --v (verbose) or --vv (debug) for more details
/// ```
///
/// kgate appends ` (kong.yml:4:7)` to every line whose path has a place in the file (see
/// `ErrorPositions`), and renders entries in the error tree's insertion order (Kong's follows
/// Lua's `pairs` and is not stable).
public enum CLIErrorText {
    /// The line Kong's CLI prints after any error (preceded by a blank line).
    public static let verboseHint = "  Run with --v (verbose) or --vv (debug) for more details"

    /// The whole stderr text of a failed `config parse`, ending with a newline.
    public static func render(_ error: DeclarativeError) -> String {
        failure("Failed parsing:\n" + details(error))
    }

    /// `Error: <message>`, a blank line and the verbose hint: how Kong's CLI reports any error.
    public static func failure(_ message: String) -> String {
        "Error: " + message + "\n\n" + verboseHint + "\n"
    }

    /// What follows `Failed parsing:`: the error tree, or the message of a text that did not parse.
    ///
    /// This is also the text of Kong's start-up failure (`error parsing declarative config file
    /// <path>:\n<details>`).
    public static func details(_ error: DeclarativeError) -> String {
        if error.fields.count == 1, let message = error.fields["error"]?.message,
            error.document == nil || message.hasPrefix(ConfigText.parseErrorPrefix)
        {
            guard let mark = error.syntaxMark else { return message }
            let file = error.fileName.map { "\($0):" } ?? ""
            return message + " (\(file)\(mark.line):\(mark.column))"
        }
        return tree(error.fields, positions: error.document.map(ErrorPositions.init(document:)))
    }

    /// Kong's `pretty_print_error` over a tree, plus a position suffix where one is known.
    public static func tree(_ fields: ErrorNode, positions: ErrorPositions? = nil) -> String {
        var lines: [String] = []
        append(fields, item: "", indent: "", path: [], positions: positions, to: &lines)
        return lines.joined(separator: "\n")
    }

    private static func append(
        _ node: ErrorNode, item: String, indent: String, path: [ErrorKey], positions: ErrorPositions?,
        to lines: inout [String]
    ) {
        for (key, value) in node.entries {
            let prettyKey: String
            switch key {
            case .index(let i): prettyKey = "- in entry \(i) of '\(item)'"
            case .field(let f): prettyKey = "in '\(f)'"
            }
            let keyPath = path + [key]
            let mark = positions?.mark(for: keyPath, message: value.message)
            let suffix = positions.flatMap { p in mark.map(p.suffix) } ?? ""
            switch value {
            case .message(let m):
                lines.append(indent + prettyKey + ": " + m + suffix)
            case .node(let child):
                lines.append(indent + prettyKey + ":" + suffix)
                append(
                    child, item: key.description, indent: indent + "  ", path: keyPath, positions: positions,
                    to: &lines)
            }
        }
    }
}
