import Testing

@testable import KGateSettings

/// Resolves settings from kong.conf text, an environment and flags (all optional).
func settings(
    _ conf: String? = nil, env: [String: String] = [:], flags: [String: String] = [:],
    bundled: [String]? = nil
) throws(SettingsError) -> NodeSettings {
    try NodeSettings.load(kongConf: conf, environment: env, flags: flags, bundledPlugins: bundled)
}

/// The rendered problems of a resolution that must fail (empty if it succeeded).
func problems(
    _ conf: String? = nil, env: [String: String] = [:], flags: [String: String] = [:]
) -> [String] {
    do {
        _ = try settings(conf, env: env, flags: flags)
        return []
    } catch {
        return error.messages
    }
}

/// Defaults with one change: the expected result of a single-property table case.
func defaults(_ change: (inout NodeSettings) -> Void) -> NodeSettings {
    var s = NodeSettings()
    change(&s)
    return s
}

/// A table case: an input, the expected settings, and a label for the test report.
struct SettingsCase: Sendable, CustomTestStringConvertible {
    let input: String
    let expected: NodeSettings
    var testDescription: String { input }

    init(_ input: String, _ change: (inout NodeSettings) -> Void) {
        self.input = input
        self.expected = defaults(change)
    }
}

/// A table case for a failure: an input and every expected message.
struct FailureCase: Sendable, CustomTestStringConvertible {
    let input: String
    let messages: [String]
    var testDescription: String { input }

    init(_ input: String, _ messages: String...) {
        self.input = input
        self.messages = messages
    }
}
