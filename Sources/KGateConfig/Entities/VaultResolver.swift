#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KGateSchema

/// A parsed `{vault://<name>/<resource>[/<key>][?<config>][#<version>]}` reference (Kong's
/// `parse_reference` in `kong/pdk/vault.lua`).
public struct VaultReferenceParts: Sendable, Equatable {
    /// The vault: a bundled vault's name (`env`) or a `vaults` entity's `prefix`.
    public var name: String
    /// The secret's name in the vault (`my-secret`).
    public var resource: String
    /// The field to read when the secret is a JSON object; nil for the whole value.
    public var key: String?
    /// Vault settings given in the reference's query (`?prefix=APP_`).
    public var config: [String: String]
    /// `#2`: the secret's previous version (`<NAME>_PREVIOUS` for the env vault).
    public var version: Int?

    /// Parses a reference as Kong does; the error says why it is not one.
    public static func parse(_ reference: String) -> Result<VaultReferenceParts, VaultResolutionError> {
        func failure(_ why: String) -> Result<VaultReferenceParts, VaultResolutionError> {
            .failure(VaultResolutionError(reference: reference, reason: why + " [\(reference)]", parsing: true))
        }
        guard VaultReference.isReference(reference) else { return failure("not a reference") }
        var rest = Substring(reference.dropFirst("{vault://".count).dropLast())
        var version: Int?
        if let hash = rest.firstIndex(of: "#") {
            guard let v = Int(rest[rest.index(after: hash)...]) else { return failure("reference url has invalid version") }
            version = v
            rest = rest[..<hash]
        }
        var config: [String: String] = [:]
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                config[percentDecoded(parts[0])] = parts.count > 1 ? percentDecoded(parts[1]) : ""
            }
            rest = rest[..<question]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            return rest.isEmpty ? failure("reference url is missing host") : failure("reference url is missing path")
        }
        let name = String(rest[..<slash])
        guard !name.isEmpty else { return failure("reference url is missing host") }
        let path = rest[rest.index(after: slash)...]
        guard !path.isEmpty else { return failure("reference url has empty path") }
        let isDirectory = path.hasSuffix("/")
        let segments = path.split(separator: "/")
        guard !segments.isEmpty else { return failure("reference url has invalid path") }
        var key: String?
        let resourceSegments: ArraySlice<Substring>
        if segments.count == 1 || isDirectory {
            resourceSegments = segments[...]
        } else {
            resourceSegments = segments.dropLast()
            key = percentDecoded(segments[segments.count - 1])
        }
        let resource = percentDecoded(resourceSegments.joined(separator: "/")[...])
        return .success(VaultReferenceParts(name: name, resource: resource, key: key, config: config, version: version))
    }

    /// `%XX` escapes decoded (an invalid escape is kept as written, as `ngx.unescape_uri` does).
    static func percentDecoded(_ s: Substring) -> String {
        String(decoding: PathNormalizer.decodePercent(Array(s.utf8)) { [$0] }, as: UTF8.self)
    }
}

/// Why a `{vault://...}` reference has no value, in Kong's words.
public struct VaultResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reference as written.
    public var reference: String
    /// Kong's reason (`could not find vault (aws)`, `no value found`...).
    public var reason: String
    var parsing = false

    /// A reference whose value could not be read, and why.
    public init(reference: String, reason: String) {
        self.reference = reference
        self.reason = reason
    }

    init(reference: String, reason: String, parsing: Bool) {
        self.init(reference: reference, reason: reason)
        self.parsing = parsing
    }

    /// `could not parse reference ... (...)` or `could not retrieve value for reference ... (...)`.
    public var description: String {
        parsing
            ? "could not parse reference \(reference) (\(reason))"
            : "could not retrieve value for reference \(reference) (\(reason))"
    }
}

/// Resolves the `{vault://...}` references of referenceable fields (certificates' `cert` and
/// `key`...) when a configuration is made live, with Kong's bundled vault, `env`: the
/// reference stays in the entity (the Admin API shows it), the secret only reaches what uses it.
///
/// A reference names the vault `env` itself, or a `vaults` entity by its `prefix` (one whose
/// `name` is `env`, its `config.prefix` put before the secret's name). The env vault reads the
/// environment variable named by the prefix and resource, upper-cased with `-` as `_`, and
/// `_PREVIOUS` appended for version 2; a `/key` reads that field of a JSON object value.
public struct VaultResolver: Sendable {
    private let vaults: [String: (name: String, config: [String: String])]
    private let environment: [String: String]

    /// - Parameters:
    ///   - vaults: the configuration's `vaults` entities.
    ///   - environment: the process environment (a test's dictionary).
    public init(vaults: [Object], environment: [String: String]) {
        var byPrefix: [String: (name: String, config: [String: String])] = [:]
        for vault in vaults {
            guard let prefix = vault["prefix"]?.stringValue, let name = vault["name"]?.stringValue else { continue }
            var config: [String: String] = [:]
            for (k, v) in vault["config"]?.objectValue ?? [:] {
                if let s = v.stringValue { config[k] = s }
            }
            byPrefix[prefix] = (name, config)
        }
        self.vaults = byPrefix
        self.environment = environment
    }

    /// The process environment, read as Kong's env vault reads it at start (`environ`).
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// The value itself, or the secret it references.
    public func resolving(_ value: String) throws(VaultResolutionError) -> String {
        VaultReference.isReference(value) ? try resolve(value) : value
    }

    /// The secret a reference names.
    public func resolve(_ reference: String) throws(VaultResolutionError) -> String {
        let parts: VaultReferenceParts
        switch VaultReferenceParts.parse(reference) {
        case .success(let p): parts = p
        case .failure(let error): throw error
        }
        func failure(_ reason: String) -> VaultResolutionError {
            VaultResolutionError(reference: reference, reason: reason)
        }
        var config: [String: String]
        if let vault = vaults[parts.name] {
            guard EntitySchemas.bundledVaults.contains(vault.name) else {
                throw failure("could not find vault (\(parts.name))")
            }
            config = vault.config
        } else if EntitySchemas.bundledVaults.contains(parts.name) {
            config = [:]
        } else {
            throw failure("could not find vault (\(parts.name))")
        }
        config.merge(parts.config) { $1 }
        // Lua's `upper(gsub(name, "-", "_"))`: ASCII letters only.
        var variable = String(
            decoding: ((config["prefix"] ?? "") + parts.resource).utf8.map { c -> UInt8 in
                if c == UInt8(ascii: "-") { return UInt8(ascii: "_") }
                return (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) ? c - 32 : c
            }, as: UTF8.self)
        if parts.version == 2 { variable += "_PREVIOUS" }
        guard let value = environment[variable] else { throw failure("no value found") }
        guard let key = parts.key else { return value }
        guard case .success(let document) = JSONReader.read(Array(value.utf8)), case .object(let object) = document.value
        else {
            throw failure("could not get subfield value: unable to json decode value")
        }
        switch object[key] {
        case nil, .null?: throw failure("could not get subfield value: subfield \(key) not found in JSON secret")
        case .string(let s)?: return s
        case .some(let other):
            throw failure(
                "could not get subfield value: unexpected \(Self.luaType(other)) value in JSON secret for subfield \(key)")
        }
    }

    private static func luaType(_ value: Value) -> String {
        switch value {
        case .bool: "boolean"
        case .integer, .number: "number"
        case .array, .object: "table"
        default: "string"
        }
    }
}
