import KGateLua
import KGateSchema
import Synchronization

/// The node's `lua_shared_dict` zones (`ngx.shared.NAME`): one store every event loop's Lua
/// shares, as nginx's workers share theirs. Kong's template declares its own zones; a node adds
/// others with `nginx_http_lua_shared_dict` (`name size`, several separated by `;`).
///
/// Each zone keeps at most its size in bytes (keys and values counted): `set`, `add`,
/// `replace` and `incr` evict the least recently used entries to make room (`forcible` true),
/// `safe_set` and `safe_add` fail with `no memory` instead.
final class LuaSharedDicts: Sendable {
    /// The node's zones.
    static let shared = LuaSharedDicts()

    /// Kong's `lua_shared_dict` zones (`kong/templates/nginx_kong.lua`), with their sizes.
    static let kongZones: [(String, Int)] = [
        ("kong", 5 << 20), ("kong_locks", 8 << 20), ("kong_healthchecks", 5 << 20),
        ("kong_cluster_events", 5 << 20), ("kong_rate_limiting_counters", 12 << 20),
        ("kong_core_db_cache", 128 << 20), ("kong_core_db_cache_miss", 12 << 20),
        ("kong_db_cache", 128 << 20), ("kong_db_cache_miss", 12 << 20), ("kong_secrets", 5 << 20),
    ]

    private let zones: Mutex<[String: Zone]>

    init(extra: String? = nil) {
        var zones: [String: Zone] = [:]
        for (name, size) in Self.kongZones { zones[name] = Zone(capacity: size) }
        zones.merge(Self.declared(extra), uniquingKeysWith: { _, new in new })
        self.zones = Mutex(zones)
    }

    /// Adds the zones of an `nginx_http_lua_shared_dict` value that do not exist yet.
    func declare(_ directive: String?) {
        let declared = Self.declared(directive)
        guard !declared.isEmpty else { return }
        zones.withLock { zones in
            for (name, zone) in declared where zones[name] == nil { zones[name] = zone }
        }
    }

    /// The zones a `lua_shared_dict` directive value names (`name size[k|m|g]`, `;`-separated,
    /// each optionally repeating `lua_shared_dict`).
    static func declared(_ directive: String?) -> [String: Zone] {
        var zones: [String: Zone] = [:]
        for part in (directive ?? "").split(separator: ";") {
            var words = part.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words.first == "lua_shared_dict" { words.removeFirst() }
            guard words.count == 2, let size = Self.size(words[1]) else { continue }
            zones[words[0]] = Zone(capacity: size)
        }
        return zones
    }

    /// nginx's size syntax: bytes, or `k`/`m`/`g` suffixed.
    static func size(_ text: String) -> Int? {
        let lower = text.lowercased()
        let shifts: [Character: Int] = ["k": 10, "m": 20, "g": 30]
        if let last = lower.last, let shift = shifts[last] { return Int(lower.dropLast()).map { $0 << shift } }
        return Int(lower)
    }

    /// Whether a zone exists.
    func exists(_ name: String) -> Bool { zones.withLock { $0[name] != nil } }

    /// Runs `body` on a zone (nil when there is no such zone).
    func with<T>(_ name: String, _ body: (inout Zone) -> T) -> T? {
        zones.withLock { zones in
            guard zones[name] != nil else { return nil }
            return body(&zones[name]!)
        }
    }
}

/// A value a shared dict holds.
enum SharedValue: Sendable, Equatable {
    case string([UInt8])
    case number(Double)
    case bool(Bool)
    case list([SharedValue])

    var size: Int {
        switch self {
        case .string(let bytes): return bytes.count
        case .number, .bool: return 8
        case .list(let items): return items.reduce(16) { $0 + $1.size }
        }
    }
}

/// One zone's entries.
struct Zone: Sendable {
    struct Entry: Sendable {
        var value: SharedValue
        var flags: Int
        /// When it expires (``WallClock`` seconds), nil for never.
        var expires: Double?
        /// Its last use, for eviction.
        var used: UInt64
    }

    let capacity: Int
    private(set) var entries: [String: Entry] = [:]
    private var bytes = 0
    private var clock: UInt64 = 0

