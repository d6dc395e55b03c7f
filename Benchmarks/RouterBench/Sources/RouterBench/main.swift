import CMallocCounter
import KGateRouter
import KGateSchema

// Router benchmark (`make bench-router`): generated route sets of 100, 1,000, 10,000 and
// 100,000 routes (70% prefix paths, 20% hosts including wildcards, 10% regex paths), for the
// traditional_compatible (default) and traditional flavors. Reports the median match time per
// set (best of three rounds, as the machine may be shared), the 10k/100 ratio, allocations per
// match (counted by the malloc interposer of CMallocCounter) and the build time (median of 5);
// exits 1 when a target of the default flavor is missed (`--no-targets` only reports).
#if canImport(Glibc)
    import Glibc
#endif

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Keeps results alive so the optimiser cannot drop the matches.
nonisolated(unsafe) var sink = 0

@inline(never)
func consume(_ m: RouteMatch?) {
    if let m { sink &+= m.route.regexPriority &+ 1 }
}

struct Workload {
    var routes: [RouteDefinition] = []
    var services: [ServiceDefinition] = []
    /// Requests expected to reach prefix and host routes, with the route id each must reach.
    var prefixHost: [(RouteRequest, String)] = []
    var regex: [(RouteRequest, String)] = []
    var entities: [Object] = []
}

/// Route `i`: 70% prefix paths, 10% plain hosts, 10% wildcard hosts, 10% regex paths.
func generate(_ n: Int) -> Workload {
    var w = Workload()
    for s in 0..<50 {
        w.services.append(
            ServiceDefinition(
                id: uuid(0xFFFF_0000 + s), name: "svc-\(s)", protocol: "http", host: "upstream-\(s).internal",
                port: 8080,
                path: s % 2 == 0 ? "/api" : nil))
    }
    for i in 0..<n {
        let id = uuid(i)
        let service = w.services[i % 50].id
        var r = RouteDefinition(id: id, name: "route-\(i)", serviceID: service)
        switch i % 10 {
        case 0...6:
            r.paths = ["/api/v\(i % 3)/svc\(i)/items"]
            if i % 4 == 0 { r.methods = ["GET", "POST"] }
            w.prefixHost.append(
                (
                    RouteRequest(
                        method: "GET", target: "/api/v\(i % 3)/svc\(i)/items/42?page=\(i % 7)",
                        host: "gateway.example.com"), id
                ))
        case 7:
            r.hosts = ["host\(i).example.com"]
            if i % 20 == 7 { r.paths = ["/h"] }
            w.prefixHost.append(
                (
                    RouteRequest(
                        method: "GET", target: i % 20 == 7 ? "/h/x" : "/anything", host: "host\(i).example.com"), id
                ))
        case 8:
            let wildcard = (i / 10) % 2 == 0
            r.hosts = [wildcard ? "*.t\(i).example.com" : "t\(i).*"]
            let host = wildcard ? "api.t\(i).example.com" : "t\(i).example.org:8443"
            w.prefixHost.append((RouteRequest(method: "GET", target: "/x", host: host), id))
        default:
            r.paths = ["~/r\(i)/items/(?<id>\\d+)$"]
            w.regex.append((RouteRequest(method: "GET", target: "/r\(i)/items/\(i)", host: "gateway.example.com"), id))
        }
        w.routes.append(r)
    }
    return w
}

func uuid(_ i: Int) -> String {
    let hex = String(i, radix: 16)
    let tail = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    return "e8fb37f1-102d-461e-9c51-" + tail
}

func entities(_ w: Workload) -> [Object] {
    w.routes.map { r in
        var o: Object = [
            "id": .string(r.id), "name": .string(r.name ?? ""), "protocols": ["http", "https"], "strip_path": true,
        ]
        if let p = r.paths { o["paths"] = .array(p.map { .string($0) }) }
        if let h = r.hosts { o["hosts"] = .array(h.map { .string($0) }) }
        if let m = r.methods { o["methods"] = .array(m.map { .string($0) }) }
        o["service"] = ["id": .string(r.serviceID ?? "")]
        return o
    }
}

/// Median nanoseconds per match over `batches` batches of `perBatch` matches.
func medianMatchNs(_ router: Router, _ requests: [RouteRequest], batches: Int = 101, perBatch: Int = 2_000) -> Double {
    var samples: [Double] = []
    var k = 0
    for r in requests.prefix(perBatch) { consume(router.match(r)) }  // warm up
    requests.withUnsafeBufferPointer { requests in
        for _ in 0..<batches {
            let start = nowNs()
            for _ in 0..<perBatch {
                consume(router.match(requests[k]))
                k += 1
                if k == requests.count { k = 0 }
            }
            samples.append(Double(nowNs() - start) / Double(perBatch))
        }
    }
    samples.sort()
    return samples[samples.count / 2]
}

/// Allocation calls per match (and per match + upstream target).
func allocationsPerMatch(_ router: Router, _ requests: [RouteRequest]) -> (match: Double, withUpstream: Double) {
    for r in requests.prefix(100) { consume(router.match(r)) }
    let count = min(requests.count, 5_000)
    let before = kgate_malloc_count()
    for r in requests.prefix(count) { consume(router.match(r)) }
    let middle = kgate_malloc_count()
    for r in requests.prefix(count) {
        if let m = router.match(r) { sink &+= m.upstreamTarget.utf8.count }
    }
    let after = kgate_malloc_count()
    return (Double(middle - before) / Double(count), Double(after - middle) / Double(count))
}

func ms(_ ns: UInt64) -> String { String(format1(Double(ns) / 1e6)) + " ms" }
func format1(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) + ".0" : String(r)
}
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

