import KGateTestSupport
import Glibc
import KGateWatch
import Synchronization
import Testing

/// Options that keep the live tests quick: short debounce and polling interval.
let fastOptions = WatchOptions(debounce: .milliseconds(40), maximumDelay: .seconds(1), pollInterval: .milliseconds(50))

/// The bound on every wait for something that must happen. Waits end as soon as it happens
/// (typically 50–150 ms here), so the bound only matters on failure; it is generous because on an
/// oversubscribed 2-core machine (four test processes plus two busy loops) even a test with no I/O
/// was measured to wait 2.5 s for a thread.
let eventTimeout: Duration = .seconds(10)


/// A unique directory under /tmp, removed (with everything in it) when the test ends.
struct TemporaryDirectory: Sendable {
    let path: String

    /// Runs `body` with a fresh directory and removes it afterwards, whatever happens.
    static func with<T>(_ body: (TemporaryDirectory) async throws -> T) async throws -> T {
        var template = Array("/tmp/kgate-watch-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(created != nil, "mkdtemp failed: errno \(errno)")
        let directory = TemporaryDirectory(path: template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        defer { removeTree(directory.path) }
        return try await body(directory)
    }

    func path(_ name: String) -> String { path + "/" + name }

    /// Writes like `cp` or a shell `>`: open with O_TRUNC, write, close.
    func write(_ name: String, _ text: String) {
        let fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "open \(name): errno \(errno)")
        writeAll(fd, Array(text.utf8))
        close(fd)
    }

    /// Overwrites the bytes in place (no truncation, same inode): for same-size edits.
    func overwriteInPlace(_ name: String, _ text: String) {
        let fd = open(path(name), O_WRONLY | O_CLOEXEC)
        precondition(fd >= 0, "open \(name): errno \(errno)")
        writeAll(fd, Array(text.utf8))
        close(fd)
    }

    /// Writes like an editor: a temp file in the same directory, then rename over the original.
    func replaceAtomically(_ name: String, _ text: String) {
        write("." + name + ".swp", text)
        rename("." + name + ".swp", to: name)
    }

    func rename(_ from: String, to: String) {
        precondition(Glibc.rename(path(from), path(to)) == 0, "rename: errno \(errno)")
    }

    func remove(_ name: String) {
        removeTree(path(name))
    }

    func makeDirectory(_ name: String) {
        precondition(mkdir(path(name), 0o755) == 0, "mkdir: errno \(errno)")
    }

    func symlink(_ name: String, to target: String) {
        precondition(Glibc.symlink(target, path(name)) == 0, "symlink: errno \(errno)")
    }

    func setMode(_ name: String, _ mode: mode_t) {
        precondition(chmod(name.isEmpty ? path : path(name), mode) == 0, "chmod: errno \(errno)")
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            precondition(count > 0, "write: errno \(errno)")
            written += count
        }
    }
}

/// Removes a file, symlink or directory tree (restoring permissions a test may have taken away).
func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
        chmod(path, 0o700)
        if let directory = opendir(path) {
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(directory)
            for name in names { removeTree(path + "/" + name) }
        }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Events received so far, filled by a task that iterates the watcher's stream; a test takes them
/// one at a time, waiting without polling.
final class EventLog: Sendable {
    private struct State {
        var events: [WatchEvent] = []
        var consumed = 0
        var finished = false
        var waiter: CheckedContinuation<WatchEvent?, Never>?
    }

    private let state = Mutex(State())

    func append(_ event: WatchEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<WatchEvent?, Never>? in
            state.events.append(event)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.consumed += 1
            return waiter
        }
        waiter?.resume(returning: event)
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<WatchEvent?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    var count: Int { state.withLock { $0.events.count } }
    var isFinished: Bool { state.withLock { $0.finished } }
    /// Events received and not yet taken.
    var pending: [WatchEvent] { state.withLock { Array($0.events[$0.consumed...]) } }

