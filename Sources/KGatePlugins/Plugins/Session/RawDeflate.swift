import CZlib

/// Raw deflate streams (no zlib or gzip wrapper) as lua-resty-session's `utils.deflate` and
/// `utils.inflate` make and read them through lua-ffi-zlib: window bits -15, level 6
/// (`Z_DEFAULT_COMPRESSION`), memory level 8, the default strategy, so the bytes are zlib's
/// own for the same input.
enum RawDeflate {
    /// The compressed bytes; nil when zlib fails.
    /// `windowBits` 31 makes a gzip stream instead (Kong's `deflate_gzip`).
    static func deflate(_ input: [UInt8], windowBits: Int32 = -15) -> [UInt8]? {
        var z = z_stream()
        guard deflateInit2_(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            == Z_OK
        else { return nil }
        defer { deflateEnd(&z) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&z, UInt(input.count))))
        var source = input
        let status = source.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                z.next_in = i.baseAddress
                z.avail_in = UInt32(i.count)
                z.next_out = o.baseAddress
                z.avail_out = UInt32(o.count)
                return CZlib.deflate(&z, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output[..<Int(z.total_out)])
    }

    /// The decompressed bytes; nil when `input` is not a whole raw deflate stream or inflates
    /// to more than `limit` bytes.
    /// `windowBits` 31 reads a gzip stream instead (Kong's `inflate_gzip`).
    static func inflate(_ input: [UInt8], limit: Int = 1 << 24, windowBits: Int32 = -15) -> [UInt8]? {
        var z = z_stream()
        guard inflateInit2_(&z, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&z) }
        var source = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        return source.withUnsafeMutableBufferPointer { i -> [UInt8]? in
            z.next_in = i.baseAddress
            z.avail_in = UInt32(i.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { o -> Int32 in
                    z.next_out = o.baseAddress
                    z.avail_out = UInt32(o.count)
                    return CZlib.inflate(&z, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(z.avail_out)
                output += chunk[..<produced]
                guard output.count <= limit else { return nil }
                switch status {
                case Z_STREAM_END: return z.avail_in == 0 ? output : nil
                case Z_OK: continue
                // No progress possible: the stream is cut short.
                default: return nil
                }
            }
        }
    }
}
