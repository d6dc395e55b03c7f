import KGateConfig
import KGateSchema

extension NodeSettings {
    /// Combines the sources into settings: defaults < kong.conf < `KONG_*` environment < flags.
    ///
    /// Each property takes the value of the highest source that sets it; only that value is
    /// checked. Every problem is reported at once, each with its source
    /// (`kong.conf:12: …`, `KONG_PROXY_LISTEN: …`, `--admin-listen: …`).
    ///
    /// - Parameters:
    ///   - file: a parsed kong.conf, if any.
    ///   - environment: the process environment (or a test's); only `KONG_*` names are read.
    ///   - flags: flag values by name (see ``FlagOverrides``).
    ///   - bundledPlugins: what `plugins = bundled` stands for; nil keeps the `bundled` token.
    public static func resolve(
        file: KongConfFile?, environment: [String: String], flags: [String: String],
        bundledPlugins: [String]? = nil
    ) throws(SettingsError) -> NodeSettings {
        let (overrides, flagProblems) = FlagOverrides.scan(flags)
        return try combine(
            file: file, environment: EnvironmentSource(environment), flags: overrides, problems: flagProblems,
            bundledPlugins: bundledPlugins)
    }

    /// Combines sources already read: defaults < `file` < `environment` < `flags`.
    public static func resolve(
        file: KongConfFile?, environment: EnvironmentSource, flags: FlagOverrides,
        bundledPlugins: [String]? = nil
    ) throws(SettingsError) -> NodeSettings {
        try combine(file: file, environment: environment, flags: flags, problems: [], bundledPlugins: bundledPlugins)
    }

    /// Parses kong.conf text (if any) and resolves, reporting the file's syntax errors and
    /// unknown properties together with every other problem.
    public static func load(
        kongConf text: String?, path: String = "kong.conf", environment: [String: String],
        flags: [String: String], bundledPlugins: [String]? = nil
    ) throws(SettingsError) -> NodeSettings {
        let (file, fileProblems) = text.map { KongConfFile.scan($0, path: path) } ?? (nil, [])
        let (overrides, flagProblems) = FlagOverrides.scan(flags)
        return try combine(
            file: file, environment: EnvironmentSource(environment), flags: overrides,
            problems: fileProblems + flagProblems, bundledPlugins: bundledPlugins)
    }

    /// Applies the last assignment of each property over the defaults, then checks listeners;
    /// keeps the last of each ignored property (environment after file). `{vault://...}`
    /// references in values are replaced by their secrets first (``dereferenced(_:with:)``),
    /// read from `environment`'s variables.
    static func combine(
        file: KongConfFile?, environment: EnvironmentSource, flags: FlagOverrides,
        problems earlier: [SettingsError.Problem], bundledPlugins: [String]?
    ) throws(SettingsError) -> NodeSettings {
        var winning: [String: SettingAssignment] = [:]
        for assignment in [file?.assignments ?? [], environment.assignments, flags.assignments].joined() {
            winning[assignment.property] = assignment
        }
        let vault = VaultResolver(vaults: [], environment: environment.variables)
        var settings = NodeSettings()
        var lastIgnored: [String: SettingAssignment] = [:]
        for assignment in (file?.ignored ?? []) + environment.ignored { lastIgnored[assignment.property] = assignment }
        settings.ignoredProperties = lastIgnored.values.sorted { $0.property < $1.property }
        var problems = earlier
        let context = Property.Context(bundledPlugins: bundledPlugins)
        for property in Property.all {
            guard let assignment = winning[property.name] else { continue }
            let written = ValueSyntax.trim(assignment.value)
            let value: String
            do {
                value = try Self.dereferenced(written, with: vault)
            } catch {
                problems.append(.init(
                    source: assignment.source, property: property.name,
                    message: "failed to dereference '\(error.reference)': \(error.reason) for config option '\(property.name)'"))
                continue
            }
            if value != written { settings.references[property.name] = written }
            do {
                try property.apply(&settings, value, context)
            } catch {
                problems += error.messages.map {
                    SettingsError.Problem(source: assignment.source, property: property.name, message: $0)
                }
            }
        }
        if let bundledPlugins, winning["plugins"] == nil {
            settings.plugins = settings.expandingBundledPlugins(bundledPlugins)
        }
        problems += settings.listenerConflicts { winning[$0]?.source }
        for (prefix, pair) in settings.certificatePairs
        where !problems.contains(where: { $0.property == prefix + "ssl_cert" || $0.property == prefix + "ssl_cert_key" }) {
            problems += NodeSettings.certificatePairProblems(prefix: prefix, pair) { winning[$0]?.source }
        }
        guard problems.isEmpty else {
            let ordered = problems.enumerated().sorted { a, b in
                let (ka, kb) = (a.element.source.sortKey, b.element.source.sortKey)
                return ka != kb ? ka < kb : a.offset < b.offset
            }
            throw SettingsError(problems: ordered.map(\.element))
        }
        return settings
    }

