/// A setting's value as shown to operators (the Admin API's `GET /` `configuration`).
public enum SettingValue: Sendable, Hashable, CustomStringConvertible {
    /// A string (`notice`, `/etc/kong/kong.yml`, `******`).
    case string(String)
    /// An integer (`512`).
    case integer(Int)
    /// A boolean (`on`/`off` in kong.conf, `true`/`false` in JSON).
    case boolean(Bool)
    /// A list (listen entries, plugin names, header tokens).
    case list([String])
    /// Not set.
    case none

    /// The value in kong.conf syntax: booleans as `on`/`off`, lists comma-separated, unset as ``.
    public var description: String {
        switch self {
        case .string(let s): s
        case .integer(let n): String(n)
        case .boolean(let b): b ? "on" : "off"
        case .list(let items): items.joined(separator: ", ")
        case .none: ""
        }
    }
}

/// One property of the redacted configuration.
public struct ConfigurationEntry: Sendable, Hashable {
    /// The kong.conf name (`proxy_listen`).
    public var name: String
    /// The value; sensitive values that are set are `.string("******")`.
    public var value: SettingValue

    /// Creates an entry.
    public init(name: String, value: SettingValue) {
        self.name = name
        self.value = value
    }
}

extension NodeSettings {
    /// What sensitive values are replaced with (Kong's placeholder).
    public static let redactedPlaceholder = "******"

    /// The names of the properties whose values are secret.
    public static var sensitiveProperties: [String] {
        Property.all.filter(\.isSensitive).map(\.name)
    }

    /// Kong properties kgate accepts without using them whose values Kong hides as well
    /// (`CONF_SENSITIVE` in Kong's conf loader).
    static let sensitiveIgnoredProperties: Set<String> = [
        "pg_password", "pg_ro_password", "proxy_server", "cluster_cert_key", "client_ssl_cert_key",
        "admin_gui_ssl_cert_key", "debug_ssl_cert_key",
    ]

    /// Every property with its value, in kong.conf order, secrets (`declarative_config_string`,
    /// `admin_token`) shown as `******` when set, values written with `{vault://...}`
    /// references as written. Kong's nginx alias spellings are not listed. The properties
    /// kgate accepts without using them follow, as they were written (secrets such as
    /// `pg_password` as `******`).
    public var redactedConfiguration: [ConfigurationEntry] {
        let used: [ConfigurationEntry] = Property.all.filter { $0.aliasOf == nil }.compactMap { property in
            var value = references[property.name].map(SettingValue.string) ?? property.render(self)
            if property.omitsUnset, value == .none { return nil }
            if property.isSensitive, value != .none {
                value = .string(Self.redactedPlaceholder)
            }
            return ConfigurationEntry(name: property.name, value: value)
        }
        return used + ignoredProperties.map { assignment in
            let secret = Self.sensitiveIgnoredProperties.contains(assignment.property)
            return ConfigurationEntry(
                name: assignment.property, value: .string(secret ? Self.redactedPlaceholder : assignment.value))
        }
    }

    /// ``redactedConfiguration`` as strings in kong.conf syntax (unset values omitted).
    public var redactedDictionary: [String: String] {
        var result: [String: String] = [:]
        for entry in redactedConfiguration where entry.value != .none {
            result[entry.name] = entry.value.description
        }
        return result
    }
}
