import KGateRegex

/// How Kong splits a `Host` into name and port, in both router flavors.
enum HostSplit {
    /// The result of the traditional `split_port`: where the name without port is, and how the
    /// name with port is laid out (`[` name `]` `:` default-port, each part optional).
    struct Plan {
        var noPort: Range<Int>
        var name: Range<Int>
        var bracket = false
        var colon = false
        var port = false
        var hasPort = false
    }

    /// The traditional router's `split_port(name, default_port)` (`traditional.lua`).
    static func plan(_ name: UnsafeBufferPointer<UInt8>, hasDefault d: Bool) -> Plan {
        let n = name.count
        if n > 0, name[0] == 0x5B {
            if name[n - 1] == 0x5D { return Plan(noPort: 1..<n - 1, name: 0..<n, colon: d, port: d) }
            var split = -1
            var i = 1
            while i + 1 < n {
                if name[i] == 0x5D, name[i + 1] == 0x3A {
                    split = i
                    break
                }
                i += 1
            }
            if split >= 0 {
                if split == n - 2 { return Plan(noPort: 1..<split, name: 0..<n, port: d) }
                if Bytes.allDigits(UnsafeBufferPointer(rebasing: name[(split + 2)...])) {
                    return Plan(noPort: 1..<split, name: 0..<n, hasPort: true)
                }
            }
            return Plan(noPort: 0..<n, name: 0..<n, colon: d, port: d)
        }
        guard let colon = name.firstIndex(of: 0x3A) else { return Plan(noPort: 0..<n, name: 0..<n, colon: d, port: d) }
        if colon == n - 1 { return Plan(noPort: 0..<n - 1, name: 0..<n - 1, colon: d, port: d) }
        if !Bytes.allDigits(UnsafeBufferPointer(rebasing: name[(colon + 1)...])) {
            return Plan(noPort: 0..<n, name: 0..<n, bracket: d, colon: d, port: d)
        }
        return Plan(noPort: 0..<colon, name: 0..<n, hasPort: true)
    }

    /// Runs `body` with `split_port(name, defaultPort)`: the name without port, the name with
    /// a port (built on the stack) and whether the name had a port.
    static func traditional<R>(
        _ name: UnsafeBufferPointer<UInt8>, defaultPort: Int?,
        _ body: (_ noPort: UnsafeBufferPointer<UInt8>, _ withPort: UnsafeBufferPointer<UInt8>, _ hasPort: Bool) -> R
    ) -> R {
        let plan = plan(name, hasDefault: defaultPort != nil)
        let noPort = UnsafeBufferPointer(rebasing: name[plan.noPort])
        if !plan.bracket, !plan.colon, !plan.port, plan.name == 0..<name.count {
            return body(noPort, name, plan.hasPort)
        }
        var port = plan.port ? max(defaultPort ?? 0, 0) : -1
        var digitCount = 0
        if port >= 0 {
            var p = port
            repeat {
                digitCount += 1
                p /= 10
            } while p > 0
        }
        let total = plan.name.count + (plan.bracket ? 2 : 0) + (plan.colon ? 1 : 0) + digitCount
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { buf in
            var i = 0
            if plan.bracket {
                buf[i] = 0x5B
                i += 1
            }
            for k in plan.name {
                buf[i] = name[k]
                i += 1
            }
            if plan.bracket {
                buf[i] = 0x5D
                i += 1
            }
            if plan.colon {
                buf[i] = 0x3A
                i += 1
            }
            var d = total - 1
            while digitCount > 0 {
                buf[d] = UInt8(0x30 + port % 10)
                port /= 10
                d -= 1
                digitCount -= 1
            }
            return body(noPort, UnsafeBufferPointer(rebasing: buf[0..<total]), plan.hasPort)
        }
    }

    /// ``traditional(_:defaultPort:_:)`` as strings (tests, build time).
    static func traditionalStrings(_ name: String, defaultPort: Int?) -> (String, String, Bool) {
        Array(name.utf8).withUnsafeBufferPointer { b in
            traditional(b, defaultPort: defaultPort) { noPort, withPort, hasPort in
                (String(decoding: noPort, as: UTF8.self), String(decoding: withPort, as: UTF8.self), hasPort)
            }
        }
    }