    init(capacity: Int) { self.capacity = max(capacity, 4096) }

    /// Bytes left.
    var freeSpace: Int { max(0, capacity - bytes) }

    private static func cost(_ key: String, _ value: SharedValue) -> Int { key.utf8.count + value.size + 48 }

    /// The live entry for `key` (touched), or the expired one with `stale`.
    mutating func entry(_ key: String, now: Double, stale: Bool = false) -> (Entry, expired: Bool)? {
        guard var entry = entries[key] else { return nil }
        let expired = entry.expires.map { $0 <= now } ?? false
        if expired, !stale { return nil }
        clock += 1
        entry.used = clock
        entries[key] = entry
        return (entry, expired)
    }

    /// Stores a value; returns whether others were evicted for room, or nil when there is no
    /// room (`evict` false, or a value larger than the zone).
    mutating func store(_ key: String, _ value: SharedValue, flags: Int, expires: Double?, evict: Bool, now: Double) -> Bool? {
        let old = entries[key].map { Self.cost(key, $0.value) } ?? 0
        let needed = Self.cost(key, value)
        guard needed <= capacity else { return nil }
        var forcible = false
        if bytes - old + needed > capacity { removeExpired(now: now, max: 0) }
        if bytes - old + needed > capacity {
            guard evict else { return nil }
            remove(key)
            while bytes + needed > capacity, let victim = entries.min(by: { $0.value.used < $1.value.used }) {
                remove(victim.key)
                forcible = true
            }
        }
        remove(key)
        clock += 1
        entries[key] = Entry(value: value, flags: flags, expires: expires, used: clock)
        bytes += needed
        return forcible
    }

    mutating func remove(_ key: String) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        bytes -= Self.cost(key, entry.value)
    }

    mutating func setExpiry(_ key: String, _ expires: Double?) { entries[key]?.expires = expires }

    /// Removes expired entries (at most `max`, all when 0); returns how many.
    @discardableResult
    mutating func removeExpired(now: Double, max: Int) -> Int {
        var removed = 0
        for (key, entry) in entries where entry.expires.map({ $0 <= now }) ?? false {
            if max > 0, removed >= max { break }
            remove(key)
            removed += 1
        }
        return removed
    }

    mutating func removeAll() {
        entries.removeAll()
        bytes = 0
    }
}

/// `ngx.shared.DICT`'s methods, the Swift half (the prelude passes the zone's name first).
enum LuaSharedDictFunctions {
    static let functions: [(name: String, function: LuaPDK.Function)] = [
        ("ngx.shared_dict.exists", { c in c.returning(c.string(1).map(LuaSharedDicts.shared.exists) ?? false) }),
        ("ngx.shared_dict.get", { c in get(c, stale: false) }),
        ("ngx.shared_dict.get_stale", { c in get(c, stale: true) }),
        ("ngx.shared_dict.set", { c in store(c, mode: .set, evict: true) }),
        ("ngx.shared_dict.safe_set", { c in store(c, mode: .set, evict: false) }),
        ("ngx.shared_dict.add", { c in store(c, mode: .add, evict: true) }),
        ("ngx.shared_dict.safe_add", { c in store(c, mode: .add, evict: false) }),
        ("ngx.shared_dict.replace", { c in store(c, mode: .replace, evict: true) }),
        ("ngx.shared_dict.delete", { c in
            zone(c) { zone, key, _ in
                zone.remove(key)
                return c.returning(true)
            }
        }),
        ("ngx.shared_dict.incr", { c in incr(c) }),
        ("ngx.shared_dict.lpush", { c in push(c, front: true) }),
        ("ngx.shared_dict.rpush", { c in push(c, front: false) }),
        ("ngx.shared_dict.lpop", { c in pop(c, front: true) }),
        ("ngx.shared_dict.rpop", { c in pop(c, front: false) }),
        ("ngx.shared_dict.llen", { c in
            zone(c) { zone, key, now in
                guard let (entry, _) = zone.entry(key, now: now) else { return c.returning(0) }
                guard case .list(let items) = entry.value else { return c.failing("value not a list") }
                return c.returning(items.count)
            }
        }),
        ("ngx.shared_dict.ttl", { c in
            zone(c) { zone, key, now in
                guard let (entry, _) = zone.entry(key, now: now) else { return c.failing("not found") }
                return c.returning(entry.expires.map { max(0, $0 - now) } ?? 0)
            }
        }),
        ("ngx.shared_dict.expire", { c in
            zone(c) { zone, key, now in
                guard zone.entry(key, now: now) != nil else { return c.failing("not found") }
                zone.setExpiry(key, expiry(c.stack.number(at: 3), now: now))
                return c.returning(true)
            }
        }),
        ("ngx.shared_dict.flush_all", { c in
            withZone(c) { zone, _ in
                zone.removeAll()
                return c.nothing
            }
        }),
        ("ngx.shared_dict.flush_expired", { c in
            withZone(c) { zone, now in c.returning(zone.removeExpired(now: now, max: c.stack.integer(at: 2) ?? 0)) }
        }),
        ("ngx.shared_dict.get_keys", { c in
            withZone(c) { zone, now in
                let limit = c.stack.integer(at: 2) ?? 1024
                var keys: [Value] = []
                for (key, entry) in zone.entries where !(entry.expires.map { $0 <= now } ?? false) {
                    if limit > 0, keys.count >= limit { break }
                    keys.append(.string(key))
                }
                return c.returning(.array(keys))
            }
        }),
        ("ngx.shared_dict.capacity", { c in withZone(c) { zone, _ in c.returning(zone.capacity) } }),
        ("ngx.shared_dict.free_space", { c in withZone(c) { zone, _ in c.returning(zone.freeSpace) } }),
    ]