    /// Two listeners of different properties on the same port and overlapping hosts.
    /// Reported at the later property's source, or the earlier one's when only it was set.
    func listenerConflicts(source: (String) -> SettingSource?) -> [SettingsError.Problem] {
        let lists = [
            ("proxy_listen", proxyListen), ("stream_listen", streamListen.filter { !$0.udp }), ("admin_listen", adminListen),
            ("status_listen", statusListen),
        ]
        var problems: [SettingsError.Problem] = []
        for (i, (laterName, later)) in lists.enumerated() {
            for (earlierName, earlier) in lists[..<i] {
                for a in later {
                    guard let b = earlier.first(where: { $0.conflicts(with: a) }) else { continue }
                    let at = source(laterName) ?? source(earlierName) ?? .defaults
                    problems.append(.init(
                        source: at, property: laterName,
                        message: ValueSyntax.invalidEntry(
                            laterName, a.description,
                            "\(a.hostAndPort) is also used by '\(earlierName)' entry '\(b.description)'")))
                }
            }
        }
        return problems
    }
}

extension NodeSettings {
    /// The certificate settings by name prefix (`ssl_cert`, `admin_ssl_cert`, `status_ssl_cert`,
    /// and `client_ssl_cert`, which Kong only checks with `client_ssl` on).
    var certificatePairs: [(prefix: String, pair: (certificates: [PEMFile], keys: [PEMFile]))] {
        [("", (sslCert, sslCertKey)), ("admin_", (adminSSLCert, adminSSLCertKey)), ("status_", (statusSSLCert, statusSSLCertKey))]
            + (clientSSL ? [("client_", (clientSSLCert, clientSSLCertKey))] : [])
    }

    /// Kong's pairing rule (`kong/conf_loader/parse.lua`): as many `<prefix>ssl_cert_key` as
    /// `<prefix>ssl_cert`.
    static func certificatePairProblems(
        prefix: String, _ pair: (certificates: [PEMFile], keys: [PEMFile]), source: (String) -> SettingSource?
    ) -> [SettingsError.Problem] {
        let (certs, keys) = (pair.certificates.count, pair.keys.count)
        let (cert, key) = (prefix + "ssl_cert", prefix + "ssl_cert_key")
        let (property, message): (String, String)
        if certs > 0, keys == 0 {
            (property, message) = (key, "\(key) must be specified")
        } else if keys > 0, certs == 0 {
            (property, message) = (cert, "\(cert) must be specified")
        } else if certs != keys {
            (property, message) = (key, "\(cert) was specified \(certs) times while \(key) was specified \(keys) times")
        } else {
            return []
        }
        let at = source(property) ?? source(property == cert ? key : cert) ?? .defaults
        return [SettingsError.Problem(source: at, property: property, message: message)]
    }
}

extension ListenAddress {
    /// Same port (not 0) on the same host, or on a wildcard host of the same family.
    func conflicts(with other: ListenAddress) -> Bool {
        guard port == other.port, port != 0 else { return false }
        if host == other.host { return true }
        guard isIPv6 == other.isIPv6 else { return false }
        let wildcards: Set<String> = ["0.0.0.0", "*", "::"]
        return wildcards.contains(host) || wildcards.contains(other.host)
    }
}

extension NodeSettings {
    /// A value with its `{vault://...}` references replaced by their secrets, as Kong's
    /// conf_loader dereferences them: the whole value, or entries of a comma-separated list.
    static func dereferenced(_ value: String, with vault: VaultResolver) throws(VaultResolutionError) -> String {
        guard value.contains("{vault://") else { return value }
        if VaultReference.isReference(value) { return try vault.resolve(value) }
        var entries: [String] = []
        for entry in value.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = ValueSyntax.trim(entry)
            entries.append(VaultReference.isReference(trimmed) ? try vault.resolve(trimmed) : String(entry))
        }
        return entries.joined(separator: ",")
    }
}
