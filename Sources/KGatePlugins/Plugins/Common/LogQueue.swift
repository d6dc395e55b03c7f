import DequeModule
import KGateSchema
import KGateStore
import Logging
import Synchronization

/// Kong's batching queue for log entries (`kong/tools/queue.lua`), as http-log uses it:
/// entries wait in memory (at most `maxEntries`; when full the oldest are dropped), and one
/// task sends them in batches of up to `maxBatchSize`, gathered for at most
/// `maxCoalescingDelay` after the first, one batch at a time. A batch that fails is sent again
/// after `initialRetryDelay`, doubled per try up to `maxRetryDelay`, until `maxRetryTime` has
/// passed; then it is dropped with an error. `concurrencyLimit` -1 sends each entry at once,
/// in its own task, without a queue.
public final class LogQueue: Sendable {
    /// The queue's settings (the `queue` record of a plugin's config).
    public struct Settings: Sendable, Hashable {
        public var maxBatchSize = 1
        public var maxCoalescingDelay = 1.0
        public var maxEntries = 10000
        public var maxRetryTime = 60.0
        public var initialRetryDelay = 0.01
        public var maxRetryDelay = 60.0
        public var concurrencyLimit = 1

        public init() {}

        /// A plugin config's `queue` record, with Kong's former `queue_size` and
        /// `flush_timeout` applied when set to other than their old defaults (1 and 2), as
        /// `Queue.get_plugin_params` does.
        public init(pluginConfig config: Object) {
            if case .object(let q)? = config["queue"] {
                maxBatchSize = q.number("max_batch_size").map { Int($0) } ?? maxBatchSize
                maxCoalescingDelay = q.number("max_coalescing_delay") ?? maxCoalescingDelay
                maxEntries = q.number("max_entries").map { Int($0) } ?? maxEntries
                maxRetryTime = q.number("max_retry_time") ?? maxRetryTime
                initialRetryDelay = q.number("initial_retry_delay") ?? initialRetryDelay
                maxRetryDelay = q.number("max_retry_delay") ?? maxRetryDelay
                concurrencyLimit = q.number("concurrency_limit").map { Int($0) } ?? concurrencyLimit
            }
            if let size = config.number("queue_size"), size != 1 { maxBatchSize = Int(size) }
            if let flush = config.number("flush_timeout"), flush != 2 { maxCoalescingDelay = flush }
        }
    }

    /// Sends a batch; throws to have it retried.
    public typealias Handler = @Sendable ([[UInt8]]) async throws -> Void

    /// A batch of JSON entries as one JSON array.
    static func jsonArray(_ batch: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (i, entry) in batch.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body += entry
        }
        body.append(UInt8(ascii: "]"))
        return body
    }

    public let name: String
    private let settings: Settings
    private let handler: Handler
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var entries = Deque<[UInt8]>()
        /// The sending task waits here for the next entry.
        var waiting: CheckedContinuation<Void, Never>?
        var running = false
    }

    public init(name: String, settings: Settings, logger: Logger, handler: @escaping Handler) {
        self.name = name
        self.settings = settings
        self.logger = logger
        self.handler = handler
    }

    /// Adds an entry (from a request's `log` phase: never waits).
    public func enqueue(_ entry: [UInt8]) {
        if settings.concurrencyLimit == -1 {
            Task { await send([entry]) }
            return
        }
        let (wake, start, dropped) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool, Bool) in
            var dropped = false
            if s.entries.count >= settings.maxEntries {
                s.entries.removeFirst()
                dropped = true
            }
            s.entries.append(entry)
            let wake = s.waiting
            s.waiting = nil
            let start = !s.running
            s.running = true
            return (wake, start, dropped)
        }
        if dropped { log(.error, "queue full, dropping old entries until processing is successful again") }
        wake?.resume()
        if start { Task { await run() } }
    }

    /// Entries waiting (tests).
    public var count: Int { state.withLock { $0.entries.count } }

    private func run() async {
        while true {
            await nextEntry()
            let first = Clock.now
            var batch: [[UInt8]] = []
            while true {
                let taken = state.withLock { s -> [[UInt8]] in
                    let n = min(settings.maxBatchSize - batch.count, s.entries.count)
                    defer { s.entries.removeFirst(n) }
                    return Array(s.entries.prefix(n))
                }
                batch += taken
                let left = settings.maxCoalescingDelay - first.duration(to: .now).milliseconds / 1000
                if batch.count >= settings.maxBatchSize || left <= 0 { break }
                try? await Task.sleep(for: .seconds(min(left, 0.01)))
            }
            if !batch.isEmpty { await send(batch) }
        }
    }

    /// Returns once an entry is waiting.
    private func nextEntry() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if !s.entries.isEmpty { return true }
                s.waiting = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Sends a batch, retrying as configured.
    private func send(_ batch: [[UInt8]]) async {
        let start = Clock.now
        var retry = 0
        while true {
            do {
                try await handler(batch)
                return
            } catch {
                log(.warning, "handler could not process entries: \(error)")
            }
            if start.duration(to: .now).milliseconds / 1000 > settings.maxRetryTime {
                let lost = batch.count
                log(.error, "could not send entries due to max_retry_time exceeded. \(lost) queue entries were lost")
                return
            }
            let delay = min(settings.maxRetryDelay, Double(1 << min(retry, 40)) * settings.initialRetryDelay)
            retry += 1
            try? await Task.sleep(for: .seconds(delay))
        }
    }

    private func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "queue \(name): \(message)")
    }

    private typealias Clock = ContinuousClock
}

/// A plugin's queues by name, each made on first use (Kong keeps one queue per name: a plugin
/// instance's id, or http-log's endpoint and settings).
final class LogQueues: Sendable {
    private let plugin: String
    private let queues = Mutex<[String: LogQueue]>([:])

    init(plugin: String) { self.plugin = plugin }

    /// The queue named `name`; when it is made, `handler` gets the queue's logger (tagged with
    /// the plugin) and returns what sends its batches.
    func queue(
        _ name: String, settings: LogQueue.Settings, logger: Logger, handler: (Logger) -> LogQueue.Handler
    ) -> LogQueue {
        queues.withLock { queues in
            if let queue = queues[name] { return queue }
            var queueLogger = logger
            queueLogger[metadataKey: "plugin"] = "\(plugin)"
            let queue = LogQueue(
                name: plugin + "." + name, settings: settings, logger: queueLogger, handler: handler(queueLogger))
            queues[name] = queue
            return queue
        }
    }
}
