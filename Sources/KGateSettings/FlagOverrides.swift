/// Command-line flags that override properties: `--declarative-config`, `--proxy-listen`,
/// `--admin-listen`, `--status-listen` and `--prefix`.
///
/// Keys are flag names with or without the leading dashes (`proxy-listen`, `--proxy-listen`);
/// values are written as in kong.conf.
public struct FlagOverrides: Sendable, Equatable {
    /// The flags and the properties they set, in the order messages list them.
    public static let flags: [(flag: String, property: String)] = [
        ("declarative-config", "declarative_config"),
        ("proxy-listen", "proxy_listen"),
        ("admin-listen", "admin_listen"),
        ("status-listen", "status_listen"),
        ("prefix", "prefix"),
    ]

    /// The properties the flags set, in property order.
    public let assignments: [SettingAssignment]

    /// Reads flag values; throws for flags that set no property.
    public init(_ flags: [String: String]) throws(SettingsError) {
        let (overrides, problems) = Self.scan(flags)
        guard problems.isEmpty else { throw SettingsError(problems: problems) }
        self = overrides
    }

    private init(assignments: [SettingAssignment]) {
        self.assignments = assignments
    }

    /// Reads what can be read and returns the unknown flags as problems.
    static func scan(_ flags: [String: String]) -> (FlagOverrides, [SettingsError.Problem]) {
        var byProperty: [String: SettingAssignment] = [:]
        var problems: [SettingsError.Problem] = []
        for (key, value) in flags {
            let name = String(key.drop { $0 == "-" })
            guard let property = Self.flags.first(where: { $0.flag == name })?.property else {
                let accepted = Self.flags.map { "--\($0.flag)" }.joined(separator: ", ")
                problems.append(.init(
                    source: .flag(name: name), property: nil, message: "unknown flag (expected one of: \(accepted))"))
                continue
            }
            byProperty[property] = SettingAssignment(property: property, value: value, source: .flag(name: name))
        }
        let ordered = Property.all.compactMap { byProperty[$0.name] }
        return (FlagOverrides(assignments: ordered), problems.sorted { $0.source.sortKey < $1.source.sortKey })
    }
}
