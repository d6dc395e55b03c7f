import KGateConfig

/// What `/status` reports about configuration: the active generation and the last reload.
///
/// A plain value, replaced as a whole after every reload (`ReloadCoordinator.status`).
public struct ReloadStatus: Sendable {
    /// The kind of the most recent completed load attempt.
    public enum Outcome: String, Sendable, Hashable {
        /// A new generation was published.
        case flipped
        /// The config was refused.
        case rejected
        /// The text was identical to the active config.
        case skipped
    }

    /// Reload counters since start-up.
    public struct Counters: Sendable, Hashable {
        /// Loads that published a generation.
        public var flipped = 0
        /// Loads refused (unreadable, invalid, or an artifact failed).
        public var rejected = 0
        /// Loads skipped because the text was identical.
        public var skipped = 0
        /// Requests replaced by a newer one before they ran.
        public var superseded = 0
    }

    /// The active generation's number (0 before any config).
    public var generation: Int
    /// Kong's `configuration_hash`: 32 zeros before any config (or for an empty one).
    public var configurationHash: String
    /// md5 of the active config text (`ConfigHash.empty` before any config).
    public var hash: String
    /// When the active generation was built, just before its flip (seconds since 1970).
    public var loadedAt: Double
    /// Where the active config came from.
    public var source: ConfigSource
    /// Stage durations of the load that published the active generation.
    public var durations: LoadDurations
    /// Entity counts of the active generation.
    public var entityCounts: [String: Int]
    /// The most recent load attempt's error; nil when it succeeded or was identical to the
    /// active config (a fixed file clears the error).
    public var lastError: LoadError?
    /// The most recent completed load attempt.
    public var lastOutcome: Outcome?
    /// When the most recent completed load attempt started (seconds since 1970).
    public var lastAttemptAt: Double?
    /// Reload counters.
    public var counters: Counters

    /// The status of a store's active generation, before any reload ran through a coordinator.
    public init(generation active: Generation) {
        generation = active.number
        configurationHash = active.configurationHash
        hash = active.hash
        loadedAt = active.loadedAt
        source = active.source
        durations = LoadDurations(parse: active.parseDuration, build: active.buildDuration)
        entityCounts = active.entityCounts
        lastError = nil
        lastOutcome = nil
        lastAttemptAt = nil
        counters = Counters()
    }

    /// Records a published generation.
    mutating func record(flipped event: ConfigFlipped, generation active: Generation, at: Double) {
        generation = active.number
        configurationHash = active.configurationHash
        hash = active.hash
        loadedAt = active.loadedAt
        source = active.source
        durations = event.durations
        entityCounts = active.entityCounts
        lastError = nil
        lastOutcome = .flipped
        lastAttemptAt = at
        counters.flipped += 1
    }

    /// Records a refused load (the active generation is unchanged).
    mutating func record(rejected error: LoadError) {
        lastError = error
        lastOutcome = .rejected
        lastAttemptAt = error.at
        counters.rejected += 1
    }

    /// Records a load skipped as identical.
    mutating func record(skippedAt at: Double) {
        lastError = nil
        lastOutcome = .skipped
        lastAttemptAt = at
        counters.skipped += 1
    }
}
