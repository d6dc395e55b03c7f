import KGateWatch
import Testing

@Suite struct PollingStateMachineTests {
    let second: Int64 = 1_000_000_000
    func snapshot(size: Int64 = 10, mtime: Int64, inode: UInt64 = 7, mode: UInt32 = 0o100644, error: Int32 = 0,
                  resolved: String? = nil) -> FileSnapshot {
        FileSnapshot(error: error, device: 1, inode: inode, size: size, mode: mode,
                     modifiedNanoseconds: mtime, changedNanoseconds: mtime, resolvedPath: resolved)
    }

    @Test func anUnchangedOldFileIsNotRead() {
        var machine = PollingStateMachine(racyWindow: .seconds(2))
        machine.baseline(snapshot(mtime: 100 * second), wallClockNanoseconds: 200 * second)
        #expect(machine.polled(snapshot(mtime: 100 * second), wallClockNanoseconds: 201 * second) == .unchanged)
        #expect(machine.polled(snapshot(mtime: 100 * second), wallClockNanoseconds: 202 * second) == .unchanged)
    }

    @Test(arguments: [
        FileSnapshot(device: 1, inode: 7, size: 11, mode: 0o100644, modifiedNanoseconds: 100, changedNanoseconds: 100),
        FileSnapshot(device: 1, inode: 8, size: 10, mode: 0o100644, modifiedNanoseconds: 100, changedNanoseconds: 100),
        FileSnapshot(device: 2, inode: 7, size: 10, mode: 0o100644, modifiedNanoseconds: 100, changedNanoseconds: 100),
        FileSnapshot(device: 1, inode: 7, size: 10, mode: 0o100000, modifiedNanoseconds: 100, changedNanoseconds: 101),
        FileSnapshot(device: 1, inode: 7, size: 10, mode: 0o100644, modifiedNanoseconds: 101, changedNanoseconds: 100),
        FileSnapshot(device: 1, inode: 7, size: 10, mode: 0o100644, modifiedNanoseconds: 100, changedNanoseconds: 100,
                     resolvedPath: "/cfg/..2024_b/kong.yml"),
        FileSnapshot(error: 2),
    ])
    func anyStatDifferenceMeansRead(changed: FileSnapshot) {
        var machine = PollingStateMachine(racyWindow: .seconds(2))
        let old = FileSnapshot(
            device: 1, inode: 7, size: 10, mode: 0o100644, modifiedNanoseconds: 100, changedNanoseconds: 100)
        machine.baseline(old, wallClockNanoseconds: 100 * second)
        #expect(machine.polled(changed, wallClockNanoseconds: 101 * second) == .changed)
        #expect(machine.polled(changed, wallClockNanoseconds: 102 * second) == .unchanged)
    }

    @Test func aRecentlyModifiedFileIsReadUntilItsTimesAreOldEnough() {
        // Same stat twice, but the first look was within the racy window of the mtime: a same-size
        // rewrite in the same timestamp tick would be invisible to stat, so read again.
        var machine = PollingStateMachine(racyWindow: .seconds(2))
        let file = snapshot(mtime: 100 * second)
        machine.baseline(file, wallClockNanoseconds: 100 * second + 5_000_000)
        #expect(machine.polled(file, wallClockNanoseconds: 101 * second) == .unverified)
        #expect(machine.polled(file, wallClockNanoseconds: 102 * second) == .unverified)  // seen at 101 s: still racy
        #expect(machine.polled(file, wallClockNanoseconds: 103 * second) == .unchanged)
    }

    @Test func aChangeOfARecentFileIsAChangeNotAnUnverifiedPoll() {
        var machine = PollingStateMachine(racyWindow: .seconds(2))
        machine.baseline(snapshot(mtime: 100 * second), wallClockNanoseconds: 100 * second)
        let grown = snapshot(size: 11, mtime: 100 * second)
        #expect(machine.polled(grown, wallClockNanoseconds: 100 * second + 1) == .changed)
    }

    @Test func aMissingFileIsNotRacy() {
        var machine = PollingStateMachine(racyWindow: .seconds(2))
        let missing = snapshot(mtime: 0, error: 2)
        machine.baseline(missing, wallClockNanoseconds: 0)
        #expect(machine.polled(missing, wallClockNanoseconds: 1) == .unchanged)
    }
}
