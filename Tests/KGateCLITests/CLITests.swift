import Foundation
import KGateConfig
import KGateSchema
import Synchronization
import KGateSettings
import Testing

@testable import KGateCLI

/// The `kgate` command line, run in-process.
@Suite struct CLITests {
    // MARK: - no config needed

    @Test func version() {
        // What `kong version` prints (04-version_spec); --all adds kgate's own version.
        let r = kgate("version")
        #expect(r.status == 0)
        #expect(r.out == "3.10.0\n")
        #expect(r.err.isEmpty)
        #expect(kgate("version", "-a").out == "Kong: 3.10.0\nkgate: \(KGateVersion.current)\n")
        #expect(kgate("version", "--all").status == 0)
        #expect(kgate("roar").out.contains("Kong, Monolith destroyer."))
        #expect(kgate("--version").out == "kgate \(KGateVersion.current) (Kong 3.10.0 compatible)\n")
    }

    @Test(arguments: [["--help"], ["config", "--help"], ["config", "parse", "--help"], ["config", "init", "--help"], ["help", "config"]])
    func helpEverywhere(_ arguments: [String]) {
        // As Penlight's lapp: help goes to stderr (07-health_spec "health help").
        let r = run(arguments)
        #expect(r.status == 0)
        #expect(r.err.contains("USAGE: kgate"))
        #expect(r.out.isEmpty)
    }

    @Test func usageErrors() {
        // Kong's lapp.quit: status 1, usage on stderr (01-cmds_spec).
        let missing = kgate("config", "parse")
        #expect(missing.status == 1)
        #expect(missing.err.contains("Missing expected argument '<file>'"))
        let unknown = kgate("frobnicate")
        #expect(unknown.status == 1)
        #expect(unknown.err.hasPrefix("No such command: frobnicate\n\nUsage: kgate COMMAND [OPTIONS]"))
        let bare = kgate()
        #expect(bare.status == 1)
        #expect(bare.out.isEmpty)
        #expect(bare.err.contains("kgate COMMAND [OPTIONS]"))
        #expect(kgate("config").status == 1)
        #expect(kgate("config", "foo").err.hasPrefix("No such command for config: foo"))
    }

    /// `02-cmd/02-start_stop_spec.lua` and `03-reload_spec.lua` errors: a missing `-c` file and
    /// a missing prefix, in Kong's words, with status 1.
    @Test func missingConfFileAndPrefix() throws {
        let missing = kgate("reload", "-c", "foobar.conf")
        #expect(missing.status == 1)
        #expect(missing.err == "Error: no file at: foobar.conf\n\n  Run with --v (verbose) or --vv (debug) for more details\n")
        let dir = try TempDir()
        let stop = kgate("stop", "--prefix", dir.path + "/inexistent")
        #expect(stop.status == 1)
        #expect(stop.err.hasPrefix("Error: no such prefix: \(dir.path)/inexistent\n"))
        let reload = kgate("reload", "--prefix", dir.path)
        #expect(reload.status == 1)
        #expect(reload.err.hasPrefix("Error: kgate is not running in \(dir.path)\n"))
    }

    /// `02-cmd/17-drain_spec.lua`: no status listener is said on standard output, status 0.
    @Test func drainWithoutAStatusListener() throws {
        let dir = try TempDir()
        let conf = try dir.write("kong.conf", "status_listen = off\nprefix = \(dir.path)/prefix\n")
        let r = kgate("drain", "-c", conf)
        #expect(r.status == 0)
        #expect(r.out == "No status listeners found in configuration.\n")
    }

