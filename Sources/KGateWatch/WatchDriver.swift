/// What the watcher's task reacts to.
enum WatchInput: Sendable {
    /// inotify saw a relevant event, or a poll saw a changed `stat`.
    case fileSystemEvent
    /// A poll saw an unchanged `stat` it cannot trust (the file was modified very recently).
    case recheck
    /// A debounce timer armed for this instant fired.
    case timerFired(ContinuousClock.Instant)
    /// ``ConfigFileWatcher/checkNow()``.
    case checkRequested
}

/// The I/O shell around the state machines: runs the debounce timers and the polling loop as child
/// tasks, reads the file and yields ``WatchEvent``s. Runs in one task per watcher; cancelling that
/// task (or finishing its input stream) ends everything it started.
struct WatchDriver: Sendable {
    let path: String
    let options: WatchOptions
    let inputSink: AsyncStream<WatchInput>.Continuation
    let output: AsyncStream<WatchEvent>.Continuation
    let statistics: WatchStatistics

    /// Handles inputs until the input stream finishes or the task is cancelled.
    func run(inputs: AsyncStream<WatchInput>, report: ReportStateMachine, polling: PollingStateMachine?) async {
        var report = report
        var debouncer = DebounceStateMachine<ContinuousClock.Instant>(
            quietPeriod: options.debounce, maximumDelay: options.maximumDelay)
        let clock = ContinuousClock()
        await withDiscardingTaskGroup { group in
            if let polling {
                group.addTask { await poll(polling) }
            }
            for await input in inputs {
                let action: DebounceStateMachine<ContinuousClock.Instant>.Action
                switch input {
                case .fileSystemEvent: action = debouncer.eventReceived(at: clock.now)
                case .recheck: action = debouncer.recheckRequested()
                case .timerFired(let instant): action = debouncer.timerFired(scheduledFor: instant, at: clock.now)
                case .checkRequested: action = debouncer.checkRequested()
                }
                switch action {
                case .none:
                    break
                case .scheduleCheck(let deadline):
                    group.addTask {
                        do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                        inputSink.yield(.timerFired(deadline))
                    }
                case .check:
                    check(&report)
                }
            }
            group.cancelAll()
        }
    }

    /// Reads and fingerprints the file and yields an event if `report` says so.
    ///
    /// The read is a plain blocking `pread(2)` of a regular file (config files are small), done on
    /// the calling task rather than on a thread of its own.
    func check(_ report: inout ReportStateMachine) {
        defer { statistics.checks.add(1, ordering: .releasing) }
        switch FileReader.read(path) {
        case .content(let bytes):
            let fingerprint = ContentFingerprint(of: bytes)
            if report.observed(.content(fingerprint)) == .report {
                output.yield(.changed(bytes: bytes, fingerprint: fingerprint))
            }
        case .unreadable(let reason):
            if report.observed(.unreadable(reason: reason)) == .report {
                output.yield(.unreadable(reason: reason))
            }
        }
    }

    /// Polls the file every ``WatchOptions/pollInterval`` until cancelled.
    private func poll(_ machine: PollingStateMachine) async {
        var machine = machine
        while true {
            do { try await Task.sleep(for: options.pollInterval) } catch { return }
            let snapshot = FileSnapshot.take(path)
            switch machine.polled(snapshot, wallClockNanoseconds: FileSnapshot.wallClockNanoseconds()) {
            case .unchanged: break
            case .changed: inputSink.yield(.fileSystemEvent)
            case .unverified: inputSink.yield(.recheck)
            }
        }
    }
}
