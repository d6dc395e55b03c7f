import Atomics
import KGateConfig
import KGateSchema
import Synchronization

/// The double-paged config store: an active generation that serves requests, an inactive slot
/// where the next one is built, and an atomic flip between them.
///
/// ## Reading
/// `current` is one atomic load of a `ManagedAtomic<Generation>`: no lock, no actor hop. A reader
/// gets a strong reference, so the generation it loaded stays alive (ARC) until the reader drops
/// it, whatever flips happen meanwhile.
///
/// Why a concurrent load and flip are safe: a plain atomic pointer load followed by a retain
/// would race with the flipper releasing the last reference between the two steps. swift-atomics'
/// `AtomicReference` storage avoids that: the slot is a double word (pointer + reader count +
/// version). A load first increments the reader count with a compare-and-exchange (announcing
/// itself), then takes its +1 retain, then decrements the count. An exchange pre-retains the old
/// object once per announced reader (plus a window for late arrivals) before swapping, and the
/// readers that lose the race release that bias. So no reader can ever see a freed object. The
/// load is lock-free (a short CAS loop on one cache line), not a single plain load: it never
/// waits for a flipper or for other readers to finish.
///
/// ## Writing (serialized by the caller; `ReloadCoordinator` does it)
/// 1. `prepare(_:source:parseDuration:)` drops what the inactive slot holds (the generation
///    retired by the previous flip), then builds the page and every registered artifact into it.
///    A builder that throws leaves the active generation untouched.
/// 2. `flip()` exchanges the prepared generation with the active one; the old one moves to the
///    inactive slot, so that in the common case (no request outlives one reload interval) its
///    memory is freed by the loader at the next `prepare`, not by a request thread.
///
/// The store thus holds at most two generations: the active one and the one in the inactive slot
/// (retired or being built). Readers may keep older ones alive until they finish.
public final class ConfigStore: Sendable {
    /// The entity schemas pages are indexed with.
    public let catalog: EntityCatalog

    private let builders: [AnyArtifactBuilder]
    private let active: ManagedAtomic<Generation>
    private let inactive: Mutex<Slot>
    private let liveCount: ManagedAtomic<Int>

    /// What the inactive page slot holds.
    private enum Slot {
        case empty
        /// Built, not yet published.
        case prepared(Generation)
        /// Published before, replaced by the last flip; freed at the next `prepare`.
        case retired(Generation)

        var generation: Generation? {
            switch self {
            case .empty: return nil
            case .prepared(let g), .retired(let g): return g
            }
        }
    }

    /// The outcome of a flip.
    public struct Flip: Sendable {
        /// The generation that was active. Holding this keeps it alive; keep it briefly.
        public var old: Generation
        /// The generation now active.
        public var new: Generation
        /// How long the atomic exchange took.
        public var duration: Duration
    }

    /// Creates a store whose active generation is empty (number 0, hash all zeros).
    ///
    /// - Parameters:
    ///   - catalog: the entity schemas (endpoint keys, cache keys, foreign keys) to index with.
    ///   - artifacts: builders run for every generation, in this order; each type at most once.
    /// - Throws: a builder's error when it cannot build for the empty page.
    public init(
        catalog: EntityCatalog = EntityCatalog(), artifacts: [any GenerationArtifactBuilder] = []
    ) throws(ArtifactBuildError) {
        let erased = artifacts.map { AnyArtifactBuilder($0) }
        precondition(
            Set(erased.map(\.key)).count == erased.count, "an artifact builder type is registered twice")
        self.catalog = catalog
        self.builders = erased
        let liveCount = ManagedAtomic<Int>(0)
        self.liveCount = liveCount
        let start = ContinuousClock.now
        let built = try ArtifactSet.build(erased, page: .empty, previous: nil)
        let empty = Generation(
            number: 0, hash: ConfigHash.empty, source: .none, loadedAt: WallClock.now(), parseDuration: .zero,
            buildDuration: .now - start, meta: [:], page: .empty, artifacts: built, liveCount: liveCount)
        self.active = ManagedAtomic(empty)
        self.inactive = Mutex(.empty)
    }

    /// The active generation: one lock-free atomic load. Call once per request and keep it.
    public var current: Generation {
        active.load(ordering: .acquiring)
    }

    /// Builds a generation from a loaded config into the inactive slot, without publishing it.
    ///
    /// First releases the generation retired by the previous flip (if no reader still holds it,
    /// it is freed here, on the caller's thread), then indexes the page and runs every artifact
    /// builder with the active generation as `previous`. The number is the active one's + 1.
    ///
    /// - Parameter parseDuration: how long loading took, recorded on the generation.
    /// - Returns: the prepared generation (also kept in the slot for `flip()`).
    /// - Throws: the first builder error; the slot is then left empty and the active generation
    ///   untouched.
    @discardableResult
    public func prepare(
        _ config: DeclarativeConfig, source: ConfigSource, parseDuration: Duration = .zero
    ) throws(ArtifactBuildError) -> Generation {
        releaseInactive()
        let previous = current
        let start = ContinuousClock.now
        let page = Page(config: config, catalog: catalog)
        let artifacts = try ArtifactSet.build(builders, page: page, previous: previous)
        let generation = Generation(
            number: previous.number + 1, hash: config.hash, source: source, loadedAt: WallClock.now(),
            parseDuration: parseDuration, buildDuration: .now - start, meta: config.meta, page: page,
            artifacts: artifacts, liveCount: liveCount)
        inactive.withLock { $0 = .prepared(generation) }
        return generation
    }

    /// Publishes the prepared generation: one atomic exchange. The old active generation moves
    /// to the inactive slot.
    ///
    /// - Returns: the old and new generations, or nil when nothing was prepared.
    @discardableResult
    public func flip() -> Flip? {
        inactive.withLock { slot -> Flip? in
            guard case .prepared(let next) = slot else { return nil }
            let start = ContinuousClock.now
            let old = active.exchange(next, ordering: .acquiringAndReleasing)
            let duration = ContinuousClock.now - start
            slot = .retired(old)
            return Flip(old: old, new: next, duration: duration)
        }
    }

    /// `prepare` then `flip`.
    @discardableResult
    public func install(
        _ config: DeclarativeConfig, source: ConfigSource, parseDuration: Duration = .zero
    ) throws(ArtifactBuildError) -> Flip {
        try prepare(config, source: source, parseDuration: parseDuration)
        guard let flip = flip() else { preconditionFailure("a prepared generation vanished before its flip") }
        return flip
    }

    /// Drops the store's reference to the inactive slot (a retired or unpublished generation).
    ///
    /// The slot is released on the caller's thread; if no reader holds that generation, its memory
    /// is freed here.
    public func releaseInactive() {
        let dropped = inactive.withLock { slot -> Generation? in
            defer { slot = .empty }
            return slot.generation
        }
        // Released here, outside the lock, when `dropped` goes out of scope.
        _ = dropped
    }

    /// The generation in the inactive slot (retired or prepared), if any.
    public var inactiveGeneration: Generation? {
        inactive.withLock { $0.generation }
    }

    /// Generations of this store still alive: the active one, the inactive slot's, and any that
    /// readers still hold.
    public var liveGenerations: Int { liveCount.load(ordering: .relaxed) }
}
