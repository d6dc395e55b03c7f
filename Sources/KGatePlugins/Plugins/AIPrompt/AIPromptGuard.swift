import KGateRegex
import KGateSchema
import Logging

/// Kong's `ai-prompt-guard` (PRIORITY 771, `kong/plugins/ai-prompt-guard`): checks the prompts
/// of an `llm/v1/chat` or `llm/v1/completions` request body against `deny_patterns` and
/// `allow_patterns` (`ngx.re.find` regexes) and refuses with 400 `bad request`, without saying
/// why (the reason is logged at debug level).
///
/// The text checked is the `user` messages (every role's with `match_all_roles`), latest
/// first, each followed by a space; only the latest with `allow_all_conversation_history`;
/// else the completion's `prompt`.
public struct AIPromptGuardPlugin: Plugin {
    /// The parsed config.
    public struct Config: Sendable {
        var allow: [Pattern]
        var deny: [Pattern]
        var latestOnly: Bool
        var allRoles: Bool
        var maxBodySize: Int
    }

    /// A configured regex, or why PCRE refused it (a request then gets 500, as Kong's
    /// `ngx.re.find` fails at run time).
    struct Pattern: Sendable {
        var source: String
        var regex: Result<PCRERegex, PCREError>

        /// Compiles `source` as `ngx.re` does under Kong, whose `nginx_http_lua_regex_match_limit`
        /// (100,000) bounds backtracking: a pathological pattern fails the request (500) instead
        /// of holding the event loop.
        init(_ source: String) {
            self.source = source
            regex = Result { () throws(PCREError) in try PCRERegex(source, matchLimit: PCRERegex.pluginMatchLimit) }
        }
    }

    /// `ai-prompt-guard`.
    public static let name = "ai-prompt-guard"
    /// 771.
    public static let priority = 771
    /// access.
    public static let phases: PluginPhases = [.access]

    /// Kong's schema.
    public static let schema: Schema = {
        let patterns = Field.array(
            of: Field.string.with {
                $0.lenMin = 1
                $0.lenMax = 500
            }
        ).with { $0.lenMax = 10 }
        return .plugin(
            name,
            config: [
                ("allow_patterns", patterns),
                ("deny_patterns", patterns),
                ("allow_all_conversation_history", Field.boolean.isRequired.defaulting(false)),
                ("max_request_body_size", LLMRequest.maxBodySizeField),
                ("match_all_roles", Field.boolean.isRequired.defaulting(false)),
                ("llm_format", LLMRequest.formatField),
            ],
            checks: [
                .atLeastOneOf(["config.allow_patterns", "config.deny_patterns"]),
                .conditional(
                    .init(
                        ifField: "config.match_all_roles", ifMatch: { $0.eq = true },
                        thenField: "config.allow_all_conversation_history", thenMatch: { $0.eq = false })),
            ])
    }()

    private let logger: Logger

    /// Makes the plugin; refusals are logged to `logger` at debug level.
    public init(logger: Logger = Logger(label: "kgate.plugins")) {
        self.logger = logger
    }

    public func makeConfig(_ config: Object, scope: PluginScope) throws -> Config {
        func patterns(_ name: String) -> [Pattern] {
            (config[name]?.sequenceElements ?? []).compactMap(\.stringValue).map(Pattern.init)
        }
        return Config(
            allow: patterns("allow_patterns"), deny: patterns("deny_patterns"),
            latestOnly: config.bool("allow_all_conversation_history"), allRoles: config.bool("match_all_roles"),
            maxBodySize: Int(config.number("max_request_body_size") ?? 8192))
    }

    public func requestBodyNeed(_ config: Config) -> RequestBodyNeed { .alwaysWithSpooled }

    public func access(_ config: Config, _ ctx: inout PluginContext) throws {
        guard let body = LLMRequest.inUse(&ctx, maxBodySize: config.maxBodySize).body else {
            return try LLMRequest.badRequest("this LLM route only supports application/json requests", &ctx)
        }
        switch try Self.check(body, config) {
        case .allowed:
            return
        case .refused(let reason):
            logger.debug("\(reason)")
            try LLMRequest.badRequest("bad request", &ctx)
        case .badPattern(let pattern, let error):
            logger.error("bad regex pattern '\(pattern)', failed to execute: \(error)")
            try ctx.exit(500)
        }
    }

    /// What the guard decided.
    enum Verdict: Equatable {
        case allowed
        /// Refused, with the reason Kong logs.
        case refused(String)
        /// A pattern that does not compile or failed to run.
        case badPattern(String, String)
    }

    static let badFormat = "ai-prompt-guard only supports llm/v1/chat or llm/v1/completions prompts"

    /// Kong's `execute`: the prompts collected, then the deny patterns, then the allow ones.
    static func check(_ body: Value, _ config: Config) throws -> Verdict {
        let prompts: String
        switch collectPrompts(body, config) {
        case .success(let text): prompts = text
        case .failure(let error): return .refused(error.description)
        }
        for pattern in config.deny {
            switch find(pattern, in: prompts) {
            case .failed(let error): return .badPattern(pattern.source, error)
            case .found: return .refused("prompt pattern is blocked")
            case .notFound: continue
            }
        }
        if config.allow.isEmpty { return .allowed }
        for pattern in config.allow {
            switch find(pattern, in: prompts) {
            case .failed(let error): return .badPattern(pattern.source, error)
            case .found: return .allowed
            case .notFound: continue
            }
        }
        return .refused("prompt doesn't match any allowed pattern")
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String { AIPromptGuardPlugin.badFormat }
    }

    /// The text the patterns are matched against.
    static func collectPrompts(_ body: Value, _ config: Config) -> Result<String, FormatError> {
        let messages = body.objectValue?["messages"]
        switch messages {
        case .array(let list)?:
            var text = ""
            for message in list.reversed() {
                guard case .string(let role)? = message.objectValue?["role"] else { return .failure(FormatError()) }
                guard role == "user" || config.allRoles else { continue }
                guard case .string(let content)? = message.objectValue?["content"] else { return .failure(FormatError()) }
                text += content
                if config.latestOnly { break }
                // A separator, so words of two messages do not join.
                text += " "
            }
            return .success(text)
        case .object?:
            // A table without an array part: nothing to collect.
            return .success("")
        default:
            guard case .string(let prompt)? = body.objectValue?["prompt"] else { return .failure(FormatError()) }
            return .success(prompt)
        }
    }

    /// What `ngx.re.find` answered.
    enum Find {
        case found, notFound
        /// The pattern does not compile or the match failed (the error's text).
        case failed(String)
    }

    /// `ngx.re.find(text, pattern, "jo")`: whether the pattern matches anywhere in `text`.
    static func find(_ pattern: Pattern, in text: String) -> Find {
        switch pattern.regex {
        case .failure(let error):
            return .failed(error.description)
        case .success(let regex):
            do throws(PCREError) {
                return try regex.firstMatch(in: text) != nil ? .found : .notFound
            } catch {
                return .failed(error.description)
            }
        }
    }
}
