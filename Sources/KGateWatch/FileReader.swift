import Glibc

/// Reads a whole file (following symlinks) with plain POSIX calls.
package enum FileReader {
    /// What a read found.
    package enum Outcome: Sendable, Equatable {
        /// All bytes of the file.
        case content([UInt8])
        /// Why the file could not be read (missing, permission denied, not a regular file...).
        case unreadable(reason: String)
    }

    /// How many times a read that raced with a writer is retried before its bytes are returned anyway.
    package static let maximumAttempts = 4

    /// Reads all of `path`. Never blocks on FIFOs or devices: only regular files are read.
    ///
    /// A writer that rewrites the file in place (`O_TRUNC`, then write) while we read could give us
    /// the start of one version and the end of the next, which might even be valid YAML. So the
    /// file's size and times are compared before and after the read, and a read that raced with a
    /// change is retried (up to ``maximumAttempts``). A file caught between truncation and the
    /// write is still returned as it is (the next notification brings the complete content).
    package static func read(_ path: String) -> Outcome {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .unreadable(reason: describe("cannot open", path, errno)) }
        defer { close(fd) }

        var before = stat()
        guard fstat(fd, &before) == 0 else { return .unreadable(reason: describe("cannot stat", path, errno)) }
        guard before.st_mode & S_IFMT == S_IFREG else {
            return .unreadable(reason: "cannot read \(path): not a regular file")
        }
        var bytes: [UInt8] = []
        for _ in 1...maximumAttempts {
            switch readAll(fd, sizeHint: Int(before.st_size)) {
            case .failure(let error):
                return .unreadable(reason: describe("cannot read", path, error.code))
            case .success(let content):
                bytes = content
            }
            var after = stat()
            guard fstat(fd, &after) == 0 else { return .unreadable(reason: describe("cannot stat", path, errno)) }
            if isSameVersion(before, after), bytes.count == Int(after.st_size) { break }
            before = after
        }
        return .content(bytes)
    }

    private struct ReadError: Error {
        let code: Int32
    }

    /// Reads from offset 0 to end of file into one allocation sized from the hint (plus slack to see
    /// EOF); if the file outgrew it meanwhile, starts over with twice the room.
    private static func readAll(_ fd: Int32, sizeHint: Int) -> Result<[UInt8], ReadError> {
        var capacity = max(sizeHint, 0) + 4096
        while true {
            var failure: Int32 = 0
            var filled = false
            let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                count = 0
                while count < buffer.count {
                    let result = pread(fd, buffer.baseAddress! + count, buffer.count - count, off_t(count))
                    if result < 0 {
                        if errno == EINTR { continue }
                        failure = errno
                        return
                    }
                    if result == 0 { return }  // EOF
                    count += result
                }
                filled = true
            }
            if failure != 0 { return .failure(ReadError(code: failure)) }
            if !filled { return .success(bytes) }
            capacity *= 2
        }
    }

    private static func isSameVersion(_ a: stat, _ b: stat) -> Bool {
        a.st_size == b.st_size
            && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec
            && a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec
    }

    /// `"<what> <path>: <strerror> (errno N)"`.
    package static func describe(_ what: String, _ path: String, _ error: Int32) -> String {
        describe("\(what) \(path)", error)
    }

    /// `"<what>: <strerror> (errno N)"`.
    package static func describe(_ what: String, _ error: Int32) -> String {
        "\(what): \(String(cString: strerror(error))) (errno \(error))"
    }
}
