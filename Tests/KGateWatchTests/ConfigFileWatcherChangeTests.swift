import Glibc
import KGateWatch
import Testing

/// One test per way a config file changes, each with inotify and with polling.
@Suite struct ConfigFileWatcherChangeTests {
    static let modes: [WatchOptions.Mode] = [.inotify, .polling]

    @Test(arguments: modes) func inPlaceWrite(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "version: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            #expect(live.watcher.activeMechanism == (mode == .inotify ? .inotify : .polling))
            directory.overwriteInPlace("kong.yml", "version: 2\n")  // same size, same inode
            await live.recorder.expectChange(to: "version: 2\n")
            directory.write("kong.yml", "version: 3 # longer\n")  // O_TRUNC, like cp over it
            await live.recorder.expectChange(to: "version: 3 # longer\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func writeTempThenRename(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            directory.replaceAtomically("kong.yml", "a: 2\n")
            await live.recorder.expectChange(to: "a: 2\n")
            directory.replaceAtomically("kong.yml", "a: 3\n")
            await live.recorder.expectChange(to: "a: 3\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func configMapSymlinkSwap(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            // The kubelet's layout: kong.yml -> ..data/kong.yml, ..data -> ..<timestamp>.
            func publish(_ version: Int, _ text: String, replacing old: Int?) {
                directory.makeDirectory("..2024_0\(version)")
                directory.write("..2024_0\(version)/kong.yml", text)
                directory.symlink("..data_tmp", to: "..2024_0\(version)")
                directory.rename("..data_tmp", to: "..data")
                if let old { directory.remove("..2024_0\(old)") }
            }
            publish(1, "v: 1\n", replacing: nil)
            directory.symlink("kong.yml", to: "..data/kong.yml")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            publish(2, "v: 2\n", replacing: 1)
            await live.recorder.expectChange(to: "v: 2\n")
            publish(3, "v: 3\n", replacing: 2)  // the watch must have followed ..data
            await live.recorder.expectChange(to: "v: 3\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func deleteThenRecreate(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            directory.remove("kong.yml")
            await live.recorder.expectUnreadable(containing: "No such file or directory")
            directory.write("kong.yml", "a: 1\n")  // back, with the same content: reported
            await live.recorder.expectChange(to: "a: 1\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func chmodIsNoticed(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            let checks = live.watcher.checkCount
            directory.setMode("kong.yml", 0o600)
            await live.waitForCheck(after: checks)
            #expect(live.recorder.log.pending.isEmpty, "readable, same content: nothing to report")
            await live.stop()
        }
    }

    @Test(
        .enabled(
            if: permissionBitsAreEnforced(),
            """
            chmod 000 does not deny reads to this process (root or CAP_DAC_OVERRIDE): \
            permission denial cannot be produced
            """),
        arguments: modes)
    func permissionDeniedIsUnreadable(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            directory.setMode("kong.yml", 0o000)
            await live.recorder.expectUnreadable(containing: "Permission denied")
            directory.setMode("kong.yml", 0o644)
            await live.recorder.expectChange(to: "a: 1\n")
            // A directory without search (x) permission denies the file too.
            directory.setMode("", 0o600)
            await live.recorder.expectUnreadable(containing: "Permission denied")
            directory.setMode("", 0o700)
            await live.recorder.expectChange(to: "a: 1\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func truncateThenFullWrite(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "services: []\nroutes: []\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            directory.write("kong.yml", "")
            await live.recorder.expectChange(to: "")
            directory.write("kong.yml", "services:\n")  // half-written: reported as it is
            await live.recorder.expectChange(to: "services:\n")
            directory.write("kong.yml", "services:\n- name: a\n")
            await live.recorder.expectChange(to: "services:\n- name: a\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func identicalRewriteIsNotReported(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            let checks = live.watcher.checkCount
            directory.write("kong.yml", "a: 1\n")
            directory.replaceAtomically("kong.yml", "a: 1\n")
            await live.waitForCheck(after: checks)
            let before = live.watcher.checkCount  // read first: the check may end before checkNow returns
            live.watcher.checkNow()  // a check that certainly read the rewritten file
            await live.waitForCheck(after: before)
            // Nothing, except what a check landing between O_TRUNC and write legitimately reports:
            // the empty file, then the (same) content again.
            #expect(onlyTruncationArtifacts(live.recorder.log.pending), "\(live.recorder.log.pending)")
            while live.recorder.log.pending.count > 0 { _ = await live.recorder.next() }
            directory.write("kong.yml", "a: 2\n")
            await live.recorder.expectChange(to: "a: 2\n")  // the first event is the real change
            await live.stop()
        }
    }

    @Test(arguments: modes) func directoryRemovedAndRecreated(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.makeDirectory("conf")
            directory.write("conf/kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("conf/kong.yml"), mode: mode)
            directory.remove("conf")
            await live.recorder.expectUnreadable(containing: "No such file or directory")
            directory.makeDirectory("conf")
            directory.write("conf/kong.yml", "a: 2\n")
            await live.recorder.expectChange(to: "a: 2\n")
            directory.write("conf/kong.yml", "a: 3\n")  // the new directory is watched
            await live.recorder.expectChange(to: "a: 3\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func symlinkIntoAnotherDirectory(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.makeDirectory("etc")
            directory.makeDirectory("srv")
            directory.write("srv/real.yml", "a: 1\n")
            directory.write("srv/other.yml", "b: 1\n")
            directory.symlink("etc/kong.yml", to: directory.path("srv/real.yml"))
            let live = try LiveWatcher(directory.path("etc/kong.yml"), mode: mode)
            directory.write("srv/real.yml", "a: 2\n")  // the target, edited in its own directory
            await live.recorder.expectChange(to: "a: 2\n")
            directory.symlink("etc/.kong.yml.new", to: directory.path("srv/other.yml"))
            directory.rename("etc/.kong.yml.new", to: "etc/kong.yml")  // re-pointed
            await live.recorder.expectChange(to: "b: 1\n")
            directory.write("srv/other.yml", "b: 2\n")
            await live.recorder.expectChange(to: "b: 2\n")
            await live.stop()
        }
    }

    @Test(arguments: modes) func aBurstOfWritesEndsWithTheLastContent(mode: WatchOptions.Mode) async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "n: 0\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: mode)
            for n in 1...20 { directory.write("kong.yml", "n: \(n)\n") }
            let final = Array("n: 20\n".utf8)
            let expected = WatchEvent.changed(bytes: final, fingerprint: ContentFingerprint(of: final))
            var last: WatchEvent?
            while last != expected {
                guard let event = await live.recorder.next() else { break }
                last = event
            }
            #expect(last == expected)
            #expect(live.recorder.log.count < 20, "debounced: fewer reports than writes")
            await live.stop()
        }
    }

    @Test func unrelatedFilesInTheDirectoryAreIgnored() async throws {
        try await TemporaryDirectory.with { directory in
            directory.write("kong.yml", "a: 1\n")
            let live = try LiveWatcher(directory.path("kong.yml"), mode: .inotify)
            let checks = live.watcher.checkCount
            for n in 1...5 {
                directory.write("other.yml", "n: \(n)\n")
                directory.replaceAtomically("notes.txt", "n: \(n)\n")
            }
            // Negative check: several debounce periods without a read.
            try await Task.sleep(for: fastOptions.debounce * 4)
            #expect(live.watcher.checkCount == checks)
            await live.stop()
        }
    }
}
