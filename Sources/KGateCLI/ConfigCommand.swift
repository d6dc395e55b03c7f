import ArgumentParser
import KGateConfig
import KGatePlugins
import KGateServer
import KGateSettings
import KGateSchema
import KGateStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `kgate config`: work with declarative configuration files (Kong's `kong config`).
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Use declarative configuration files with kgate.",
        subcommands: [ParseCommand.self, InitCommand.self, DatabaseImportCommand.self, DatabaseExportCommand.self]
    )
}

/// `kgate config parse <file>`: validate a config without running a gateway.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse a declarative config file (check its syntax and contents) without loading it.",
        discussion: """
            Exit status 0 and `parse successful` when the file is valid. Otherwise exit status 1 \
            and, on stderr, every error as Kong prints it, each with its file:line:column.

            With --json the result goes to stdout as one JSON object: on success \
            {"status":"ok","hash":...,"counts":{...}}; on failure Kong's code-14 error body \
            with `flattened_errors` (as POST /config?flatten_errors=1 returns it), each entry \
            and error carrying a `source` {file, line, column}.
            """
    )

    @Argument(help: "The declarative configuration file (.yml, .yaml or .json).")
    var file: String

    @Flag(name: .long, help: "Print the result as JSON on stdout (for CI tools).")
    var json = false

    /// Kong's `-c`/`-p`: the `plugins` the file may use come from these settings, or from the
    /// `.kong_env` of a node that ran with the prefix.
    @OptionGroup var node: NodeOptions

    func run() throws {
        let console = Console.current
        let plugins = NodePlugins(settings: try node.runningSettings())
        switch DeclarativeLoader(catalog: plugins.catalog).load(path: file) {
        case .success(let config):
            let unsupported = plugins.unsupported(in: config)
            if !unsupported.isEmpty {
                let message = unsupported.map { "\($0) plugin is in use but not implemented by kgate" }
                    .joined(separator: "\n")
                if json {
                    console.out(KongJSONEncoder().encode(["status": "error", "message": .string(message)]) + "\n")
                } else {
                    console.err("Error: Failed parsing:\n\(message)\n")
                }
                throw ExitCode(1)
            }
            // What `kgate start` checks past the schemas: each plugin config made for running
            // (grpc-gateway's .proto files read, ai-proxy's provider).
            do {
                _ = try PluginRunner(page: Page(config: config, catalog: plugins.catalog), registry: plugins.registry)
            } catch {
                if json {
                    console.out(KongJSONEncoder().encode(["status": "error", "message": .string("\(error)")]) + "\n")
                } else {
                    console.err("Error: Failed parsing:\n\(error)\n")
                }
                throw ExitCode(1)
            }
            if json {
                console.out(KongJSONEncoder().encode(Self.successValue(config)) + "\n")
            } else {
                console.out("parse successful\n")
            }
        case .failure(let error):
            if json {
                console.out(KongJSONEncoder().encode(Self.failureValue(error)) + "\n")
            } else {
                console.err(CLIErrorText.render(error))
            }
            throw ExitCode(1)
        }
    }

    /// `{"status":"ok","hash":...,"counts":{<entity>: n, ...}}`, entity names sorted.
    static func successValue(_ config: DeclarativeConfig) -> Value {
        var counts = Object()
        for name in config.entities.keys.sorted() where config.count(of: name) > 0 {
            counts[name] = .integer(config.count(of: name))
        }
        return ["status": "ok", "hash": .string(config.hash), "counts": .object(counts)]
    }

    /// Kong's flattened error body; for a text that did not parse, the plain body with an empty
    /// `flattened_errors` and the parser's `source`.
    static func failureValue(_ error: DeclarativeError) -> Value {
        if let document = error.document {
            return KongErrorBody.flattenedObject(
                fields: error.fields, input: document.value, positions: ErrorPositions(document: document))
        }
        guard case .object(var body) = KongErrorBody.object(fields: error.fields) else { return .null }
        body["flattened_errors"] = .array([])
        if let mark = error.syntaxMark {
            var source = Object()
            if let file = error.fileName { source["file"] = .string(file) }
            source["line"] = .integer(mark.line)
            source["column"] = .integer(mark.column)
            body["source"] = .object(source)
        }
        return .object(body)
    }
}

/// `kgate config init [file]`: write a commented example config.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Generate an example config file to get you started.",
        discussion: "Refuses to overwrite an existing file."
    )

    @Argument(help: "Where to write it.")
    var file: String = ConfigTemplate.defaultFileName

    @OptionGroup var verbosity: Verbosity

    func run() throws {
        let path = FilePath.absolute(file)
        if access(path, F_OK) == 0 {
            throw fail("\(path) already exists.\nWill not overwrite it.")
        }
        if let problem = FilePath.write(ConfigTemplate.text, to: path) {
            throw fail("\(path): \(problem)")
        }
    }
}

/// `kgate config db_import <file>`: Kong's database-only import. kgate is always DB-less
/// (`database = off`), so it refuses as Kong does in that mode.
struct DatabaseImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db_import", abstract: "Kong's database import; kgate has no database (use POST /config).")

    @Argument var file: String?
    @OptionGroup var node: NodeOptions

    func run() throws {
        throw fail(
            "'kgate config db_import' only works with a database.\n"
                + "When using database=off, reload your declarative configuration\n"
                + "using the /config endpoint.")
    }
}

/// `kgate config db_export [<file>]`: Kong's database-only export, refused as Kong refuses it
/// with `database = off`.
struct DatabaseExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db_export", abstract: "Kong's database export; kgate has no database.")

    @Argument var file: String?
    @OptionGroup var node: NodeOptions

    func run() throws {
        throw fail("'kgate config db_export' only works with a database.")
    }
}

/// The little file handling the CLI needs, without Foundation.
enum FilePath {
    /// Penlight's `path.abspath`: joined to the working directory, `.`/`..`/`//` normalised.
    static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let cwd = getcwd(&buffer, buffer.count).map { _ in
                String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            } ?? "."
            full = cwd + "/" + path
        }
        var parts: [Substring] = []
        for part in full.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Writes `text` to a new file (mode 0644); returns the system's message on failure.
    static func write(_ text: String, to path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return writeAll(to: fd, text.utf8).map { String(cString: strerror($0)) }
    }
}
