import Synchronization

/// A new generation was published.
public struct ConfigFlipped: Sendable {
    /// md5 of the config that was active.
    public var oldHash: String
    /// md5 of the config now active.
    public var newHash: String
    /// The new generation's number.
    public var generation: Int
    /// Where the new config came from.
    public var source: ConfigSource
    /// How long the reload's stages took.
    public var durations: LoadDurations
    /// Entity counts of the new generation.
    public var entityCounts: [String: Int]

    /// Creates the event.
    public init(
        oldHash: String, newHash: String, generation: Int, source: ConfigSource, durations: LoadDurations,
        entityCounts: [String: Int]
    ) {
        self.oldHash = oldHash
        self.newHash = newHash
        self.generation = generation
        self.source = source
        self.durations = durations
        self.entityCounts = entityCounts
    }
}

/// A config was refused; the active generation kept serving.
public struct ConfigRejected: Sendable {
    /// Why, with the first error's position.
    public var error: LoadError

    /// Creates the event.
    public init(error: LoadError) { self.error = error }

    /// One line: the first error (`services[1].port: expected an integer`).
    public var summary: String { error.message }
    /// md5 of the refused text, when it could be read.
    public var hash: String? { error.hash }
    /// Where the refused config came from.
    public var source: ConfigSource { error.source }
}

/// What the store tells in-process subscribers (plugins' `configure`, health checkers, metrics,
/// the Admin API's reload history). Kong's worker events, typed.
public enum StoreEvent: Sendable {
    /// A new generation is active.
    case configFlipped(ConfigFlipped)
    /// A config was refused.
    case configRejected(ConfigRejected)
}

/// A small typed in-process event bus.
///
/// Two ways to listen:
/// - `subscribe()`: an `AsyncStream` with a bounded buffer (`bufferingNewest`): when a subscriber
///   falls `limit` events behind, the oldest undelivered events are dropped, so a stalled
///   subscriber costs bounded memory and never slows the publisher. Ending the iteration (or
///   cancelling its task) unsubscribes.
/// - `onEvent(_:)`: a callback run synchronously on the publisher's thread, in subscription
///   order. It must be quick and must not block (hand heavy work to a stream instead).
///
/// `publish(_:)` never waits: it copies the subscriber list under a short lock, then yields to
/// each stream (non-blocking) and calls each callback outside the lock.
public final class EventBus: Sendable {
    /// The default per-stream buffer: events kept for a subscriber that is behind.
    public static let defaultBufferLimit = 64

    private struct Subscribers {
        var nextID = 0
        var streams: [Int: AsyncStream<StoreEvent>.Continuation] = [:]
        var callbacks: [(id: Int, handler: @Sendable (StoreEvent) -> Void)] = []
    }

    private let subscribers = Mutex(Subscribers())

    /// Creates a bus with no subscribers.
    public init() {}

    /// A stream of the events published from now on.
    ///
    /// - Parameter limit: events buffered for this subscriber; beyond that the oldest are dropped.
    public func subscribe(bufferingNewest limit: Int = EventBus.defaultBufferLimit) -> AsyncStream<StoreEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: StoreEvent.self, bufferingPolicy: .bufferingNewest(max(1, limit)))
        let id = subscribers.withLock { s -> Int in
            s.nextID += 1
            s.streams[s.nextID] = continuation
            return s.nextID
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Registers a callback run synchronously for every event published from now on.
    ///
    /// - Returns: a handle whose `cancel()` removes the callback.
    @discardableResult
    public func onEvent(_ handler: @escaping @Sendable (StoreEvent) -> Void) -> EventSubscription {
        let id = subscribers.withLock { s -> Int in
            s.nextID += 1
            s.callbacks.append((s.nextID, handler))
            return s.nextID
        }
        return EventSubscription(bus: self, id: id)
    }

    /// Delivers an event to every subscriber without waiting for any of them.
    public func publish(_ event: StoreEvent) {
        let (streams, callbacks) = subscribers.withLock { s in (Array(s.streams.values), s.callbacks) }
        for stream in streams { stream.yield(event) }
        for callback in callbacks { callback.handler(event) }
    }

    /// Number of live stream and callback subscribers.
    public var subscriberCount: Int {
        subscribers.withLock { $0.streams.count + $0.callbacks.count }
    }

    fileprivate func removeCallback(_ id: Int) {
        subscribers.withLock { $0.callbacks.removeAll { $0.id == id } }
    }
}

/// A callback registration on an `EventBus`.
public struct EventSubscription: Sendable {
    private let bus: EventBus
    private let id: Int

    fileprivate init(bus: EventBus, id: Int) {
        self.bus = bus
        self.id = id
    }

    /// Removes the callback; events published afterwards are not delivered to it.
    public func cancel() { bus.removeCallback(id) }
}
