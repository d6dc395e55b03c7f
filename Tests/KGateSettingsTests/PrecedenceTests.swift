import Testing

@testable import KGateSettings

/// defaults < kong.conf < `KONG_*` environment < flags, and how each source reads its input.
struct PrecedenceTests {
    static let file = "declarative_config = /from/file.yml\nproxy_listen = 127.0.0.1:1001\nlog_level = info"

    /// (environment, flags, expected declarative_config, proxy port, log level)
    @Test(arguments: [
        ([:], [:], "/from/file.yml", 1001, LogLevel.info),
        (["KONG_DECLARATIVE_CONFIG": "/from/env.yml"], [:], "/from/env.yml", 1001, .info),
        (["KONG_PROXY_LISTEN": "127.0.0.1:2002", "KONG_LOG_LEVEL": "error"], [:], "/from/file.yml", 2002, .error),
        (
            ["KONG_DECLARATIVE_CONFIG": "/from/env.yml", "KONG_PROXY_LISTEN": "127.0.0.1:2002"],
            ["declarative-config": "/from/flag.yml"], "/from/flag.yml", 2002, .info
        ),
        ([:], ["--proxy-listen": "127.0.0.1:3003"], "/from/file.yml", 3003, .info),
        (["KONG_PROXY_LISTEN": "127.0.0.1:2002"], ["proxy-listen": "127.0.0.1:3003"], "/from/file.yml", 3003, .info),
    ] as [([String: String], [String: String], String, Int, LogLevel)])
    func layers(env: [String: String], flags: [String: String], config: String, port: Int, level: LogLevel) throws {
        let s = try settings(Self.file, env: env, flags: flags)
        #expect(s.declarativeConfig == config)
        #expect(s.proxyListen.map(\.port) == [port])
        #expect(s.logLevel == level)
    }

    @Test func everyFlag() throws {
        let s = try settings(flags: [
            "declarative-config": "kong.yml", "proxy-listen": "off", "admin-listen": "127.0.0.1:9001",
            "status-listen": "off", "prefix": "/var/run/kgate",
        ])
        #expect(s.declarativeConfig == "kong.yml")
        #expect(s.proxyListen == [])
        #expect(s.adminListen == [.init(host: "127.0.0.1", port: 9001)])
        #expect(s.statusListen == [])
        #expect(s.prefix == "/var/run/kgate")
    }

    @Test func unknownFlag() {
        let expected =
            "--log-level: unknown flag (expected one of: --declarative-config, --proxy-listen, --admin-listen, "
            + "--status-listen, --prefix)"
        #expect(problems(flags: ["--log-level": "debug"]) == [expected])
        #expect(throws: SettingsError.self) { try FlagOverrides(["log-level": "debug"]) }
    }

