import KGateTestSupport
import Glibc
import KGateWatch
import Testing

/// Starting, stopping, forced checks and options.
@Suite struct ConfigFileWatcherLifecycleTests {
    @Test func automaticModeUsesInotifyOnLinux() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: .automatic)
            #expect(live.watcher.activeMechanism == .inotify)
            #expect(live.watcher.fallbackReason == nil)
            #expect(live.watcher.checkCount == 1, "the baseline read happens in events()")
            await live.stop()
            #expect(live.watcher.activeMechanism == nil)
        }
    }

    @Test(arguments: [WatchOptions.Mode.inotify, .polling])
    func stopFinishesTheStreamAndReleasesTheThread(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            #expect(!live.watcher.isReleased)
            live.watcher.stop()
            #expect(await waitUntil { live.recorder.log.isFinished })
            #expect(await waitUntil { live.watcher.isReleased }, "the inotify thread exits and closes its descriptors")
            live.watcher.stop()  // idempotent
            live.watcher.checkNow()  // no effect
            #expect(throws: WatchError.self) { _ = try live.watcher.events() }
            await live.recorder.task.value
        }
    }

    @Test func cancellingTheConsumerStopsTheWatcher() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let watcher = ConfigFileWatcher(path: directory.path("kong.yml"), options: fastOptions)
            let events = try watcher.events()
            let consumer = Task {
                var count = 0
                for await _ in events { count += 1 }
                return count
            }
            consumer.cancel()
            #expect(await consumer.value == 0)
            #expect(await waitUntil { watcher.isReleased })
            #expect(watcher.activeMechanism == nil)
        }
    }

    @Test func theStreamKeepsItsWatcherAliveUntilItEnds() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            var watcher: ConfigFileWatcher? = ConfigFileWatcher(path: directory.path("kong.yml"), options: fastOptions)
            weak let weakWatcher = watcher
            let recorder = EventRecorder(try watcher!.events())
            watcher = nil  // only the stream holds it now
            directory.replaceAtomically("kong.yml", "a: 2\n")
            await recorder.expectChange(to: "a: 2\n")
            recorder.task.cancel()  // the consumer goes away: the stream terminates
            await recorder.task.value
            #expect(await waitUntil { weakWatcher == nil }, "released once its stream ended")
        }
    }

    @Test func anUnstartedWatcherIsSimplyReleased() {
        var watcher: ConfigFileWatcher? = ConfigFileWatcher(path: "/nonexistent/kong.yml")
        weak let weakWatcher = watcher
        #expect(watcher?.activeMechanism == nil)
        watcher = nil
        #expect(weakWatcher == nil)
    }

    @Test func eventsCanBeCalledOnce() async throws {
        try await TemporaryDirectory.with { directory in
            let watcher = ConfigFileWatcher(path: directory.path("kong.yml"), options: fastOptions)
            _ = try watcher.events()
            let error = #expect(throws: WatchError.self) { _ = try watcher.events() }
            #expect(error?.code == .alreadyStarted)
            watcher.stop()
        }
    }

    @Test func checkNowReadsWithoutANotification() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            var options = fastOptions
            options.pollInterval = .seconds(60)  // polling would not notice in time
            let live = try LiveWatcher(directory.path("kong.yml"), mode: .polling, options: options)
            directory.write("kong.yml", "a: 2\n")
            live.watcher.checkNow()
            await live.recorder.expectChange(to: "a: 2\n")
            live.watcher.checkNow()  // unchanged: nothing
            await live.waitForCheck(after: 2)
            #expect(live.recorder.log.pending.isEmpty)
            await live.stop()
        }
    }

    @Test func theInitialContentIsReportedWhenAsked() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            var options = fastOptions
            options.reportInitial = true
            let live = try LiveWatcher(directory.path("kong.yml"), mode: .inotify, options: options)
            await live.recorder.expectChange(to: "a: 1\n")
            await live.stop()
        }
    }

    @Test(arguments: [WatchOptions.Mode.inotify, .polling])
    func aFileMissingAtStartIsReportedThenPickedUp(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            await live.recorder.expectUnreadable(containing: "No such file or directory")
            directory.replaceAtomically("kong.yml", "a: 1\n")
            await live.recorder.expectChange(to: "a: 1\n")
            await live.stop()
        }
    }

    @Test func aMissingDirectoryAtStartIsWatchedOnceItExists() async throws {
        try await TemporaryDirectory.with { directory in
            let live = try LiveWatcher(directory.path("conf/kong.yml"), mode: .inotify)
            #expect(live.watcher.activeMechanism == .inotify)
            await live.recorder.expectUnreadable(containing: "No such file or directory")
            directory.makeDirectory("conf")
            directory.write("conf/kong.yml", "a: 1\n")
            await live.recorder.expectChange(to: "a: 1\n")
            await live.stop()
        }
    }

    @Test func relativePathsAreResolvedAtCreation() {
        let watcher = ConfigFileWatcher(path: "kong.yml")
        #expect(watcher.path.hasPrefix("/"))
        #expect(watcher.options == WatchOptions())
        #expect(WatchOptions().debounce == .milliseconds(200))
        #expect(WatchOptions().pollInterval == .seconds(1))
        #expect(WatchOptions().mode == .automatic)
    }
}

@Suite struct ConfigFileWatcherFallbackTests {
    let unavailable = WatchError(code: .inotifyUnavailable, reason: "inotify_init1: Too many open files (errno 24)")

    @Test func automaticModeFallsBackToPolling() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            var options = fastOptions
            options.mode = .automatic
            let watcher = ConfigFileWatcher(
                path: directory.path("kong.yml"), options: options, simulatedInotifyFailure: unavailable)
            let recorder = EventRecorder(try watcher.events())
            #expect(watcher.activeMechanism == .polling)
            #expect(watcher.fallbackReason == unavailable.reason)
            directory.replaceAtomically("kong.yml", "a: 2\n")
            await recorder.expectChange(to: "a: 2\n")
            watcher.stop()
            await recorder.task.value
        }
    }

    @Test func inotifyModeThrowsWhenInotifyIsUnavailable() async throws {
        try await TemporaryDirectory.with { directory in
            var options = fastOptions
            options.mode = .inotify
            let watcher = ConfigFileWatcher(
                path: directory.path("kong.yml"), options: options, simulatedInotifyFailure: unavailable)
            let error = #expect(throws: WatchError.self) { _ = try watcher.events() }
            #expect(error == unavailable)
            #expect(watcher.activeMechanism == nil)
            watcher.stop()
        }
    }
}