    /// The ATC flavors' `split_host_port`: at the first `:`, when what follows is a number;
    /// otherwise the whole name and no port.
    static func compat(_ name: UnsafeBufferPointer<UInt8>) -> (host: UnsafeBufferPointer<UInt8>, port: Int?) {
        guard let colon = name.firstIndex(of: 0x3A) else { return (name, nil) }
        guard let port = Bytes.decimal(UnsafeBufferPointer(rebasing: name[(colon + 1)...])) else { return (name, nil) }
        return (UnsafeBufferPointer(rebasing: name[..<colon]), port)
    }

    /// ``compat(_:)`` for a configured host string.
    static func compat(_ name: String) -> (host: [UInt8], port: Int?) {
        Array(name.utf8).withUnsafeBufferPointer { b in
            let (h, p) = compat(b)
            return (Array(h), p)
        }
    }
}

/// A traditional-router wildcard host (`*.example.com`, `example.*`, with an optional port).
///
/// Kong turns it into the anchored regex `<pattern with . escaped and * as .+>` followed by
/// `(?::\d+)?$` (no port in the pattern) or `$`, run on the request's `host:port`. The usual
/// shapes are matched natively with the same meaning; anything else runs that very regex.
struct WildcardHost: Sendable {
    /// The pattern as configured (Kong's `matches.host` for it).
    let value: String
    private let head: [UInt8]
    private let tail: [UInt8]
    /// Whether the pattern has a port (Kong's `has_wildcard_host_port`).
    let hasPort: Bool
    private let regex: PCRERegex?

    init(_ value: String) {
        self.value = value
        let bytes = Array(value.utf8)
        let star = bytes.firstIndex(of: 0x2A) ?? bytes.count
        head = Array(bytes[..<star])
        tail = star < bytes.count ? Array(bytes[(star + 1)...]) : []
        hasPort = HostSplit.traditionalStrings(value, defaultPort: nil).2
        let simple =
            bytes.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E
                    || b == 0x2D
                    || b == 0x5F || b == 0x3A || b == 0x2A
            } && bytes.filter { $0 == 0x2A }.count == 1
        if simple {
            regex = nil
        } else {
            var pattern = ""
            for c in value {
                if c == "." { pattern += "\\." } else if c == "*" { pattern += ".+" } else { pattern.append(c) }
            }
            pattern += hasPort ? "$" : "(?::\\d+)?$"
            regex = try? PCRERegex(pattern, options: .anchored)
        }
    }

    /// The literal text before the `*` and the literal host text after it (without port):
    /// a request host (without port) matching the pattern starts and ends with them. Both
    /// empty when the pattern is run as a regex.
    var anchors: (prefix: [UInt8], suffix: [UInt8]) {
        if regex != nil { return ([], []) }
        guard let colon = tail.firstIndex(of: 0x3A) else { return (head, tail) }
        return (head, Array(tail[..<colon]))
    }

    /// Whether the pattern matches the request's `host:port` (`host_with_port`).
    func matches(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        if let regex { return regex.matches(String(decoding: s, as: UTF8.self)) }
        if fits(s) { return true }
        if hasPort { return false }
        // `(?::\d+)?$`: also try without a trailing `:digits`.
        var i = s.count
        while i > 0, s[i - 1] >= 0x30, s[i - 1] <= 0x39 { i -= 1 }
        guard i < s.count, i > 0, s[i - 1] == 0x3A else { return false }
        return fits(UnsafeBufferPointer(rebasing: s[..<(i - 1)]))
    }

    private func fits(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        s.count >= head.count + tail.count + 1 && Bytes.hasPrefix(s, head) && Bytes.hasSuffix(s, tail)
    }
}

/// An ATC host predicate: `http.host == h`, `=^ ".x"` (for `*.x`) or `^= "x."` (for `x.*`),
/// and `net.dst.port == p` when the host has a port.
struct CompatHost: Sendable {
    enum Kind: Sendable { case exact, suffix, prefix }
    let kind: Kind
    let value: [UInt8]
    let port: Int?

    init(_ configured: String) {
        var (host, port) = HostSplit.compat(configured)
        if host.first == 0x2A {
            kind = .suffix
            host.removeFirst()
        } else if host.last == 0x2A {
            kind = .prefix
            host.removeLast()
        } else {
            kind = .exact
        }
        value = host
        self.port = port
    }

    /// Whether the request host (port split off) and `net.dst.port` satisfy the predicate.
    @inline(__always)
    func matches(host: UnsafeBufferPointer<UInt8>, port: Int?) -> Bool {
        if let p = self.port, p != port { return false }
        switch kind {
        case .exact: return Bytes.equal(host, value)
        case .suffix: return Bytes.hasSuffix(host, value)
        case .prefix: return Bytes.hasPrefix(host, value)
        }
    }
}
