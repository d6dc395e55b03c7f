#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a configuration came from.
public enum ConfigSource: Sendable, Hashable, CustomStringConvertible {
    /// Nothing loaded yet: the empty generation the store starts with.
    case none
    /// A declarative config file (`declarative_config`, the watched `kong.yml`).
    case file(path: String)
    /// Text given inline (`declarative_config_string`, `kgate reload` with a body, tests).
    case string(name: String?)
    /// The Admin API's `POST /config`.
    case admin
    /// The config persisted by the previous run (``PersistedConfig``), loaded at start when no
    /// declarative config is set.
    case persisted(path: String)

    /// `none`, `file:<path>`, `string`, `string:<name>`, `admin` or `persisted:<path>`: the form
    /// logs and `/status` use.
    public var description: String {
        switch self {
        case .none: return "none"
        case .file(let path): return "file:" + path
        case .string(let name): return name.map { "string:" + $0 } ?? "string"
        case .admin: return "admin"
        case .persisted(let path): return "persisted:" + path
        }
    }
}

/// How long the stages of one reload took.
///
/// `parse` reads the text into values (YAML/JSON), `validate` checks them against the entity
/// schemas and flattens them (ids, defaults, references), `build` covers the page indexes and
/// every registered artifact, and `flip` is the atomic exchange that publishes the generation.
public struct LoadDurations: Sendable, Hashable {
    /// Reading the text into values.
    public var parse: Duration
    /// Validation and flattening.
    public var validate: Duration
    /// Page indexes plus all artifacts (router, plugins iterator, ...).
    public var build: Duration
    /// The atomic exchange of the active generation.
    public var flip: Duration

    /// Creates a set of durations.
    public init(parse: Duration = .zero, validate: Duration = .zero, build: Duration = .zero, flip: Duration = .zero) {
        self.parse = parse
        self.validate = validate
        self.build = build
        self.flip = flip
    }

    /// All stages together.
    public var total: Duration { parse + validate + build + flip }
}

extension Duration {
    /// The duration in milliseconds, as a `Double` (for logs and JSON).
    public var milliseconds: Double {
        let c = components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }

    /// `12.345`: milliseconds with three decimals, the form log metadata uses.
    var millisecondsText: String {
        let micros = Int((milliseconds * 1000).rounded())
        let fraction = String(micros % 1000)
        return String(micros / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// Wall-clock time (no Foundation on the load path).
enum WallClock {
    /// Seconds since 1970-01-01T00:00:00Z.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
