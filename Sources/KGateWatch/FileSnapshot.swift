import Glibc

/// What polling compares between two looks at the file: `stat(2)` through symlinks, plus where the
/// symlinks lead. Any difference means "may have changed"; the content hash decides the rest.
package struct FileSnapshot: Equatable, Sendable {
    /// `errno` of the failed `stat`, 0 when the file could be stat'ed.
    package var error: Int32 = 0
    package var device: UInt64 = 0
    package var inode: UInt64 = 0
    package var size: Int64 = 0
    /// Permission and type bits (a chmod changes readability).
    package var mode: UInt32 = 0
    package var modifiedNanoseconds: Int64 = 0
    package var changedNanoseconds: Int64 = 0
    /// The fully resolved path when `path` is a symlink (a ConfigMap `..data` swap changes it).
    package var resolvedPath: String?

    /// Creates a snapshot from its parts (tests).
    package init(
        error: Int32 = 0, device: UInt64 = 0, inode: UInt64 = 0, size: Int64 = 0, mode: UInt32 = 0,
        modifiedNanoseconds: Int64 = 0, changedNanoseconds: Int64 = 0, resolvedPath: String? = nil
    ) {
        self.error = error
        self.device = device
        self.inode = inode
        self.size = size
        self.mode = mode
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changedNanoseconds = changedNanoseconds
        self.resolvedPath = resolvedPath
    }

    /// Looks at `path` now.
    package static func take(_ path: String) -> FileSnapshot {
        var snapshot = FileSnapshot()
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) {
            snapshot.resolvedPath = String(cString: resolved)
            free(resolved)
        }
        guard stat(path, &info) == 0 else {
            snapshot.error = errno
            return snapshot
        }
        snapshot.device = UInt64(info.st_dev)
        snapshot.inode = UInt64(info.st_ino)
        snapshot.size = Int64(info.st_size)
        snapshot.mode = UInt32(info.st_mode)
        snapshot.modifiedNanoseconds = nanoseconds(info.st_mtim)
        snapshot.changedNanoseconds = nanoseconds(info.st_ctim)
        return snapshot
    }

    /// The wall clock (`CLOCK_REALTIME`) in nanoseconds, the clock file times are in.
    package static func wallClockNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return nanoseconds(now)
    }

    private static func nanoseconds(_ time: timespec) -> Int64 {
        Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
