import KGateSchema

/// Kong's on-the-fly `route_path` migration for `_format_version` "1.1" and "2.1" files:
/// plain paths are normalised, anything else is a pre-3.0 regex and gets a `~` prefix.
enum RoutePathMigration {
    static func apply(_ input: inout Object) {
        guard case .string(let version)? = input["_format_version"], version == "1.1" || version == "2.1" else { return }
        if case .array(var routes)? = input["routes"] {
            migrateRoutes(&routes)
            input["routes"] = .array(routes)
        }
        if case .array(var services)? = input["services"] {
            for i in services.indices {
                guard case .object(var service) = services[i], case .array(var routes)? = service["routes"] else { continue }
                migrateRoutes(&routes)
                service["routes"] = .array(routes)
                services[i] = .object(service)
            }
            input["services"] = .array(services)
        }
        input["_format_version"] = "3.0"
    }

    private static func migrateRoutes(_ routes: inout [Value]) {
        for i in routes.indices {
            guard case .object(var route) = routes[i], case .array(var paths)? = route["paths"] else { continue }
            for j in paths.indices {
                if case .string(let p) = paths[j] { paths[j] = .string(migrate(p)) }
            }
            route["paths"] = .array(paths)
            routes[i] = .object(route)
        }
    }

    /// One path: a plain prefix is normalised; a regex gets `~` and its unreserved escapes decoded.
    static func migrate(_ path: String) -> String {
        if isPlain(path) { return PathNormalizer.normalize(path) }
        return "~" + decodeRegex(path)
    }

    private static func isPlain(_ path: String) -> Bool {
        path.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "%")
        }
    }

    private static let reserved: Set<UInt8> = [0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2F, 0x3A, 0x3B, 0x3D, 0x3F, 0x40, 0x5B, 0x5D]
    private static let regexMeta: [UInt8: String] = [0x2E: "\\.", 0x5E: "\\^", 0x2D: "\\-", 0x7B: "\\{", 0x7D: "\\}", 0x5C: "\\\\", 0x7C: "\\|"]

    /// Decodes `%XX` triplets: reserved characters stay encoded (upper-cased), regex
    /// metacharacters are escaped, everything else becomes the character itself.
    private static func decodeRegex(_ regex: String) -> String {
        let bytes = Array(regex.utf8)
        guard bytes.contains(UInt8(ascii: "%")) else { return regex }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                let n = h << 4 | l
                if reserved.contains(n) {
                    out += Array("%\(String(n, radix: 16, uppercase: true).leftPadded)".utf8)
                } else if let escaped = regexMeta[n] {
                    out += Array(escaped.utf8)
                } else {
                    out.append(n)
                }
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }
}

private extension String {
    var leftPadded: String { count < 2 ? "0" + self : self }
}
