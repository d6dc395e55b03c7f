import KGateConfig
import KGateSchema
import OrderedCollections

/// Kong constants plugins share.
public enum PluginConstants {
    /// Kong's version at the reference commit: every bundled plugin's `VERSION`.
    public static let kongVersion = "3.10.0"

    /// Kong's sandbox error for Lua code with `untrusted_lua = off`.
    public static let untrustedLuaDisabled =
        "loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'"

    /// Facts about a bundled plugin (`no_consumer`, ...), nil for other names.
    public static func bundled(_ name: String) -> BundledPlugins.Info? { BundledPlugins.info(name) }

    /// Kong's `constants.HEADERS` used by the bundled plugins.
    public enum Headers {
        /// `X-Consumer-ID`.
        public static let consumerID = "X-Consumer-ID"
        /// `X-Consumer-Custom-ID`.
        public static let consumerCustomID = "X-Consumer-Custom-ID"
        /// `X-Consumer-Username`.
        public static let consumerUsername = "X-Consumer-Username"
        /// `X-Credential-Identifier`.
        public static let credentialIdentifier = "X-Credential-Identifier"
        /// `X-Anonymous-Consumer`.
        public static let anonymous = "X-Anonymous-Consumer"
        /// `X-Consumer-Groups`.
        public static let consumerGroups = "X-Consumer-Groups"
        /// `X-Authenticated-Groups`.
        public static let authenticatedGroups = "X-Authenticated-Groups"
    }
}

/// Typed reads of a validated config object (defaults already filled in; `null` reads as
/// absent).
extension OrderedDictionary where Key == String, Value == KGateSchema.Value {
    /// A string field.
    public func string(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }

    /// A boolean field; `defaultValue` when absent or null.
    public func bool(_ key: String, default defaultValue: Bool = false) -> Bool {
        if case .bool(let b)? = self[key] { return b }
        return defaultValue
    }

    /// An integer field (integral numbers too).
    public func integer(_ key: String) -> Int? { self[key]?.integerValue }

    /// A number field.
    public func number(_ key: String) -> Double? { self[key]?.doubleValue }

    /// An array of strings (non-strings skipped); nil when absent or null.
    public func strings(_ key: String) -> [String]? {
        guard let items = self[key]?.sequenceElements else { return nil }
        return items.compactMap(\.stringValue)
    }

    /// A nested record; nil when absent or null.
    public func record(_ key: String) -> KGateSchema.Object? { self[key]?.objectValue }
}
