import Synchronization

/// Watches one config file and reports when its content changed or it became unreadable.
///
/// Every way a file changes is seen: writes in place, an editor's temp file renamed over it, `cp`
/// over it, delete and recreate, `chmod`, and Kubernetes ConfigMap `..data` symlink swaps. With
/// inotify the file's *directory* is watched (and the directories its symlinks lead to); with
/// polling the file is `stat`ed every ``WatchOptions/pollInterval``. Notifications are debounced,
/// then the whole file is read (through symlinks) and fingerprinted: identical content is not
/// reported again.
///
/// ```swift
/// let watcher = ConfigFileWatcher(path: "/etc/kong/kong.yml")
/// for await event in try watcher.events() {
///     switch event {
///     case .changed(let bytes, _): reload(bytes)          // validate; refuse a half-written file
///     case .unreadable(let reason): log.warning("\(reason)") // keep serving the current config
///     }
/// }
/// ```
///
/// Lifetime: the event stream keeps its watcher alive (iterating the stream is enough, the watcher
/// need not be kept in a variable). ``stop()``, cancelling the task that iterates the stream, or
/// dropping the stream stops watching: the stream finishes, the internal task is cancelled, and the
/// inotify thread is woken through its pipe and exits; its descriptors close right after. A watcher
/// whose ``events()`` was never called stops when released.
public final class ConfigFileWatcher: Sendable {
    /// The watched path (made absolute against the current directory at creation).
    public let path: String
    /// The options the watcher was created with.
    public let options: WatchOptions

    private let phase = Mutex<Phase>(.idle)
    private let statistics = WatchStatistics()
    /// Tests only: make inotify look unavailable.
    private let simulatedInotifyFailure: WatchError?

    private enum Phase {
        case idle
        case running(Running)
        case stopped(RetiredSource)
    }

    private struct Running {
        let mechanism: WatchMechanism
        let fallbackReason: String?
        let inputs: AsyncStream<WatchInput>.Continuation
        let output: AsyncStream<WatchEvent>.Continuation
        let driver: Task<Void, Never>
        let source: InotifySource?
    }

    /// A weak reference to a stopped inotify source: it is released once its thread has exited.
    private struct RetiredSource {
        weak var source: InotifySource?
    }

    /// Creates a watcher for `path`; nothing is watched until ``events()``.
    public convenience init(path: String, options: WatchOptions = .init()) {
        self.init(path: path, options: options, simulatedInotifyFailure: nil)
    }

    /// Creates a watcher on which inotify fails with `simulatedInotifyFailure` (tests of the fallback).
    package init(path: String, options: WatchOptions, simulatedInotifyFailure: WatchError?) {
        self.path = WatchPlan.absolute(path)
        self.options = options
        self.simulatedInotifyFailure = simulatedInotifyFailure
    }

    deinit {
        stop()
    }

