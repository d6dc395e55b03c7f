import KGateConfig
import KGateSchema

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `memory` block of Kong's `GET /status` (`kong.node.get_memory_stats`), with its `unit`
/// and `scale` query arguments (`kong/api/routes/health.lua`, `kong.tools.string.bytes_to_str`).
///
/// kgate is one process: `workers_lua_vms` has one entry, the process's resident memory. kgate has
/// no nginx shared dictionaries; `lua_shared_dicts` lists the ones Kong's nginx template declares,
/// with Kong's default capacities and nothing allocated, so tools that read them keep working.
public enum MemoryStats {
    /// How sizes are written: bytes as numbers, or `"<value> KiB|MiB|GiB"` with `scale` decimals.
    public struct Format: Sendable, Equatable {
        /// `b`, `k`, `m` or `g` (lower case); `b` (or empty) means plain byte counts.
        public var unit: String
        /// Decimals of KiB/MiB/GiB values.
        public var scale: Int

        /// `/status`'s default: MiB with 2 decimals.
        public static let status = Format(unit: "m", scale: 2)
    }

    /// Reads `?unit=` and `?scale=` as Kong's `/status` does: `unit` defaults to `m`; `scale` is
    /// read with `tonumber` (not a number: the default, 2). The refusals are Kong's
    /// `bytes_to_str` errors: `invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')` and
    /// `scale must be equal or greater than 0`.
    public static func format(unit: String?, scale: String?) -> Result<Format, MemoryStatsError> {
        let given = unit ?? "m"
        let lower = given.lowercased()
        var decimals = 2
        if let scale, let value = Double(scale.trimmingSpaces), value.isFinite {
            decimals = Int(value.rounded(.towardZero))
            if value < 0, lower != "", lower != "b" {
                return .failure(MemoryStatsError(message: "scale must be equal or greater than 0"))
            }
        }
        guard ["", "b", "k", "m", "g"].contains(lower) else {
            return .failure(MemoryStatsError(message: "invalid unit '\(given)' (expected 'k/K', 'm/M', or 'g/G')"))
        }
        return .success(Format(unit: lower, scale: max(0, decimals)))
    }

    /// A size as Kong writes it: a number of bytes, or `"5.00 MiB"`.
    static func size(_ bytes: Int, _ format: Format) -> Value {
        let divisor: Double
        let suffix: String
        switch format.unit {
        case "k": (divisor, suffix) = (1024, "KiB")
        case "m": (divisor, suffix) = (1024 * 1024, "MiB")
        case "g": (divisor, suffix) = (1024 * 1024 * 1024, "GiB")
        default: return .integer(bytes)
        }
        return .string(fixed(Double(bytes) / divisor, decimals: format.scale) + " " + suffix)
    }

    /// `%.<decimals>f`, without Foundation.
    static func fixed(_ value: Double, decimals: Int) -> String {
        var factor = 1.0
        for _ in 0..<min(decimals, 15) { factor *= 10 }
        let scaled = (value * factor).rounded()
        let whole = Int(scaled / factor)
        guard decimals > 0 else { return String(whole) }
        let fraction = Int((scaled - Double(whole) * factor).rounded())
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: max(0, min(decimals, 15) - digits.count)) + digits
    }

    /// The `memory` value of `/status`.
    public static func body(_ format: Format, prometheus: Bool = false) -> Value {
        var dictionaries = Object()
        for (name, capacity) in KongSharedDictionaries.all(prometheus: prometheus) {
            dictionaries[name] = ["capacity": size(capacity, format), "allocated_slabs": size(0, format)]
        }
        let worker: Value = ["http_allocated_gc": size(residentBytes(), format), "pid": .integer(Int(getpid()))]
        return ["workers_lua_vms": [worker], "lua_shared_dicts": .object(dictionaries)]
    }

    /// The process's resident set size (`/proc/self/statm`), 0 where that file does not exist.
    public static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(getpagesize())
    }
}

/// A refused `unit` or `scale` of `/status`: 400 with Kong's message.
public struct MemoryStatsError: Error, Equatable {
    /// Kong's message.
    public var message: String
}
