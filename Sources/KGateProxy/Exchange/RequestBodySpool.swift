import Glibc
import KGateStore
import NIOCore

/// A buffered request body past `client_body_buffer_size`, kept in a temporary file as nginx
/// keeps it in `client_body_temp` (Kong's `request_buffering`): memory stays bounded however
/// large or many the uploads, and the whole body can be sent again to the next target.
///
/// The file is unlinked as soon as it is created, so nothing is left behind, even by a crash.
/// Chunked bodies are stored decoded: the body goes upstream with `Content-Length`, as nginx
/// sends a buffered one. Reads and writes block the event loop on the page cache, as nginx's
/// temp-file I/O does without `aio`.
///
/// Confined to the client connection's event loop.
final class RequestBodySpool {
    private let fd: Int32
    /// Decodes a chunked body's framing away as it is appended.
    private var chunked: ChunkedDecoder?
    /// Bytes stored (body data).
    private(set) var size = 0

    /// Creates the file in `directory` (made if missing), or else in the system's temporary
    /// directory; nil when neither takes it.
    init?(directory: String, chunked: Bool) {
        var fd = Self.openUnlinked(in: directory)
        if fd < 0 { fd = Self.openUnlinked(in: "/tmp") }
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.chunked = chunked ? ChunkedDecoder() : nil
    }

    private static func openUnlinked(in directory: String) -> Int32 {
        // A directory that cannot be made fails the mkstemp below.
        _ = makeDirectories(directory, mode: 0o700)
        var template = Array((directory + "/kgate-body-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return fd }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    deinit {
        close(fd)
    }

    /// Appends body bytes as received (chunk framing included for a chunked body). False when
    /// the file cannot be written or the chunked framing is broken.
    func append(_ bytes: ByteBuffer) -> Bool {
        bytes.withUnsafeReadableBytes { raw in
            guard var decoder = chunked else { return write(raw) }
            var written = true
            let result = decoder.feed(raw) { range in
                if written { written = write(UnsafeRawBufferPointer(rebasing: raw[range])) }
            }
            chunked = decoder
            return written && result != .error
        }
    }

    private func write(_ raw: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < raw.count {
            let n = pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(size))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
            size += n
        }
        return true
    }

    /// Reads up to `count` bytes stored at `offset` into a new buffer; nil on a read error.
    func read(at offset: Int, count: Int, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let wanted = min(count, size - offset)
        guard wanted > 0 else { return ByteBuffer() }
        var buffer = allocator.buffer(capacity: wanted)
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { out in
            var got = 0
            while got < wanted {
                let r = pread(fd, out.baseAddress! + got, wanted - got, off_t(offset + got))
                if r < 0, errno == EINTR { continue }
                guard r > 0 else { return got }
                got += r
            }
            return got
        }
        return n == wanted ? buffer : nil
    }
}
