/// How a ``ConfigFileWatcher`` watches its file and how eagerly it reports.
///
/// The defaults are the documented defaults: inotify where available (polling otherwise),
/// a 200 ms quiet period, at most 2 s between the first notification of a burst and the check,
/// and a 1 s polling interval.
public struct WatchOptions: Sendable, Equatable {
    /// Which mechanism notices changes.
    public enum Mode: Sendable, Equatable {
        /// inotify on the file's directory; polling when inotify cannot be used.
        case automatic
        /// inotify only; ``ConfigFileWatcher/events()`` throws when it cannot be used.
        case inotify
        /// `stat(2)` every ``WatchOptions/pollInterval`` (bind mounts, network file systems).
        case polling
    }

    /// Which mechanism notices changes.
    public var mode: Mode
    /// The quiet period: a burst of notifications yields one check this long after the last one.
    public var debounce: Duration
    /// The longest a check waits after the first notification of a burst that never goes quiet
    /// (never shorter than ``debounce``).
    public var maximumDelay: Duration
    /// How often polling stats the file; with inotify, how often a vanished directory is re-watched.
    public var pollInterval: Duration
    /// Whether the content found at start is reported as a first ``WatchEvent/changed(bytes:fingerprint:)``.
    /// Off by default: the caller has loaded the file itself. (An unreadable file at start is always reported.)
    public var reportInitial: Bool

    /// Creates options; every default is the documented default.
    public init(
        mode: Mode = .automatic,
        debounce: Duration = .milliseconds(200),
        maximumDelay: Duration = .seconds(2),
        pollInterval: Duration = .seconds(1),
        reportInitial: Bool = false
    ) {
        self.mode = mode
        self.debounce = debounce
        self.maximumDelay = maximumDelay
        self.pollInterval = pollInterval
        self.reportInitial = reportInitial
    }
}

/// The mechanism a running ``ConfigFileWatcher`` actually uses.
public enum WatchMechanism: Sendable, Equatable {
    /// inotify watches on the file's directory (and on the directories its symlinks lead to).
    case inotify
    /// Periodic `stat(2)` of the file.
    case polling
}

/// What a ``ConfigFileWatcher`` reports.
public enum WatchEvent: Sendable, Equatable {
    /// The file has content different from the last reported content (or is readable again).
    /// The bytes may be a half-written file: the caller validates them and refuses bad ones.
    case changed(bytes: [UInt8], fingerprint: ContentFingerprint)
    /// The file is missing or cannot be read; the caller keeps its current config.
    case unreadable(reason: String)
}

/// Why ``ConfigFileWatcher/events()`` could not start watching.
public struct WatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// `events()` was called a second time, or after `stop()`.
        public static let alreadyStarted = Code(name: "alreadyStarted")
        /// ``WatchOptions/Mode/inotify`` was requested but inotify cannot be used.
        public static let inotifyUnavailable = Code(name: "inotifyUnavailable")
        /// The name of the code.
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable explanation (for logs).
    public var reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// `code: reason`.
    public var description: String { "\(code): \(reason)" }
}
