/// The text of a `kong.conf` file, parsed (no I/O: the caller reads the file).
///
/// Syntax, as Kong reads it:
/// - one `property = value` per line; whitespace around the name and the value is trimmed;
/// - blank lines and lines starting with `#` are ignored;
/// - `#` starts a trailing comment unless escaped as `\#`, which stands for a literal `#`;
/// - a line ending with `\` continues on the next line;
/// - a property given twice keeps its last value.
///
/// Kong's own properties that have no effect on kgate are accepted and listed in ``ignored``;
/// any other name is refused: `kong.conf:7: unknown property 'proxy_lisen' (did you mean 'proxy_listen'?)`.
public struct KongConfFile: Sendable, Equatable {
    /// Where Kong looks for a kong.conf when none is given, in order (the CLI may do the same).
    public static let defaultPaths = ["/etc/kong/kong.conf", "/etc/kong.conf"]

    /// The path used in messages (`kong.conf`, `/etc/kong/kong.conf`).
    public let path: String
    /// The properties kgate applies, in file order.
    public let assignments: [SettingAssignment]
    /// Kong properties without effect on kgate, in file order.
    public let ignored: [SettingAssignment]

    /// Parses kong.conf text; throws every syntax error and unknown property, with line numbers.
    public init(parsing text: String, path: String = "kong.conf") throws(SettingsError) {
        let (file, problems) = Self.scan(text, path: path)
        guard problems.isEmpty else { throw SettingsError(problems: problems) }
        self = file
    }

    /// Creates a file from assignments already made (for tests and tools).
    public init(path: String, assignments: [SettingAssignment], ignored: [SettingAssignment] = []) {
        self.path = path
        self.assignments = assignments
        self.ignored = ignored
    }

    /// Parses what can be parsed and returns the problems next to it, so that a caller can
    /// report them together with problems of the other sources.
    static func scan(_ text: String, path: String) -> (KongConfFile, [SettingsError.Problem]) {
        var assignments: [SettingAssignment] = []
        var ignored: [SettingAssignment] = []
        var problems: [SettingsError.Problem] = []
        for (line, lineNumber) in logicalLines(text) {
            let source = SettingSource.file(path: path, line: lineNumber)
            let trimmed = ValueSyntax.trim(line)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                let message = "expected 'property = value', found no '='"
                problems.append(.init(source: source, property: nil, message: message))
                continue
            }
            let name = ValueSyntax.trim(trimmed[..<equals])
            let value = stripComment(trimmed[trimmed.index(after: equals)...])
            guard !name.isEmpty else {
                problems.append(.init(source: source, property: nil, message: "missing property name before '='"))
                continue
            }
            let assignment = SettingAssignment(property: name, value: value, source: source)
            switch KongProperties.kind(of: name) {
            case .supported: assignments.append(assignment)
            case .ignored: ignored.append(assignment)
            case .unknown:
                problems.append(.init(source: source, property: name, message: unknownPropertyMessage(name)))
            }
        }
        return (KongConfFile(path: path, assignments: assignments, ignored: ignored), problems)
    }

    /// `unknown property 'x'`, with a suggestion when a known name is close.
    static func unknownPropertyMessage(_ name: String) -> String {
        guard let guess = ValueSyntax.suggestion(for: name, among: KongProperties.knownNames) else {
            return "unknown property '\(name)'"
        }
        return "unknown property '\(name)' (did you mean '\(guess)'?)"
    }

    /// Physical lines joined across trailing-backslash continuations, each numbered by the
    /// line it starts on. Lines end at LF or CR-LF; comment lines never continue.
    static func logicalLines(_ text: String) -> [(String, Int)] {
        var result: [(String, Int)] = []
        var pending: (text: String, line: Int)?
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, raw) in lines.enumerated() {
            var line = String(raw)
            if pending == nil, ValueSyntax.trim(line).hasPrefix("#") {
                continue
            }
            if let started = pending {
                line = started.text + line
            }
            let startLine = pending?.line ?? index + 1
            if line.hasSuffix("\\") {
                pending = (String(line.dropLast()), startLine)
                continue
            }
            pending = nil
            result.append((line, startLine))
        }
        if let pending { result.append((pending.text, pending.line)) }
        return result
    }

    /// Cuts the value at the first `#` not preceded by `\`, turns `\#` into `#`, and trims.
    static func stripComment(_ value: Substring) -> String {
        var result = ""
        var previous: Character?
        for c in value {
            if c == "#" {
                if previous == "\\" {
                    result.removeLast()
                } else {
                    break
                }
            }
            result.append(c)
            previous = c
        }
        return ValueSyntax.trim(result)
    }
}
