/// Every problem found while reading node settings, each with where it came from.
///
/// Rendered one problem per line, source first:
/// `kong.conf:12: invalid value for 'router_flavor': 'fast' (expected one of: traditional, …)`,
/// `KONG_PROXY_LISTEN: invalid entry for 'proxy_listen': …`, `--admin-listen: …`.
public struct SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One problem: a bad value, an unknown property or flag, a syntax error.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// Where the offending text came from.
        public var source: SettingSource
        /// The property concerned (`router_flavor`), when there is one.
        public var property: String?
        /// The message, without the source (`invalid value for 'log_level': …`).
        public var message: String

        /// Creates a problem.
        public init(source: SettingSource, property: String?, message: String) {
            self.source = source
            self.property = property
            self.message = message
        }

        /// `<source>: <message>`.
        public var description: String { "\(source): \(message)" }
    }

    /// The problems, in source order (file lines, then environment variables, then flags).
    public var problems: [Problem]

    /// Creates an error from its problems.
    public init(problems: [Problem]) {
        self.problems = problems
    }

    /// The problems, one per line.
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }

    /// The rendered problems (`description` of each).
    public var messages: [String] { problems.map(\.description) }
}

/// Where a setting's value came from.
public enum SettingSource: Sendable, Hashable, CustomStringConvertible {
    /// The built-in default (`NodeSettings()`).
    case defaults
    /// A line of a `kong.conf` file.
    case file(path: String, line: Int)
    /// A `KONG_*` environment variable.
    case environment(variable: String)
    /// A command-line flag (`name` without the leading dashes).
    case flag(name: String)

    /// `kong.conf:12`, `KONG_LOG_LEVEL`, `--proxy-listen` or `defaults`.
    public var description: String {
        switch self {
        case .defaults: "defaults"
        case .file(let path, let line): "\(path):\(line)"
        case .environment(let variable): variable
        case .flag(let name): "--\(name)"
        }
    }

    /// Orders problems: file (by line), then environment, then flags.
    var sortKey: (Int, Int, String) {
        switch self {
        case .defaults: (0, 0, "")
        case .file(let path, let line): (1, line, path)
        case .environment(let variable): (2, 0, variable)
        case .flag(let name): (3, 0, name)
        }
    }
}

/// A value a parser refused, with one message per problem found in it
/// (`invalid value for 'log_level': 'verbose' (expected one of: …)`).
public struct InvalidValue: Error, Sendable, Equatable, CustomStringConvertible {
    /// The messages, without a source.
    public var messages: [String]

    /// Creates an error with one or more messages.
    public init(messages: [String]) {
        self.messages = messages
    }

    /// Creates an error with one message.
    public init(_ message: String) {
        self.messages = [message]
    }

    /// The messages, one per line.
    public var description: String { messages.joined(separator: "\n") }
}

/// One `property = value` taken from a source.
public struct SettingAssignment: Sendable, Equatable {
    /// The kong.conf property name (`proxy_listen`).
    public var property: String
    /// The raw value text, comments removed.
    public var value: String
    /// Where it was written.
    public var source: SettingSource

    /// Creates an assignment.
    public init(property: String, value: String, source: SettingSource) {
        self.property = property
        self.value = value
        self.source = source
    }
}