    @Test func initWritesTheTemplateAndRefusesToOverwrite() throws {
        let dir = try TempDir()
        let path = dir.path + "/kong.yml"
        let first = kgate("config", "init", path)
        #expect(first.status == 0)
        #expect(first.out.isEmpty && first.err.isEmpty)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == ConfigTemplate.text)

        let second = kgate("config", "init", dir.path + "/./kong.yml")
        #expect(second.status == 1)
        #expect(
            second.err
                == "Error: \(path) already exists.\nWill not overwrite it.\n\n  Run with --v (verbose) or --vv (debug) for more details\n"
        )
    }

    @Test func absolutePaths() {
        #expect(FilePath.absolute("/a/./b/../c//d.yml") == "/a/c/d.yml")
        #expect(FilePath.absolute("x.yml").hasSuffix("/x.yml"))
        #expect(FilePath.absolute("x.yml").hasPrefix("/"))
    }

    @Test func templateTextIsKongsShape() {
        let text = ConfigTemplate.text
        #expect(text.contains("\n_format_version: \"3.0\"\n"))
        #expect(text.contains("\n_transform: true\n"))
        #expect(text.contains("\n_comment: This is a top level comment, and must be a string\n"))
        #expect(text.contains("\n_ignore:\n- This array entry will be ignored\n- as well as this one\n"))
        #expect(!text.contains(" \n"))
    }

    // MARK: - with the loader

    @Test func parseTheInitTemplate() throws {
        let dir = try TempDir()
        let path = dir.path + "/kong.yml"
        #expect(kgate("config", "init", path).status == 0)
        let r = kgate("config", "parse", path)
        #expect(r.status == 0)
        #expect(r.out == "parse successful\n")
        #expect(r.err.isEmpty)
    }

    @Test func parseReportsErrorsWithPositions() throws {
        let dir = try TempDir()
        let path = try dir.write("bad.yml", "_format_version: \"3.0\"\nservices:\n- name: a\n  port: -23\n")
        let r = kgate("config", "parse", path)
        #expect(r.status == 1)
        #expect(r.out.isEmpty)
        #expect(r.err.hasPrefix("Error: Failed parsing:\nin 'services': (\(path):2:1)\n  - in entry 1 of 'services': (\(path):3:3)\n"))
        #expect(r.err.contains("\n    in 'host': required field missing (\(path):3:3)\n"))
        #expect(r.err.contains("\n    in 'port': value should be between 0 and 65535 (\(path):4:9)\n"))
        #expect(r.err.hasSuffix("\n\n  Run with --v (verbose) or --vv (debug) for more details\n"))
    }

    /// Plugin configs are validated with the plugins' schemas; a plugin kgate lacks is refused
    /// at its name's position, unless it is a metrics/logging plugin, which is ignored.
    @Test func parseChecksPlugins() throws {
        let dir = try TempDir()
        let base = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x.test\n  plugins:\n"
        let badConfig = try dir.write("rl.yml", base + "  - name: rate-limiting\n    config: {second: \"x\"}\n")
        let r1 = kgate("config", "parse", badConfig)
        #expect(r1.status == 1)
        #expect(r1.err.contains("in 'second': expected a number (\(badConfig):7:22)"))

        let oauth2 = try dir.write("oauth2.yml", base + "  - name: oauth2\n")
        let r2 = kgate("config", "parse", oauth2)
        #expect(r2.status == 1)
        #expect(r2.err.contains("in 'name': plugin 'oauth2' is not implemented by kgate (\(oauth2):6:11)"))

        let zipkin = try dir.write("zipkin.yml", base + "  - name: zipkin\n")
        let r3 = kgate("config", "parse", zipkin)
        #expect(r3.status == 0)
        #expect(r3.out == "parse successful\n")
        #expect(r3.err == "")

        let prometheus = try dir.write("prom.yml", base + "  - name: prometheus\n")
        let r4 = kgate("config", "parse", prometheus)
        #expect(r4.status == 0)
        #expect(r4.err == "")

        // Past the schemas, each config is made as `kgate start` makes it.
        let gemini = try dir.write(
            "ai.yml",
            base + "  - name: ai-proxy\n    config: {route_type: llm/v1/chat, auth: {allow_override: false, gcp_use_service_account: true}, model: {provider: gemini, name: g}}\n")
        let r5 = kgate("config", "parse", gemini)
        #expect(r5.status == 1)
        #expect(r5.err.contains("ai-proxy: model.provider 'gemini' is not supported by kgate"))
    }

    @Test func parseJSONOnFailure() throws {
        let dir = try TempDir()
        let path = try dir.write("bad.yml", "_format_version: \"3.0\"\nservices:\n- name: a\n  port: -23\n")
        let r = kgate("config", "parse", "--json", path)
        #expect(r.status == 1)
        let body = try json(r.out)
        #expect(body["code"] == 14)
        #expect(body["fields"] == [:])
        #expect(body["message"] == "declarative config is invalid: {}")
        let entries = try #require(body["flattened_errors"]?.arrayValue)
        #expect(entries.count == 1)
        #expect(entries.first?["entity_type"] == "service")
        #expect(entries.first?["entity_name"] == "a")
        #expect(entries.first?["source"] == ["file": .string(path), "line": 3, "column": 3])
        let fields = entries.first?["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue }
        #expect(Set(fields ?? []) == ["host", "port"])
    }

    @Test func parseJSONOnSuccess() throws {
        let dir = try TempDir()
        let path = try dir.write(
            "ok.yml", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://example.com\n  routes:\n  - name: r\n    paths: [/]\n")
        let r = kgate("config", "parse", "--json", path)
        #expect(r.status == 0)
        let body = try json(r.out)
        #expect(body["status"] == "ok")
        #expect(body["hash"]?.stringValue?.count == 32)
        #expect(body["counts"]?["services"] == 1)
        #expect(body["counts"]?["routes"] == 1)
    }

    @Test func parseSyntaxErrorAndMissingFile() throws {
        let dir = try TempDir()
        let path = try dir.write("broken.yml", "services: [\n")
        let r = kgate("config", "parse", path)
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("Error: Failed parsing:\nfailed parsing declarative configuration"))
        let missing = kgate("config", "parse", dir.path + "/nope.yml")
        #expect(missing.status == 1)
        #expect(missing.err.hasPrefix("Error: Failed parsing:\n"))
    }

    // MARK: - node commands without a node

    /// Kong's `assert(conf_loader(...))`: a bad kong.conf is `Error: ...` with status 1 and the
    /// verbose hint, not a usage error (64) followed by usage text.
    @Test func badSettingsFailWithStatusOne() throws {
        let dir = try TempDir()
        let conf = try dir.write("invalid.conf", "untrusted_lua = foobar\n")
        for command in ["reload", "stop", "health", "quit", "drain"] {
            let r = kgate(command, "-c", conf)
            #expect(r.status == 1, "\(command)")
            #expect(r.err.hasPrefix("Error: \(conf):1: invalid value for 'untrusted_lua': 'foobar'"), "\(command)")
            #expect(r.err.hasSuffix("\n\n  Run with --v (verbose) or --vv (debug) for more details\n"), "\(command)")
            #expect(!r.err.contains("Usage"), "\(command)")
        }
    }

    /// Kong's conf_loader makes `prefix` absolute, so messages name the directory in full.
    @Test func prefixIsAbsolute() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/node", withIntermediateDirectories: true)
        let r = kgate("reload", "-p", dir.path + "/other/../node/")
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("Error: kgate is not running in \(dir.path)/node\n"))
    }

    /// `02-cmd/05-check_spec.lua`: `configuration at <conf> is valid`; each problem and a
    /// missing file as an `[error]` line on standard error, status 1.
    @Test func check() throws {
        let dir = try TempDir()
        let good = try dir.write("kong.conf", "database = off\nproxy_listen = 127.0.0.1:9000\n")
        let valid = kgate("check", good)
        #expect(valid.status == 0)
        #expect(valid.out == "configuration at \(good) is valid\n")
        #expect(valid.err.isEmpty)

        let bad = try dir.write("invalid.conf", "database = off\nuntrusted_lua = foobar\n")
        let invalid = kgate("check", bad)
        #expect(invalid.status == 1)
        #expect(invalid.out.isEmpty)
        #expect(invalid.err.contains(" [error] \(bad):2: invalid value for 'untrusted_lua': 'foobar'"))

        let missing = kgate("check", "inexistent.conf")
        #expect(missing.status == 1)
        #expect(missing.err.hasSuffix(" [error] no file at: inexistent.conf\n"))
    }

    /// `02-cmd/07-health_spec.lua` without a node: a missing prefix, a prefix no node ran in,
    /// and one whose node is gone.
    @Test func healthWithoutANode() throws {
        let dir = try TempDir()
        let inexistent = kgate("health", "--prefix", dir.path + "/inexistent")
        #expect(inexistent.status == 1)
        #expect(inexistent.err.hasPrefix("Error: no such prefix: \(dir.path)/inexistent\n"))

        let never = kgate("health", "-p", dir.path)
        #expect(never.status == 1)
        #expect(never.err.hasPrefix("Error: kgate is not running at \(dir.path)\n"))

        _ = try dir.write(".kong_env", "prefix = \(dir.path)\n")
        let gone = kgate("health", "-p", dir.path)
        #expect(gone.status == 1)
        #expect(gone.out == "kgate.......not running\n\n")
        #expect(gone.err.hasPrefix("Error: kgate is not running at \(dir.path)\n"))
    }

    /// `kgate quit` with no node: the prefix must exist and a node must run in it.
    @Test func quitWithoutANode() throws {
        let dir = try TempDir()
        let r = kgate("quit", "-p", dir.path)
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("Error: kgate is not running in \(dir.path)\n"))
        #expect(kgate("quit", "--timeout", "2", "-p", dir.path + "/inexistent").err.hasPrefix("Error: no such prefix: "))
    }

    /// Kong's `--v` and `--vv` are accepted by every command.
    @Test(arguments: [
        ["version", "--v"], ["version", "--vv"], ["config", "init", "--v"], ["check", "--vv"], ["stop", "--v"],
        ["config", "parse", "--vv"], ["health", "--v"], ["quit", "--vv"],
    ])
    func verboseFlagsAreAccepted(_ arguments: [String]) {
        let r = run(arguments + ["--help"])
        #expect(r.status == 0)
        #expect(r.err.contains("--vv"))
        // Kong's first verbose line (16-verbose_spec).
        #expect(r.out.contains("[verbose] Kong: 3.10.0\n"))
    }

    /// `--vv` lists the settings as Kong's CLI does: `[debug] name = value`, alphabetical,
    /// secrets redacted; `--v` says the prefix in use.
    @Test func verboseSettingsListing() throws {
        var settings = NodeSettings()
        settings.prefix = "/srv/kgate"
        settings.declarativeConfigString = "_format_version: '3.0'"
        let verbose = Mutex("")
        let capture = Console(out: { text in verbose.withLock { $0 += text } }, err: { _ in })
        let options = try Verbosity.parse(["--vv"])
        Console.$current.withValue(capture) {
            options.announce(settings, environment: ["KONG_ADMIN_LISTEN": "127.0.0.1:8001", "KONG_DECLARATIVE_CONFIG_STRING": "x"])
        }
        let lines = verbose.withLock { $0 }.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 2)[2] }
        #expect(lines.first == "[verbose] prefix in use: /srv/kgate")
        #expect(lines.contains("[debug] KONG_ADMIN_LISTEN ENV found with \"127.0.0.1:8001\""))
        #expect(lines.contains("[debug] KONG_DECLARATIVE_CONFIG_STRING ENV found with \"******\""))
        #expect(lines.contains("[debug] declarative_config_string = \"******\""))
        #expect(lines.contains("[debug] prefix = \"/srv/kgate\""))
        let names = lines.filter { $0.hasPrefix("[debug] ") && !$0.contains(" ENV found ") }.map { $0.split(separator: " ")[1] }
        #expect(names == names.sorted())
    }

    /// `11-config_spec.lua`: `kong config` takes `-c`/`-p`, and the settings decide which
    /// plugins a file may use; `db_import`/`db_export` are refused as with `database = off`.
    @Test func configTakesKongConf() throws {
        let dir = try TempDir()
        let conf = try dir.write("kong.conf", "plugins = off\nprefix = \(dir.path)/prefix\n")
        let yml = try dir.write(
            "kong.yml", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x.test\n  plugins:\n  - name: key-auth\n")
        #expect(kgate("config", "parse", yml).status == 0)
        let off = kgate("config", "parse", "-c", conf, yml)
        #expect(off.status == 1)
        #expect(off.err.contains("plugin 'key-auth' not enabled; add it to the 'plugins' configuration property"))

        let importing = kgate("config", "db_import", yml)
        #expect(importing.status == 1)
        #expect(
            importing.err.hasPrefix(
                "Error: 'kgate config db_import' only works with a database.\nWhen using database=off, reload your declarative configuration\nusing the /config endpoint.\n"
            ))
        let exporting = kgate("config", "db_export")
        #expect(exporting.status == 1)
        #expect(exporting.err.hasPrefix("Error: 'kgate config db_export' only works with a database.\n"))
    }

    // MARK: - helpers

    private func kgate(_ arguments: String...) -> (status: Int32, out: String, err: String) {
        run(arguments)
    }

    private func run(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
        let out = Mutex("")
        let err = Mutex("")
        let console = Console(
            out: { text in out.withLock { $0 += text } },
            err: { text in err.withLock { $0 += text } })
        let status = KGateCommand.run(arguments: arguments, console: console)
        return (status, out.withLock { $0 }, err.withLock { $0 })
    }

    private func json(_ text: String) throws -> Value {
        try ConfigText.parse(text, fileName: "out.json").get().value
    }
}

/// A temporary directory removed when the value goes away.
private final class TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "kgate-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
