import Atomics
import KGateConfig
import KGateSchema

/// One published configuration: its page of entity indexes, its artifacts (router, plugins
/// iterator, ...) and where and when it was loaded.
///
/// A request loads the current generation once (`ConfigStore.current`) and uses only that object
/// until it ends. Nothing in a generation is mutated after it is built, so it is freely shared
/// across threads; it lives as long as the store or any reader holds it (ARC).
public final class Generation: Sendable {
    /// Monotonic number: 0 for the empty generation a store starts with, then +1 per flip.
    public let number: Int
    /// md5 hex of the config text (`ConfigHash.empty` for generation 0). Used to skip reloads of
    /// identical text.
    public let hash: String
    /// Where the config came from.
    public let source: ConfigSource
    /// When this generation finished building, just before it could be flipped (seconds since
    /// 1970): the "last reload time" of `/status`.
    public let loadedAt: Double
    /// Parse + validate + flatten time (one loader call; zero when the config was given flat).
    public let parseDuration: Duration
    /// Page indexes + artifacts build time.
    public let buildDuration: Duration
    /// The config's meta keys (`_format_version`, `_transform`, ...).
    public let meta: Object
    /// The entity indexes.
    public let page: Page

    private let artifacts: ArtifactSet
    /// The owning store's count of live generations (see `ConfigStore.liveGenerations`).
    private let storeLiveCount: ManagedAtomic<Int>?

    /// Generations alive in the process (all stores), for tests and diagnostics.
    private static let processLiveCount = ManagedAtomic<Int>(0)

    init(
        number: Int, hash: String, source: ConfigSource, loadedAt: Double, parseDuration: Duration,
        buildDuration: Duration, meta: Object, page: Page, artifacts: ArtifactSet, liveCount: ManagedAtomic<Int>?
    ) {
        self.number = number
        self.hash = hash
        self.source = source
        self.loadedAt = loadedAt
        self.parseDuration = parseDuration
        self.buildDuration = buildDuration
        self.meta = meta
        self.page = page
        self.artifacts = artifacts
        self.storeLiveCount = liveCount
        Self.processLiveCount.wrappingIncrement(ordering: .relaxed)
        liveCount?.wrappingIncrement(ordering: .relaxed)
    }

    deinit {
        Self.processLiveCount.wrappingDecrement(ordering: .relaxed)
        storeLiveCount?.wrappingDecrement(ordering: .relaxed)
    }

    /// Number of `Generation` objects alive in the whole process.
    public static var liveCount: Int { processLiveCount.load(ordering: .relaxed) }

    /// Kong's `configuration_hash`: the text's md5, or all zeros when the config declares no
    /// entities (as Kong stores `DECLARATIVE_EMPTY_CONFIG_HASH`).
    public var configurationHash: String { page.isEmpty ? ConfigHash.empty : hash }

    /// Entity counts by kind (kinds with at least one entity).
    public var entityCounts: [String: Int] { page.counts }

    /// The artifact a builder made for this generation; nil when that builder was not registered.
    ///
    /// One dictionary probe and an unchecked downcast: cheap enough for once per request, though
    /// hot paths may keep the result for the rest of the request.
    @inline(__always)
    public func artifact<B: GenerationArtifactBuilder>(for builder: B.Type) -> B.Artifact? {
        artifacts.artifact(for: builder)
    }

    /// Number of artifacts built for this generation.
    public var artifactCount: Int { artifacts.count }
}

/// `ManagedAtomic<Generation>` holds a strong reference that can be loaded and exchanged
/// atomically (see `ConfigStore` for why loads are safe against a concurrent flip).
extension Generation: AtomicReference {}

extension Generation: CustomStringConvertible {
    /// `generation 3 (<hash>, file:/etc/kong/kong.yml)`.
    public var description: String { "generation \(number) (\(hash), \(source))" }
}
