import CBrotli
import CZlib
import NIOCore

/// The content coding a response body is compressed with.
enum ContentCoding: Equatable, Sendable {
    /// nginx's gzip filter: a gzip stream (zlib, window 2^15, memory level 8).
    case gzip(level: Int)
    /// ngx_brotli's filter.
    case brotli(level: Int, windowBits: Int)

    /// The `Content-Encoding` value.
    var name: StaticString {
        switch self {
        case .gzip: return "gzip"
        case .brotli: return "br"
        }
    }
}

/// One response body's compression stream. Confined to the connection's event loop, like
/// the exchange that holds it; the native stream is freed with it.
final class ResponseCompressor {
    private enum Stream {
        case gzip(UnsafeMutablePointer<z_stream>)
        case brotli(OpaquePointer)
    }

    private let stream: Stream

    /// Output is produced in pieces of this size at least.
    private static let outputChunk = 16 * 1024

    /// A stream for `coding`; nil when the library refuses to make one (out of memory).
    ///
    /// - Parameter contentLength: the body's length when known: as nginx's gzip filter, a
    ///   short body gets a smaller window and less memory (the 256 KB of a full zlib state
    ///   shrink to 16 KB for a 1 KB body), with the same output.
    init?(_ coding: ContentCoding, contentLength: Int? = nil) {
        switch coding {
        case .gzip(let level):
            var windowBits: Int32 = 15
            var memoryLevel: Int32 = 8
            if let contentLength, contentLength > 0 {
                // ngx_http_gzip_filter_memory: zlib's usable window is 262 bytes short of its size.
                while contentLength < (1 << (windowBits - 1)) - 262 {
                    windowBits -= 1
                    memoryLevel -= 1
                }
                memoryLevel = max(memoryLevel, 1)
            }
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            // + 16: a gzip header and trailer around the deflate stream, as nginx writes.
            let status = deflateInit2_(
                z, Int32(level), Z_DEFLATED, windowBits + 16, memoryLevel, Z_DEFAULT_STRATEGY, zlibVersion(),
                Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                z.deallocate()
                return nil
            }
            stream = .gzip(z)
        case .brotli(let level, let windowBits):
            guard let state = BrotliEncoderCreateInstance(nil, nil, nil) else { return nil }
            BrotliEncoderSetParameter(state, BROTLI_PARAM_QUALITY, UInt32(level))
            BrotliEncoderSetParameter(state, BROTLI_PARAM_LGWIN, UInt32(windowBits))
            stream = .brotli(state)
        }
    }

    deinit {
        switch stream {
        case .gzip(let z):
            deflateEnd(z)
            z.deinitialize(count: 1)
            z.deallocate()
        case .brotli(let state):
            BrotliEncoderDestroyInstance(state)
        }
    }

    /// Compresses `input` into `output` (appended).
    ///
    /// - Parameters:
    ///   - flush: emit everything compressed so far (a sync flush), as nginx does for the
    ///     buffers of an unbuffered upstream (`response_buffering` off).
    ///   - end: the body's last bytes: finish the stream.
    func compress(_ input: ByteBuffer, flush: Bool, end: Bool, into output: inout ByteBuffer) {
        input.withUnsafeReadableBytes { raw in
            switch stream {
            case .gzip(let z):
                Self.deflate(z, raw, mode: end ? Z_FINISH : (flush ? Z_SYNC_FLUSH : Z_NO_FLUSH), into: &output)
            case .brotli(let state):
                let op = end ? BROTLI_OPERATION_FINISH : (flush ? BROTLI_OPERATION_FLUSH : BROTLI_OPERATION_PROCESS)
                Self.encode(state, raw, op: op, into: &output)
            }
        }
    }

    private static func deflate(
        _ z: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, mode: Int32, into output: inout ByteBuffer
    ) {
        let base = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: UInt8.self)) }
        z.pointee.next_in = base
        z.pointee.avail_in = UInt32(input.count)
        while true {
            var status = Z_OK
            var full = false
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: outputChunk) { out in
                z.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                z.pointee.avail_out = UInt32(out.count)
                status = CZlib.deflate(z, mode)
                full = z.pointee.avail_out == 0
                return out.count - Int(z.pointee.avail_out)
            }
            // Done when the input is taken and the output had room left (nothing more is
            // pending); Z_BUF_ERROR only says no progress was possible, i.e. the same.
            if status == Z_STREAM_END || status == Z_BUF_ERROR || status < 0 { break }
            if z.pointee.avail_in == 0, !full { break }
        }
        z.pointee.next_in = nil
    }

    private static func encode(
        _ state: OpaquePointer, _ input: UnsafeRawBufferPointer, op: BrotliEncoderOperation, into output: inout ByteBuffer
    ) {
        var availableIn = input.count
        var nextIn = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        while true {
            var ok = BROTLI_TRUE
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: outputChunk) { out in
                var availableOut = out.count
                var nextOut: UnsafeMutablePointer<UInt8>? = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                ok = BrotliEncoderCompressStream(state, op, &availableIn, &nextIn, &availableOut, &nextOut, nil)
                return out.count - availableOut
            }
            guard ok == BROTLI_TRUE else { break }
            let pending = BrotliEncoderHasMoreOutput(state) == BROTLI_TRUE
            if op == BROTLI_OPERATION_FINISH {
                if BrotliEncoderIsFinished(state) == BROTLI_TRUE { break }
            } else if availableIn == 0, !pending {
                break
            }
        }
    }
}
