import KGateConfig

/// A request to load a config: given bytes, or "re-read the file".
public struct ReloadRequest: Sendable {
    /// What to load.
    public enum Input: Sendable {
        /// The config text itself (Admin `POST /config`, `declarative_config_string`).
        case bytes([UInt8])
        /// Read this file when the load starts (so a superseded request never reads a stale copy).
        case file(path: String)
    }

    /// What to load.
    public var input: Input
    /// Where it came from (status, logs, events).
    public var source: ConfigSource
    /// The name that picks JSON or YAML (by extension) and that error positions cite; nil tries
    /// JSON then YAML, as Kong does for strings.
    public var fileName: String?
    /// Load even when the text's hash equals the active generation's (Kong's `POST /config`
    /// without `check_hash`). Otherwise an identical text is skipped.
    public var force: Bool

    /// Creates a request.
    public init(input: Input, source: ConfigSource, fileName: String?, force: Bool = false) {
        self.input = input
        self.source = source
        self.fileName = fileName
        self.force = force
    }

    /// Re-read a config file (a watcher event, `SIGHUP`, `kgate reload`).
    public static func file(_ path: String, force: Bool = false) -> ReloadRequest {
        ReloadRequest(input: .file(path: path), source: .file(path: path), fileName: path, force: force)
    }

    /// Load config text.
    public static func bytes(
        _ bytes: [UInt8], source: ConfigSource, fileName: String? = nil, force: Bool = false
    ) -> ReloadRequest {
        ReloadRequest(input: .bytes(bytes), source: source, fileName: fileName, force: force)
    }
}

/// How a reload request ended.
public enum ReloadOutcome: Sendable {
    /// A new generation is active.
    case flipped(ConfigFlipped)
    /// The config was refused; the active generation kept serving. `declarative` is the loader's
    /// full error (Kong's code-14 `fields`, the parsed document) when the text was invalid.
    case rejected(LoadError, declarative: DeclarativeError?)
    /// The text's hash equals the active generation's: nothing was reloaded.
    case skipped(hash: String)
    /// A newer request replaced this one before it started.
    case superseded
    /// The coordinator stopped before running this request.
    case shutdown

    /// The new generation's number, when the request flipped.
    public var generation: Int? {
        if case .flipped(let event) = self { return event.generation }
        return nil
    }

    /// The error, when the request was rejected.
    public var error: LoadError? {
        if case .rejected(let error, _) = self { return error }
        return nil
    }
}
