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

    /// Reads from offset 0 to end of file (the size is only a hint: the file may change meanwhile).
    private static func readAll(_ fd: Int32, sizeHint: Int) -> Result<[UInt8], ReadError> {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(sizeHint, 0) + 1)
        let chunk = 64 * 1024
        while true {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: chunk))
            let count = bytes.withUnsafeMutableBufferPointer { buffer in
                pread(fd, buffer.baseAddress! + start, chunk, off_t(start))
            }
            if count < 0 {
                let error = errno
                bytes.removeLast(chunk)
                if error == EINTR { continue }
                return .failure(ReadError(code: error))
            }
            bytes.removeLast(chunk - count)
            if count == 0 { return .success(bytes) }
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
