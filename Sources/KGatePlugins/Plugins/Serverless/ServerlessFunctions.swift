import KGateLua
import KGateSchema

/// Kong's serverless functions, `pre-function` (PRIORITY 1000000, before every other plugin)
/// and `post-function` (PRIORITY -1000, after them): Lua code strings per phase, run in
/// LuaJIT with Kong's PDK (``LuaPDK``) in Kong's sandbox (`untrusted_lua`).
///
/// As in Kong, each string is compiled once per config (on each event loop); a chunk whose
/// first run returns a function has that function run from then on, so its upvalues persist
/// across requests. `kong.response.exit` and `ngx.exit` end the phase; an error in the code is
/// Kong's plugin failure (500 in `rewrite` and `access`).
public struct ServerlessFunctionPlugin<Kind: ServerlessFunctionKind>: Plugin {
    public typealias Config = ServerlessConfig

    public static var name: String { Kind.name }
    public static var priority: Int { Kind.priority }
    /// Every phase Kong's handler has; a config runs only those it has code for
    /// (``phases(of:)``).
    public static var phases: PluginPhases { [.certificate, .rewrite, .access, .headerFilter, .bodyFilter, .log] }
    public static var schema: Schema { ServerlessFunctionSchema.schema(Kind.name) }

    /// How the code runs (`untrusted_lua`).
    let mode: LuaCodeMode
    /// `kong.node.get_id()`.
    let nodeID: String
    /// `kong.configuration`.
    let settings: LuaNodeSettings

    /// The plugin for a node's `untrusted_lua` setting, id (a random UUID when nil) and
    /// settings.
    public init(mode: LuaCodeMode = .sandbox, nodeID: String? = nil, settings: LuaNodeSettings = LuaNodeSettings()) {
        self.mode = mode
        self.nodeID = nodeID ?? CorrelationIDPlugin.uuid()
        self.settings = settings
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> ServerlessConfig {
        var code: [PluginPhase: [String]] = [:]
        for phase in ServerlessFunctionSchema.phases {
            let strings = config[phase.rawValue]?.arrayValue?.compactMap(\.stringValue) ?? []
            if !strings.isEmpty { code[phase] = strings }
        }
        return ServerlessConfig(code: code, mode: mode, nodeID: nodeID, settings: settings)
    }

    public func phases(of config: ServerlessConfig) -> PluginPhases {
        config.code.keys.reduce(into: PluginPhases()) { $0.insert(PluginPhases($1)) }
    }

    /// The body is read before `access` when the code reads it (Kong's `ngx.req.read_body`
    /// happens on demand; kgate's proxy decides before the phase).
    public func requestBodyNeed(_ config: ServerlessConfig) -> RequestBodyNeed {
        config.readsRequestBody ? .always : .never
    }

    public func certificate(_ config: ServerlessConfig, _ ctx: inout PluginContext) throws {
        try LuaRuntime.current.run(config, .certificate, plugin: Kind.name, &ctx)
    }

    public func rewrite(_ config: ServerlessConfig, _ ctx: inout PluginContext) throws {
        try LuaRuntime.current.run(config, .rewrite, plugin: Kind.name, &ctx)
    }

    public func access(_ config: ServerlessConfig, _ ctx: inout PluginContext) throws {
        try LuaRuntime.current.run(config, .access, plugin: Kind.name, &ctx)
    }

    public func headerFilter(_ config: ServerlessConfig, _ ctx: inout PluginContext) throws {
        try LuaRuntime.current.run(config, .headerFilter, plugin: Kind.name, &ctx)
    }

    public func bodyFilter(_ config: ServerlessConfig, _ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) throws {
        try withUnsafeMutablePointer(to: &chunk) { pointer throws(LuaPhaseError) in
            try LuaRuntime.current.run(config, .bodyFilter, plugin: Kind.name, &ctx, chunk: pointer, last: last)
        }
    }

    public func log(_ config: ServerlessConfig, _ ctx: inout PluginContext) {
        do {
            try LuaRuntime.current.run(config, .log, plugin: Kind.name, &ctx)
        } catch {
            ctx.logger.error("\(error)", metadata: ["phase": "log"])
        }
    }
}

/// Which serverless function a ``ServerlessFunctionPlugin`` is.
public protocol ServerlessFunctionKind: Sendable {
    static var name: String { get }
    static var priority: Int { get }
}

/// `pre-function`.
public enum PreFunction: ServerlessFunctionKind {
    public static let name = "pre-function"
    public static let priority = 1_000_000
}

/// `post-function`.
public enum PostFunction: ServerlessFunctionKind {
    public static let name = "post-function"
    public static let priority = -1000
}

/// A serverless function config: its code strings by phase.
public final class ServerlessConfig: Sendable {
    /// The code strings of each phase that has some.
    let code: [PluginPhase: [String]]
    let mode: LuaCodeMode
    let nodeID: String
    let settings: LuaNodeSettings
    /// Code of `rewrite` or `access` reads or replaces the request body.
    let readsRequestBody: Bool

    init(code: [PluginPhase: [String]], mode: LuaCodeMode, nodeID: String, settings: LuaNodeSettings) {
        self.code = code
        self.mode = mode
        self.nodeID = nodeID
        self.settings = settings
        let early = (code[.rewrite] ?? []) + (code[.access] ?? [])
        readsRequestBody = early.contains { text in
            // Reading the body, or replacing it (the client's must be in before it is replaced).
            ["get_raw_body", "get_body", "read_body", "get_post_args", "get_body_data", "set_raw_body", "set_body"]
                .contains { text.contains($0) }
        }
    }
}

/// Kong's `pre-function` / `post-function` schema (`kong/plugins/pre-function/_schema.lua`).
enum ServerlessFunctionSchema {
    static let phases: [PluginPhase] = [.certificate, .rewrite, .access, .headerFilter, .bodyFilter, .log]

    static func schema(_ name: String) -> Schema {
        let code = Field.string.with {
            $0.customValidator = { value in
                guard let text = value.stringValue else { return nil }
                return LuaVM.current.syntaxError(in: text).map { "error parsing \(name): \($0)" }
            }
        }
        let phase = Field.array(of: code).isRequired.defaulting(.array([]))
        let paths = phases.map { "config." + $0.rawValue }
        return Schema(
            name: name, primaryKey: [],
            fields: [("config", Field.record(Schema.record(phases.map { ($0.rawValue, phase) })))],
            entityChecks: [.atLeastOneOf(paths)])
    }
}
