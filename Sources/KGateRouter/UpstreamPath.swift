/// The upstream request line: the service path joined with the request path
/// (`kong/router/utils.lua`, and the traditional router's v1 branch), then escaped
/// (`kong.tools.uri.escape`) with the query appended as sent.
public enum UpstreamPath {
    /// Joins `base` (the service path, `/` by default) and the routing path into `out` (room
    /// for `base.count + requestPath.count + 1` bytes) and returns the length written.
    /// `postfix` is the sanitised part of the path after the matched prefix.
    static func join(
        base: UnsafeBufferPointer<UInt8>, requestPath: UnsafeBufferPointer<UInt8>, postfix: UnsafeBufferPointer<UInt8>,
        stripPath: Bool, v1: Bool, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        let slash: UInt8 = 0x2F
        var n = 0
        func put(_ bytes: UnsafeBufferPointer<UInt8>, dropFirst: Int = 0, dropLast: Int = 0) {
            guard bytes.count > dropFirst + dropLast else { return }
            for i in dropFirst..<(bytes.count - dropLast) {
                out[n] = bytes[i]
                n += 1
            }
        }
        func putSlash() {
            out[n] = slash
            n += 1
        }
        let baseSlash = base.last == slash
        if v1 {
            if stripPath {
                put(base, dropLast: baseSlash && postfix.first == slash ? 1 : 0)
                put(postfix)
            } else {
                put(base)
                put(requestPath, dropFirst: 1)
            }
            return n
        }
        if baseSlash {
            if !stripPath {
                put(base)
                put(requestPath, dropFirst: 1)
            } else if postfix.isEmpty {
                if base.count == 1 {
                    putSlash()
                } else {
                    put(base, dropLast: requestPath.last == slash ? 0 : 1)
                }
            } else {
                put(base, dropLast: postfix.first == slash ? 1 : 0)
                put(postfix)
            }
            return n
        }
        if stripPath {
            put(base)
            if postfix.isEmpty {
                if requestPath.count > 1, requestPath.last == slash { putSlash() }
            } else {
                if postfix.first != slash { putSlash() }
                put(postfix)
            }
            return n
        }
        put(base)
        if !(requestPath.count == 1 && requestPath[0] == slash) { put(requestPath) }
        return n
    }

    /// ``join(base:requestPath:postfix:stripPath:v1:into:)`` on strings.
    public static func join(base: String, requestPath: String, postfix: String, stripPath: Bool, v1: Bool) -> String {
        Bytes.with(base) { b in
            Bytes.with(requestPath) { p in
                Bytes.with(postfix) { f in
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: b.count + p.count + f.count + 2) { out in
                        let n = join(base: b, requestPath: p, postfix: f, stripPath: stripPath, v1: v1, into: out)
                        return String(decoding: UnsafeBufferPointer(rebasing: out[..<n]), as: UTF8.self)
                    }
                }
            }
        }
    }

    /// `kong.tools.uri.escape(path)`: bytes other than unreserved, reserved and `%` become
    /// `%XX` (what `kong.service.request.set_path` sends upstream).
    public static func escape(_ path: String) -> String {
        var path = path
        return path.withUTF8 { target(path: $0, query: nil) }
    }

    /// `escape(path)` followed by `?query` when the request had a `?`, built in one string.
    static func target(path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>?) -> String {
        var length = 0
        for b in path { length += safe[Int(b)] ? 1 : 3 }
        if let query { length += 1 + query.count }
        return String(unsafeUninitializedCapacity: length) { out in
            let hex: StaticString = "0123456789ABCDEF"
            var n = 0
            for b in path {
                if safe[Int(b)] {
                    out[n] = b
                    n += 1
                } else {
                    out[n] = 0x25
                    out[n + 1] = hex.utf8Start[Int(b >> 4)]
                    out[n + 2] = hex.utf8Start[Int(b & 15)]
                    n += 3
                }
            }
            if let query {
                out[n] = 0x3F
                n += 1
                for b in query {
                    out[n] = b
                    n += 1
                }
            }
            return n
        }
    }

    /// The bytes `kong.tools.uri.escape` leaves alone: unreserved, reserved and `%`.
    static let safe: [Bool] = (0..<256).map { i in
        let b = UInt8(i)
        let alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        return alnum || "!#$&'()*+,/:;=?@[]-_.~%".utf8.contains(b)
    }
}