if CommandLine.arguments.contains("--probe") {
    // `gdb -ex 'break kgate_probe_marker' -ex run -ex 'break malloc' -ex continue -ex bt`
    let w = generate(100)
    let router = Router(
        routes: w.routes, services: w.services,
        flavor: CommandLine.arguments.contains("--traditional") ? .traditional : .traditionalCompatible)
    let requests = w.prefixHost.map(\.0)
    for r in requests { consume(router.match(r)) }
    kgate_probe_marker()
    for r in requests.prefix(3) { consume(router.match(r)) }
    exit(0)
}

if let i = CommandLine.arguments.firstIndex(of: "--loop") {
    // For `perf record`: match prefix/host requests against N routes for a few seconds.
    let n = Int(CommandLine.arguments[i + 1]) ?? 10_000
    let w = generate(n)
    let router = Router(
        routes: w.routes, services: w.services,
        flavor: CommandLine.arguments.contains("--traditional") ? .traditional : .traditionalCompatible)
    let requests = w.prefixHost.map(\.0)
    let end = nowNs() + 3_000_000_000
    requests.withUnsafeBufferPointer { requests in
        while nowNs() < end {
            for k in 0..<min(requests.count, 10_000) { consume(router.match(requests[k])) }
        }
    }
    exit(0)
}

var failures: [String] = []
let sizes = [100, 1_000, 10_000, 100_000]
let assertions = CommandLine.arguments.contains("--no-targets") == false

print("kgate router benchmark (release build, \(sizes.map(String.init).joined(separator: "/")) routes)")
print(
    "ns per match: median over 101 batches of 2,000 matches (best of 3 rounds); allocations counted with a malloc interposer\n"
)

for flavor in [Router.Flavor.traditionalCompatible, .traditional] {
    print("router_flavor = \(flavor.rawValue)")
    print("  routes   build      prefix/host  regex   miss   allocs/match  allocs/match+upstream  regex allocs")
    var medians: [Int: Double] = [:]
    for n in sizes {
        let w = generate(n)
        var buildTimes: [UInt64] = []
        var router: Router!
        for _ in 0..<(n <= 10_000 ? 5 : 1) {
            let t0 = nowNs()
            router = Router(routes: w.routes, services: w.services, flavor: flavor)
            buildTimes.append(nowNs() - t0)
        }
        buildTimes.sort()
        let build = buildTimes[buildTimes.count / 2]
        for (r, id) in w.prefixHost + w.regex where router.match(r)?.route.id != id {
            failures.append(
                "\(flavor.rawValue) \(n): \(r.target) on \(r.host ?? "-") reached \(router.match(r)?.route.id ?? "nothing"), not \(id)"
            )
            break
        }
        var g = SplitMix(state: UInt64(n))
        let prefixHost = (0..<4_096).map { _ in w.prefixHost[Int(g.next() % UInt64(w.prefixHost.count))].0 }
        let regex = (0..<1_024).map { _ in w.regex[Int(g.next() % UInt64(w.regex.count))].0 }
        let miss = [RouteRequest(method: "GET", target: "/nothing/here", host: "unknown.example.net")]
        // Best of three medians: the box is shared, a round disturbed by another process is
        // discarded rather than averaged in.
        let ph = (0..<3).map { _ in medianMatchNs(router, prefixHost) }.min()!
        let rx = (0..<3).map { _ in medianMatchNs(router, regex, batches: 31, perBatch: 500) }.min()!
        let ms404 = (0..<3).map { _ in medianMatchNs(router, miss, batches: 31, perBatch: 2_000) }.min()!
        let allocs = allocationsPerMatch(router, prefixHost)
        let regexAllocs = allocationsPerMatch(router, regex).match
        medians[n] = ph
        print(
            "  \(pad(String(n), 6))  \(pad(ms(build), 10))  \(pad(format1(ph), 9)) ns  \(pad(format1(rx), 6))  \(pad(format1(ms404), 5))"
                + "  \(pad(format1(allocs.match), 12))  \(pad(format1(allocs.withUpstream), 21))  \(pad(format1(regexAllocs), 12))"
        )
        if flavor == .traditionalCompatible {
            if n == 10_000 {
                if build > 200_000_000 { failures.append("build of 10,000 routes took \(ms(build)) (target < 200 ms)") }
                if ph >= 1_000 { failures.append("median match at 10,000 routes is \(format1(ph)) ns (target < 1 µs)") }
            }
            if allocs.match > 0 {
                failures.append("\(n) routes: \(allocs.match) allocations per prefix/host match (target 0)")
            }
        }
        if n == 10_000 {
            let e = entities(w)
            let services: [Object] = w.services.map { s in
                [
                    "id": .string(s.id), "name": .string(s.name ?? ""), "protocol": "http", "host": .string(s.host),
                    "port": 8080,
                ]
            }
            let t0 = nowNs()
            let fromEntities = Router(routeEntities: e, serviceEntities: services, flavor: flavor)
            let elapsed = nowNs() - t0
            precondition(fromEntities.routes.count == n, "entity routes lost: \(fromEntities.diagnostics.prefix(3))")
            print("          (10,000 routes from entity objects, adapter included: \(ms(elapsed)))")
        }
    }
    if let a = medians[100], let b = medians[10_000] {
        let ratio = b / a
        print("  ratio 10,000 / 100 routes: \((ratio * 100).rounded() / 100)x\n")
        if flavor == .traditionalCompatible, ratio > 3 { failures.append("10k/100 ratio \(ratio) (target ≤ 3)") }
    }
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

if sink == 42 { print("") }
if failures.isEmpty {
    print("all targets met")
} else {
    for f in failures { print("TARGET MISSED: \(f)") }
    if assertions { exit(1) }
}
