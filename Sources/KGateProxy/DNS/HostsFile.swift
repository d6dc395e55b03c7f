import KGateStore

/// The names of `dns_hostsfile` (Kong's DNS client reads it once, at start): they resolve to
/// the file's addresses without a lookup, for as long as the node runs (Kong caches them for
/// ten years). Parsed as Kong's `utils.parseHosts`: lines lower-cased, `#` comments dropped, an
/// IPv4 or IPv6 address then names; the first address of each family wins for a name.
/// `localhost` is always defined (RFC 6761), as 127.0.0.1 and ::1 unless the file says otherwise.
struct HostsFile: Sendable {
    private var entries: [String: (v4: IPBytes?, v6: IPBytes?)] = [:]

    /// Only `localhost`.
    init() {
        self.init(parsing: "")
    }

    /// Parses a hosts file's text.
    init(parsing text: String) {
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.lowercased()
            let data = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = data.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, let ip = IPBytes(parsing: String(words[0])) else { continue }
            for name in words.dropFirst() {
                var entry = entries[String(name)] ?? (nil, nil)
                if ip.isIPv6 { entry.v6 = entry.v6 ?? ip } else { entry.v4 = entry.v4 ?? ip }
                entries[String(name)] = entry
            }
        }
        if entries["localhost"] == nil {
            entries["localhost"] = (IPBytes(parsing: "127.0.0.1"), IPBytes(parsing: "::1"))
        }
    }

    /// Reads the file at `path`; one that cannot be read defines only `localhost` (Kong warns
    /// `Hosts file not found` and goes on).
    init(path: String) {
        guard case .success(let bytes) = ConfigFile.contents(of: path) else {
            self.init()
            return
        }
        self.init(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// The addresses of `name` in the file: its IPv4 address, else its IPv6 one (Kong's default
    /// `dns_order` asks for A records first); nil when the file does not name it.
    func addresses(of name: String) -> [IPBytes]? {
        guard let entry = entries[name.lowercased()] else { return nil }
        if let v4 = entry.v4 { return [v4] }
        return entry.v6.map { [$0] }
    }
}