    private enum StoreMode { case set, add, replace }

    /// Runs `body` on the zone named by argument 1.
    private static func withZone(_ c: LuaCall, _ body: (inout Zone, Double) -> Int32) -> Int32 {
        guard let name = c.string(1) else { return c.raise("bad \"zone\" argument") }
        let now = WallClock.now()
        return LuaSharedDicts.shared.with(name) { body(&$0, now) } ?? c.raise("bad \"zone\" argument")
    }

    /// Runs `body` on the zone and the key of argument 2 (a string or number, not empty).
    private static func zone(_ c: LuaCall, _ body: (inout Zone, String, Double) -> Int32) -> Int32 {
        guard c.type(2) == .string || c.type(2) == .number, let key = c.string(2) else {
            return c.failing("nil key")
        }
        guard !key.isEmpty else { return c.failing("empty key") }
        guard key.utf8.count <= 65535 else { return c.failing("key too long") }
        return withZone(c) { zone, now in body(&zone, key, now) }
    }

    /// The value at `index` as a zone stores it; nil for nil; throws for other types.
    private static func value(_ c: LuaCall, _ index: Int32) -> Result<SharedValue?, LuaCallFailure> {
        switch c.type(index) {
        case .nil, .none: return .success(nil)
        case .string: return .success(.string(c.stack.bytes(at: index) ?? []))
        case .number: return .success(.number(c.stack.number(at: index) ?? 0))
        case .boolean: return .success(.bool(c.stack.bool(at: index)))
        default: return .failure(LuaCallFailure(message: "bad value type"))
        }
    }

    /// `exptime` seconds from now (0 or none: never).
    private static func expiry(_ seconds: Double?, now: Double) -> Double? {
        guard let seconds, seconds > 0 else { return nil }
        return now + seconds
    }

    private static func push(_ value: SharedValue, _ c: LuaCall) {
        switch value {
        case .string(let bytes): c.stack.push(bytes: bytes)
        case .number(let n): c.stack.push(n)
        case .bool(let b): c.stack.push(b)
        case .list: c.stack.pushNil()
        }
    }

    private static func get(_ c: LuaCall, stale: Bool) -> Int32 {
        zone(c) { zone, key, now in
            guard let (entry, expired) = zone.entry(key, now: now, stale: stale) else { return c.returning(nil as String?) }
            if case .list = entry.value { return c.failing("value is a list") }
            push(entry.value, c)
            guard entry.flags != 0 || stale else { return 1 }
            if entry.flags != 0 { c.stack.push(entry.flags) } else { c.stack.pushNil() }
            guard stale else { return 2 }
            c.stack.push(expired)
            return 3
        }
    }

