import NIOCore

/// The body data of one upstream read burst, sent to the client as one chunk.
///
/// nginx re-chunks what it proxies: with `proxy_buffering` on (Kong's `response_buffering`,
/// on by default) each write to the client carries everything read since the last one, so a
/// client sees a few large chunks where the upstream sent many small ones. kgate gathers the
/// data slices of a burst (no copy) and writes them behind one size line.
struct ChunkGroup {
    private var parts = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var byteCount = 0

    /// Holds data for the next chunk (empty data is ignored: a zero size ends a body).
    mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        byteCount += bytes.readableBytes
        parts.append(bytes)
    }

    /// Writes what is held as one chunk through `write` (nothing when nothing is held).
    mutating func drain(allocator: ByteBufferAllocator, _ write: (ByteBuffer) -> Void) {
        guard byteCount > 0 else { return }
        var size = allocator.buffer(capacity: 18)
        size.writeString(String(byteCount, radix: 16))
        size.writeStaticString("\r\n")
        write(size)
        while let part = parts.popFirst() { write(part) }
        write(allocator.buffer(staticString: "\r\n"))
        byteCount = 0
    }

    /// Drops what is held (the exchange ended without a body end).
    mutating func removeAll() {
        parts.removeAll(keepingCapacity: true)
        byteCount = 0
    }
}