    /// The oldest event not yet taken, waiting for one; nil when the stream finished or on cancellation.
    func take() async -> WatchEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WatchEvent?, Never>) in
                let ready = state.withLock { state -> WatchEvent?? in
                    if state.consumed < state.events.count {
                        defer { state.consumed += 1 }
                        return .some(state.events[state.consumed])
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// Records a watcher's events and hands them to the test one at a time, with bounded waits.
struct EventRecorder {
    let log = EventLog()
    let task: Task<Void, Never>

    init(_ events: AsyncStream<WatchEvent>) {
        let log = self.log
        task = Task {
            for await event in events { log.append(event) }
            log.finish()
        }
    }

    /// The next event, waiting up to `timeout`; nil if none came.
    func next(timeout: Duration = eventTimeout) async -> WatchEvent? {
        let log = self.log
        return await withTaskGroup(of: WatchEvent??.self) { group in
            group.addTask { .some(await log.take()) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .none
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? nil
        }
    }

    /// Expects the next event to be `.changed` with exactly `text`.
    ///
    /// An empty `.changed` before it is tolerated: a check that lands between a writer's `O_TRUNC`
    /// and its `write` legitimately reports the truncated (empty) file, and on a loaded machine
    /// (or with polling's re-reads of recently modified files) that can happen.
    func expectChange(to text: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        var event = await next()
        while !text.isEmpty, case .changed(let bytes, _)? = event, bytes.isEmpty {
            event = await next()
        }
        guard case .changed(let bytes, let fingerprint)? = event else {
            Issue.record("expected .changed(\(text.debugDescription)), got \(String(describing: event))",
                         sourceLocation: sourceLocation)
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self) == text, sourceLocation: sourceLocation)
        #expect(fingerprint == ContentFingerprint(of: Array(text.utf8)), sourceLocation: sourceLocation)
    }

    /// Expects the next event to be `.unreadable` with a reason containing `fragment`.
    func expectUnreadable(containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let event = await next()
        guard case .unreadable(let reason)? = event else {
            Issue.record("expected .unreadable(…\(fragment)…), got \(String(describing: event))",
                         sourceLocation: sourceLocation)
            return
        }
        #expect(reason.contains(fragment), "\(reason)", sourceLocation: sourceLocation)
    }
}

/// Whether `events` is empty or only the legitimate traces of checks that landed between a
/// writer's `O_TRUNC` and its `write`: an empty file, then the content again.
func onlyTruncationArtifacts(_ events: [WatchEvent]) -> Bool {
    var previousWasEmpty = false
    for event in events {
        guard case .changed(let bytes, _) = event else { return false }
        if !bytes.isEmpty && !previousWasEmpty { return false }
        previousWasEmpty = bytes.isEmpty
    }
    return true
}

/// A started watcher and its recorder; `stop()` it at the end (the recorder's task then ends).
struct LiveWatcher {
    let watcher: ConfigFileWatcher
    let recorder: EventRecorder

    init(_ path: String, mode: WatchOptions.Mode, options: WatchOptions = fastOptions) throws {
        var options = options
        options.mode = mode
        watcher = ConfigFileWatcher(path: path, options: options)
        recorder = EventRecorder(try watcher.events())
    }

    /// Waits until the watcher has read the file at least once more than `count` times.
    func waitForCheck(after count: Int, sourceLocation: SourceLocation = #_sourceLocation) async {
        let happened = await waitUntil { watcher.checkCount > count }
        #expect(happened, "no check after \(count) within \(eventTimeout)", sourceLocation: sourceLocation)
    }

    func stop() async {
        watcher.stop()
        await recorder.task.value
    }
}

/// Whether permission bits are enforced for this process (not as root / with CAP_DAC_OVERRIDE):
/// tries to open a file it made unreadable.
func permissionBitsAreEnforced() -> Bool {
    var template = Array("/tmp/kgate-watch-probe-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { return false }
    close(fd)
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    defer { unlink(path) }
    chmod(path, 0o000)
    let probe = open(path, O_RDONLY | O_CLOEXEC)
    if probe >= 0 { close(probe) }
    return probe < 0
}
