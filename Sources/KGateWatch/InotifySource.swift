import Glibc
import Synchronization

/// An inotify instance read by a dedicated thread that calls `onChange` when the config file may
/// have changed.
///
/// The thread blocks in `poll(2)` on the (non-blocking) inotify descriptor and on the read end of a
/// wake-up pipe; ``stop()`` writes one byte to the pipe, so the thread exits at once. The thread
/// holds a strong reference to the source, and the descriptors are closed in `deinit`, so they are
/// never closed while the thread may still use them.
final class InotifySource: Sendable {
    private let descriptor: Int32
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let stopped = Atomic<Bool>(false)

    /// Creates the inotify instance and the wake-up pipe.
    init() throws(WatchError) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else {
            throw WatchError(code: .inotifyUnavailable, reason: FileReader.describe("inotify_init1", errno))
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            let error = errno
            close(descriptor)
            throw WatchError(code: .inotifyUnavailable, reason: FileReader.describe("pipe", error))
        }
        // pipe2(2) is not exported by Glibc's module map; there is a short window before
        // FD_CLOEXEC where a concurrent fork+exec could inherit the ends (harmless: the child
        // would only hold a wake-up pipe).
        for end in pipeEnds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        self.descriptor = descriptor
        self.wakeReader = pipeEnds[0]
        self.wakeWriter = pipeEnds[1]
    }

    deinit {
        close(descriptor)
        close(wakeReader)
        close(wakeWriter)
    }

    /// Installs the watches for `path` on the calling thread (changes after this returns are seen)
    /// and starts the reader thread. Throws when the config directory cannot be watched for lack of
    /// resources (inotify watch limit); a missing directory is retried every `retryInterval`.
    func start(path: String, retryInterval: Duration, onChange: @escaping @Sendable () -> Void) throws(WatchError) {
        var table = InotifyWatchTable(descriptor: descriptor, path: path)
        _ = table.reconcile()
        if table.primaryError == ENOSPC || table.primaryError == ENOMEM {
            throw WatchError(
                code: .inotifyUnavailable,
                reason: FileReader.describe("cannot watch", WatchPlan.split(path).directory, table.primaryError))
        }
        let (seconds, attoseconds) = retryInterval.components
        let milliseconds = max(1, min(Int64(Int32.max), seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        let context = InotifyThreadContext(
            source: self, table: table, retryMilliseconds: Int32(milliseconds), onChange: onChange)
        let unmanaged = Unmanaged.passRetained(context)
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<InotifyThreadContext>.fromOpaque(raw!).takeRetainedValue()
            context.source.run(context)
            return nil
        }, unmanaged.toOpaque())
        guard result == 0 else {
            unmanaged.release()
            throw WatchError(code: .inotifyUnavailable, reason: FileReader.describe("pthread_create", result))
        }
        pthread_detach(thread)
    }

    /// Asks the reader thread to exit; returns at once. Idempotent.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
    }

    /// The reader thread's loop.
    private func run(_ context: InotifyThreadContext) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.load(ordering: .acquiring) {
            var descriptors = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, context.table.isIncomplete ? context.retryMilliseconds : -1)
            if ready < 0 {
                if errno != EINTR { usleep(UInt32(min(Int64(context.retryMilliseconds) * 1000, 1_000_000))) }
                continue
            }
            if descriptors[1].revents != 0 { break }
            var changed = descriptors[0].revents != 0 && drain(into: &context.table, buffer: &buffer)
            if changed || context.table.isIncomplete {
                // A relevant event may have re-pointed a symlink (ConfigMap swap); a missing
                // directory may have come back (then its file may be new).
                changed = context.table.reconcile() || changed
            }
            if changed { context.onChange() }
        }
    }

    /// Reads every pending event; returns whether one of them concerns the config file.
    private func drain(into table: inout InotifyWatchTable, buffer: inout [UInt8]) -> Bool {
        var relevant = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return relevant }  // EAGAIN: drained
            buffer.withUnsafeBytes { raw in
                // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
                var offset = 0
                while offset + 16 <= count {
                    let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + 16)..<min(offset + 16 + length, count)]
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    offset += 16 + length
                    if table.handle(watch: watch, mask: mask, name: name) { relevant = true }
                }
            }
        }
    }
}

/// What the reader thread owns: handed over through `pthread_create`'s argument and used only by
/// that thread afterwards (hence a plain class, not `Sendable`).
private final class InotifyThreadContext {
    let source: InotifySource
    var table: InotifyWatchTable
    let retryMilliseconds: Int32
    let onChange: @Sendable () -> Void

    init(
        source: InotifySource, table: InotifyWatchTable, retryMilliseconds: Int32,
        onChange: @escaping @Sendable () -> Void
    ) {
        self.source = source
        self.table = table
        self.retryMilliseconds = retryMilliseconds
        self.onChange = onChange
    }
}