    private static func store(_ c: LuaCall, mode: StoreMode, evict: Bool) -> Int32 {
        zone(c) { zone, key, now in
            let stored: SharedValue?
            switch value(c, 3) {
            case .success(let v): stored = v
            case .failure(let failure): return c.raise(failure.message)
            }
            let exists = zone.entry(key, now: now) != nil
            if mode == .add, exists { return result(c, false, "exists", forcible: false) }
            if mode == .replace, !exists { return result(c, false, "not found", forcible: false) }
            guard let stored else {
                zone.remove(key)
                return result(c, true, nil, forcible: false)
            }
            let expires = expiry(c.stack.number(at: 4), now: now)
            let flags = c.stack.integer(at: 5) ?? 0
            guard let forcible = zone.store(key, stored, flags: flags, expires: expires, evict: evict, now: now) else {
                return result(c, false, "no memory", forcible: false)
            }
            return result(c, true, nil, forcible: forcible)
        }
    }

    /// `ok, err, forcible` (`safe_*` have no third value, which Lua reads as nil, not false:
    /// both are falsy).
    private static func result(_ c: LuaCall, _ ok: Bool, _ error: String?, forcible: Bool) -> Int32 {
        c.stack.push(ok)
        c.stack.push(error)
        c.stack.push(forcible)
        return 3
    }

    private static func incr(_ c: LuaCall) -> Int32 {
        zone(c) { zone, key, now in
            guard let step = c.stack.number(at: 3) else { return c.raise("cannot convert 'value' to a number") }
            var expires: Double?
            let current: Double
            if let (entry, _) = zone.entry(key, now: now) {
                guard case .number(let n) = entry.value else { return c.failing("not a number") }
                current = n
                expires = entry.expires
            } else if let initial = c.stack.number(at: 4) {
                current = initial
                expires = expiry(c.stack.number(at: 5), now: now)
            } else {
                return c.failing("not found")
            }
            let flags = zone.entries[key]?.flags ?? 0
            guard let forcible = zone.store(key, .number(current + step), flags: flags, expires: expires, evict: true, now: now) else {
                return c.failing("no memory")
            }
            c.stack.push(current + step)
            c.stack.pushNil()
            c.stack.push(forcible)
            return 3
        }
    }

    private static func push(_ c: LuaCall, front: Bool) -> Int32 {
        zone(c) { zone, key, now in
            let item: SharedValue
            switch value(c, 3) {
            case .success(let v?) where v != .bool(true) && v != .bool(false): item = v
            case .failure(let failure): return c.raise(failure.message)
            default: return c.raise("bad value type")
            }
            var items: [SharedValue] = []
            var expires: Double?
            if let (entry, _) = zone.entry(key, now: now) {
                guard case .list(let existing) = entry.value else { return c.failing("value not a list") }
                items = existing
                expires = entry.expires
            }
            if front { items.insert(item, at: 0) } else { items.append(item) }
            guard zone.store(key, .list(items), flags: 0, expires: expires, evict: true, now: now) != nil else {
                return c.failing("no memory")
            }
            return c.returning(items.count)
        }
    }

    private static func pop(_ c: LuaCall, front: Bool) -> Int32 {
        zone(c) { zone, key, now in
            guard let (entry, _) = zone.entry(key, now: now) else { return c.returning(nil as String?) }
            guard case .list(var items) = entry.value else { return c.failing("value not a list") }
            guard !items.isEmpty else { return c.returning(nil as String?) }
            let item = front ? items.removeFirst() : items.removeLast()
            if items.isEmpty {
                zone.remove(key)
            } else {
                _ = zone.store(key, .list(items), flags: 0, expires: entry.expires, evict: true, now: now)
            }
            push(item, c)
            return 1
        }
    }
}

/// A failure a PDK function raises.
struct LuaCallFailure: Error {
    let message: String
}
