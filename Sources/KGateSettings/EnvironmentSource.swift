/// `KONG_*` environment variables: `KONG_<PROPERTY IN UPPER CASE>` overrides `<property>`
/// (`KONG_PROXY_LISTEN` → `proxy_listen`), as in Kong and its Docker image.
///
/// The variables come from a dictionary the caller supplies (the process environment in
/// production, a literal in tests); nothing here reads the process environment. Names must be
/// upper case, as Kong looks them up. Variables naming a Kong property without effect on kgate
/// are listed in ``ignored``; other `KONG_*` variables (`KONG_VERSION`, …) are not properties
/// and are left alone.
public struct EnvironmentSource: Sendable, Equatable {
    /// The properties kgate applies, in property order.
    public let assignments: [SettingAssignment]
    /// Variables naming Kong properties without effect on kgate, sorted by name.
    public let ignored: [SettingAssignment]
    /// Every variable: what `{vault://env/...}` references in property values read.
    public let variables: [String: String]

    /// Picks the `KONG_*` variables out of an environment.
    public init(_ environment: [String: String]) {
        variables = environment
        assignments = Property.all.compactMap { property in
            let variable = Self.variable(for: property.name)
            return environment[variable].map {
                SettingAssignment(property: property.name, value: $0, source: .environment(variable: variable))
            }
        }
        ignored = environment.compactMap { variable, value -> SettingAssignment? in
            guard variable.hasPrefix("KONG_"), variable == variable.uppercased() else { return nil }
            let property = String(variable.dropFirst(5)).lowercased()
            guard KongProperties.kind(of: property) == .ignored else { return nil }
            return SettingAssignment(property: property, value: value, source: .environment(variable: variable))
        }.sorted { $0.property < $1.property }
    }

    /// `KONG_` + the property name in upper case.
    public static func variable(for property: String) -> String {
        "KONG_" + property.uppercased()
    }
}
