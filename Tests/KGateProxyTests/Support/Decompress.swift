import CBrotli
import CZlib

/// Decoders for the compressed bodies the tests receive (zlib and brotli, as clients use).
enum Decompress {
    /// A gzip stream's content; nil when it does not decode to its end.
    static func gunzip(_ data: [UInt8]) -> String? {
        var z = z_stream()
        guard inflateInit2_(&z, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&z) }
        var input = data
        var output = [UInt8](repeating: 0, count: 1 << 20)
        let status = input.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                z.next_in = i.baseAddress
                z.avail_in = UInt32(i.count)
                z.next_out = o.baseAddress
                z.avail_out = UInt32(o.count)
                return inflate(&z, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return String(decoding: output[..<Int(z.total_out)], as: UTF8.self)
    }

    /// A brotli stream's content; nil when it does not decode.
    static func unbrotli(_ data: [UInt8]) -> String? {
        var size = 1 << 20
        var output = [UInt8](repeating: 0, count: size)
        let result = BrotliDecoderDecompress(data.count, data, &size, &output)
        guard result == BROTLI_DECODER_RESULT_SUCCESS else { return nil }
        return String(decoding: output[..<size], as: UTF8.self)
    }
}
