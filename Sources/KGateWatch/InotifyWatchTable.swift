import Glibc

/// The inotify watches for one config path and the names that matter in each watched directory.
///
/// Not `Sendable` on purpose: it is filled on the thread that starts watching (so the watches exist
/// before `events()` returns), then handed to the reader thread, the only one that touches it after.
struct InotifyWatchTable {
    /// Everything that can change which bytes `open(path)` returns, as seen from a directory.
    static let mask = UInt32(bitPattern:
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    private let descriptor: Int32
    private let path: String
    private let primaryDirectory: String
    /// Directory (as planned) → watch descriptor.
    private var watches: [String: Int32] = [:]
    /// Watch descriptor → entry names that matter (several directories may share one inode).
    private var namesByWatch: [Int32: Set<String>] = [:]
    /// Whether some planned directory has no watch (it is retried periodically).
    private(set) var isIncomplete = false
    /// `errno` of the last failed watch of the config file's own directory, 0 when watched.
    private(set) var primaryError: Int32 = 0

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        self.primaryDirectory = WatchPlan.split(path).directory
    }

    /// Watches every directory of the current ``WatchPlan`` (re-adding is idempotent and picks up a
    /// directory path that now resolves elsewhere) and drops watches no longer planned.
    /// Returns whether a directory got a watch it did not have (it may hold a new file).
    mutating func reconcile() -> Bool {
        let plan = WatchPlan(path: path)
        var newWatches: [String: Int32] = [:]
        var newNames: [Int32: Set<String>] = [:]
        isIncomplete = false
        primaryError = 0
        for (directory, names) in plan.names {
            var watch = inotify_add_watch(descriptor, directory, Self.mask)
            if watch < 0 {
                if directory == primaryDirectory { primaryError = errno }
                // Keep an existing watch (e.g. the directory just lost read permission); a vanished
                // directory's watch ends with IN_IGNORED, which forgets it.
                guard let existing = watches[directory], namesByWatch[existing] != nil else {
                    isIncomplete = true
                    continue
                }
                watch = existing
            }
            newWatches[directory] = watch
            newNames[watch, default: []].formUnion(names)
        }
        let added = newNames.keys.contains { namesByWatch[$0] == nil }
        for watch in namesByWatch.keys where newNames[watch] == nil {
            inotify_rm_watch(descriptor, watch)
        }
        watches = newWatches
        namesByWatch = newNames
        return added
    }

    /// Handles one event; returns whether the config file may have changed.
    mutating func handle(watch: Int32, mask: UInt32, name: String) -> Bool {
        if mask & UInt32(bitPattern: IN_Q_OVERFLOW) != 0 { return true }  // events were lost
        if mask & UInt32(bitPattern: IN_IGNORED) != 0 {  // the watch is gone (directory deleted or unmounted)
            guard namesByWatch.removeValue(forKey: watch) != nil else { return false }
            isIncomplete = true
            return true
        }
        guard namesByWatch[watch] != nil else { return false }  // a watch already dropped
        if mask & UInt32(bitPattern: IN_MOVE_SELF) != 0 {
            // The watch follows the directory to its new name; the planned path must be watched anew.
            inotify_rm_watch(descriptor, watch)
            namesByWatch[watch] = nil
            isIncomplete = true
            return true
        }
        if mask & UInt32(bitPattern: IN_DELETE_SELF) != 0 || name.isEmpty { return true }  // the directory itself
        return namesByWatch[watch]?.contains(name) ?? false
    }
}