    /// Starts watching and returns the events.
    ///
    /// The watches are in place when this returns: any change made afterwards is reported. The
    /// content found now is the baseline and is not reported unless ``WatchOptions/reportInitial``
    /// is set; an unreadable file is reported at once. The stream keeps only the newest unconsumed
    /// event (a slow consumer sees the latest state, never a stale one). Can be called once.
    ///
    /// - Throws: ``WatchError/Code/alreadyStarted`` on a second call or after ``stop()``;
    ///   ``WatchError/Code/inotifyUnavailable`` in ``WatchOptions/Mode/inotify`` mode when inotify
    ///   cannot be used (``WatchOptions/Mode/automatic`` falls back to polling instead).
    public func events() throws(WatchError) -> AsyncStream<WatchEvent> {
        try phase.withLock { phase throws(WatchError) -> AsyncStream<WatchEvent> in
            switch phase {
            case .idle: break
            case .running: throw WatchError(code: .alreadyStarted, reason: "events() can be called once per watcher")
            case .stopped: throw WatchError(code: .alreadyStarted, reason: "the watcher was stopped")
            }
            let (inputs, inputSink) = AsyncStream<WatchInput>.makeStream()
            var source: InotifySource?
            var fallbackReason: String?
            if options.mode != .polling {
                do throws(WatchError) {
                    if let simulatedInotifyFailure { throw simulatedInotifyFailure }
                    let inotify = try InotifySource()
                    try inotify.start(path: path, retryInterval: options.pollInterval) {
                        inputSink.yield(.fileSystemEvent)
                    }
                    source = inotify
                } catch {
                    guard options.mode == .automatic else {
                        inputSink.finish()
                        throw error
                    }
                    fallbackReason = error.reason
                }
            }

            // Nothing below throws. (Created only now: a stream dropped inside this lock would run
            // its onTermination, i.e. stop(), which takes the lock.)
            let (events, output) = AsyncStream<WatchEvent>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let driver = WatchDriver(
                path: path, options: options, inputSink: inputSink, output: output, statistics: statistics)
            var polling: PollingStateMachine?
            if source == nil {
                // Snapshot before the baseline read: a change in between shows up at the first poll.
                var machine = PollingStateMachine()
                machine.baseline(FileSnapshot.take(path), wallClockNanoseconds: FileSnapshot.wallClockNanoseconds())
                polling = machine
            }
            var report = ReportStateMachine(reportInitial: options.reportInitial)
            driver.check(&report)

            let task = Task { [polling, report] in
                await driver.run(inputs: inputs, report: report, polling: polling)
            }
            // Strong on purpose: the stream owns the watcher until it terminates (stop, cancellation
            // or the stream's release); terminating releases this closure, ending the cycle.
            output.onTermination = { _ in self.stop() }
            phase = .running(Running(
                mechanism: source == nil ? .polling : .inotify, fallbackReason: fallbackReason,
                inputs: inputSink, output: output, driver: task, source: source))
            return events
        }
    }

    /// Reads the file now, without waiting for a notification (SIGHUP, `kgate reload`).
    ///
    /// Reports only if the content differs from the last report, like any other check. Discards a
    /// pending debounced check (this one supersedes it). Does nothing before ``events()`` or after
    /// ``stop()``. Returns at once; the check runs on the watcher's task.
    public func checkNow() {
        let sink = phase.withLock { phase -> AsyncStream<WatchInput>.Continuation? in
            guard case .running(let running) = phase else { return nil }
            return running.inputs
        }
        sink?.yield(.checkRequested)
    }

    /// Stops watching and finishes the event stream. Returns at once; idempotent.
    public func stop() {
        let running = phase.withLock { phase -> Running? in
            switch phase {
            case .running(let running):
                phase = .stopped(RetiredSource(source: running.source))
                return running
            case .idle:
                phase = .stopped(RetiredSource())
                return nil
            case .stopped:
                return nil
            }
        }
        // Outside the lock: finishing the stream runs its onTermination, which calls stop() again.
        guard let running else { return }
        running.source?.stop()
        running.driver.cancel()
        running.inputs.finish()
        running.output.finish()
    }

    /// The mechanism in use; nil before ``events()`` and after ``stop()``.
    public var activeMechanism: WatchMechanism? {
        phase.withLock { phase in
            guard case .running(let running) = phase else { return nil }
            return running.mechanism
        }
    }

    /// Why ``WatchOptions/Mode/automatic`` fell back to polling (for a log line); nil otherwise.
    public var fallbackReason: String? {
        phase.withLock { phase in
            guard case .running(let running) = phase else { return nil }
            return running.fallbackReason
        }
    }

    /// How many times the file has been read (the baseline included). For tests and diagnostics.
    package var checkCount: Int {
        statistics.checks.load(ordering: .acquiring)
    }

    /// Whether the watcher is stopped and its inotify thread has exited and closed its descriptors.
    package var isReleased: Bool {
        phase.withLock { phase in
            guard case .stopped(let retired) = phase else { return false }
            return retired.source == nil
        }
    }
}

/// Counters shared between the watcher and its task.
final class WatchStatistics: Sendable {
    let checks = Atomic<Int>(0)
}