    /// Only the winning value is checked: a bad file value overridden by the environment is fine.
    @Test func onlyTheWinningValueIsChecked() throws {
        #expect(try settings("router_flavor = fast", env: ["KONG_ROUTER_FLAVOR": "expressions"]).routerFlavor == .expressions)
        #expect(problems("router_flavor = expressions", env: ["KONG_ROUTER_FLAVOR": "fast"]) == [
            "KONG_ROUTER_FLAVOR: invalid value for 'router_flavor': 'fast' "
                + "(expected one of: traditional, traditional_compatible, expressions)",
        ])
    }

    @Test func environmentNames() throws {
        #expect(EnvironmentSource.variable(for: "nginx_worker_processes") == "KONG_NGINX_WORKER_PROCESSES")
        let env = EnvironmentSource([
            "KONG_DATABASE": "off", "KONG_LOG_LEVEL": "debug", "kong_log_level": "error", "KONG_log_level": "error",
            "KONG_VERSION": "3.9", "KONG_MEM_CACHE_SIZE": "1g", "KONG_NGINX_HTTP_GZIP_BUFFERS": "16 8k", "PATH": "/bin",
            "KONG_ADMIN_TOKEN": "t",
        ])
        #expect(env.assignments.map(\.property) == ["log_level", "database", "admin_token"])
        #expect(env.assignments.map(\.source) == [
            .environment(variable: "KONG_LOG_LEVEL"), .environment(variable: "KONG_DATABASE"),
            .environment(variable: "KONG_ADMIN_TOKEN"),
        ])
        #expect(env.ignored.map(\.property) == ["mem_cache_size", "nginx_http_gzip_buffers"])
        #expect(try NodeSettings.resolve(file: nil, environment: env, flags: try FlagOverrides([:])).logLevel == .debug)
    }

    /// `{vault://...}` references in values are read with the env vault, as Kong's conf_loader
    /// dereferences them (whole values and list entries); `.kong_env` and the Admin API's
    /// `configuration` keep the references, and one without a value is refused.
    @Test func vaultReferencesAreDereferenced() throws {
        let env = [
            "KONG_ADMIN_TOKEN": "{vault://env/admin-token}", "ADMIN_TOKEN": "t0ken", "EXTRA_IP": "10.0.0.9",
            "LEVEL": #"{"log": "warn"}"#,
        ]
        let s = try settings("trusted_ips = 10.0.0.1, {vault://env/extra-ip}\nlog_level = {vault://env/level/log}", env: env)
        #expect(s.adminToken == "t0ken")
        #expect(s.trustedIPs == ["10.0.0.1", "10.0.0.9"])
        #expect(s.logLevel == .warn)
        #expect(s.references == [
            "admin_token": "{vault://env/admin-token}", "trusted_ips": "10.0.0.1, {vault://env/extra-ip}",
            "log_level": "{vault://env/level/log}",
        ])
        #expect(s.kongEnvText.contains("admin_token = {vault://env/admin-token}\n"))
        #expect(s.kongEnvText.contains("trusted_ips = 10.0.0.1, {vault://env/extra-ip}\n"))
        #expect(!s.kongEnvText.contains("t0ken"))
        #expect(s.redactedDictionary["log_level"] == "{vault://env/level/log}")
        #expect(s.redactedDictionary["admin_token"] == NodeSettings.redactedPlaceholder)
        #expect(problems("log_level = {vault://env/nope}") == [
            "kong.conf:1: failed to dereference '{vault://env/nope}': no value found for config option 'log_level'"
        ])
    }

    /// The settings keep the last assignment of each property kgate ignores, for the node to
    /// name them at start (the environment wins over the file, as for every property).
    @Test func ignoredPropertiesAreKept() throws {
        let s = try settings(
            "pg_host = db1\nnginx_proxy_brotli_buffers = 16 8k\nlog_level = warn",
            env: ["KONG_PG_HOST": "db2", "KONG_MEM_CACHE_SIZE": "1g"])
        #expect(s.ignoredProperties == [
            SettingAssignment(property: "mem_cache_size", value: "1g", source: .environment(variable: "KONG_MEM_CACHE_SIZE")),
            SettingAssignment(property: "nginx_proxy_brotli_buffers", value: "16 8k", source: .file(path: "kong.conf", line: 2)),
            SettingAssignment(property: "pg_host", value: "db2", source: .environment(variable: "KONG_PG_HOST")),
        ])
        #expect(try settings("log_level = warn", env: [:]).ignoredProperties.isEmpty)
    }

    /// Values from the environment are trimmed like file values; an empty value unsets optional ones.
    @Test func environmentValues() throws {
        let s = try settings(
            "declarative_config = /a.yml\ntrusted_ips = 10.0.0.1",
            env: ["KONG_LOG_LEVEL": "  warn \n", "KONG_DECLARATIVE_CONFIG": "", "KONG_TRUSTED_IPS": ""])
        #expect(s.logLevel == .warn)
        #expect(s.declarativeConfig == nil)
        #expect(s.trustedIPs == [])
    }

    /// A Kong Docker environment for DB-less mode works unchanged.
    @Test func kongDockerEnvironment() throws {
        let s = try settings(env: [
            "KONG_DATABASE": "off",
            "KONG_DECLARATIVE_CONFIG": "/kong/declarative/kong.yml",
            "KONG_PROXY_ACCESS_LOG": "/dev/stdout",
            "KONG_ADMIN_ACCESS_LOG": "/dev/stdout",
            "KONG_PROXY_ERROR_LOG": "/dev/stderr",
            "KONG_ADMIN_ERROR_LOG": "/dev/stderr",
            "KONG_ADMIN_LISTEN": "0.0.0.0:8001, 0.0.0.0:8444 ssl",
            "KONG_PREFIX": "/var/run/kong",
            "KONG_VERSION": "3.9.1",
        ])
        #expect(s.declarativeConfig == "/kong/declarative/kong.yml")
        #expect(s.adminListen == [.init(host: "0.0.0.0", port: 8001), .init(host: "0.0.0.0", port: 8444, ssl: true)])
        #expect(s.prefix == "/var/run/kong")
    }

    /// Problems from all sources come together, file lines first, then variables, then flags.
    @Test func everyProblemWithItsSource() {
        let messages = problems(
            "log_level = loud\nbogus = 1",
            env: ["KONG_ROUTER_FLAVOR": "fast", "KONG_DATABASE": "postgres"],
            flags: ["admin-listen": "nowhere", "colour": "red"])
        #expect(messages == [
            "kong.conf:1: invalid value for 'log_level': 'loud' "
                + "(expected one of: debug, info, notice, warn, error, crit, alert, emerg)",
            "kong.conf:2: unknown property 'bogus'",
            "KONG_DATABASE: invalid value for 'database': 'postgres' (kgate is DB-less and only supports 'off'; "
                + "load entities with 'declarative_config' or POST /config)",
            "KONG_ROUTER_FLAVOR: invalid value for 'router_flavor': 'fast' "
                + "(expected one of: traditional, traditional_compatible, expressions)",
            "--admin-listen: invalid entry for 'admin_listen': 'nowhere' "
                + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)",
            "--colour: unknown flag (expected one of: --declarative-config, --proxy-listen, --admin-listen, "
                + "--status-listen, --prefix)",
        ])
    }

    @Test func problemsCarryStructuredSources() {
        do {
            _ = try settings("log_level = loud", env: ["KONG_HEADERS": "nope"])
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.map(\.source) == [
                .file(path: "kong.conf", line: 1), .environment(variable: "KONG_HEADERS"),
            ])
            #expect(error.problems.map(\.property) == ["log_level", "headers"])
            #expect(error.description == error.messages.joined(separator: "\n"))
        }
    }

    @Test func sourceDescriptions() {
        #expect(SettingSource.defaults.description == "defaults")
        #expect(SettingSource.file(path: "a/kong.conf", line: 3).description == "a/kong.conf:3")
        #expect(SettingSource.environment(variable: "KONG_X").description == "KONG_X")
        #expect(SettingSource.flag(name: "proxy-listen").description == "--proxy-listen")
    }
}
