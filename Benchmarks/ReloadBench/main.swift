// Reload benchmark (`make bench-reload`): runs `kgate start` on a generated config and measures
// (1) file write → new configuration_hash live for a 10,000-route config, (2) peak RSS during
// reloads against the steady-state RSS above an empty node, (3) RSS growth over 1,000 reloads
// of a 1,000-entity config.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Prints a line at once (stdout may be a pipe or a file).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let kgate = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".build/release/kgate"
let dir = NSTemporaryDirectory() + "kgate-reload-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dir) }
let configPath = dir + "/kong.yml"
let statusPort = 18907

/// A config of `routes` routes over `routes / 10` services; `salt` changes the hash.
func config(routes: Int, salt: Int) -> String {
    var out = "_format_version: \"3.0\"\n_comment: \"salt \(salt)\"\nservices:\n"
    for s in 0..<max(1, routes / 10) {
        out += "- name: svc-\(s)\n  url: http://10.0.\(s % 250).\(s % 200 + 1):8080/api\n  routes:\n"
        for r in 0..<10 {
            let i = s * 10 + r
            out += "  - name: route-\(i)\n    paths: [/s\(s)/r\(r)]\n    hosts: [h\(i % 100).example.com]\n"
        }
    }
    return out
}

func write(_ text: String) {
    let tmp = configPath + ".tmp"
    _ = FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8))
    rename(tmp, configPath)
}

func md5(_ text: String) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/md5sum")
    let pipe = Pipe()
    let input = Pipe()
    p.standardOutput = pipe
    p.standardInput = input
    try! p.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try! input.fileHandleForWriting.close()
    p.waitUntilExit()
    return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")[0].description
}

/// `GET /status` on the node's status port; the configuration_hash or nil.
func liveHash() -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(statusPort).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { return nil }
    let request = "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        data += buf[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let r = text.range(of: "\"configuration_hash\":\"") else { return nil }
    return String(text[r.upperBound...].prefix(32))
}

func now() -> Double { Date().timeIntervalSince1970 }

func waitFor(hash: String, timeout: Double = 30) -> Double? {
    let start = now()
    while now() - start < timeout {
        if liveHash() == hash { return now() - start }
        usleep(1000)
    }
    return nil
}

/// VmRSS and VmHWM of a process, in MiB.
func memory(_ pid: Int32) -> (rss: Double, peak: Double) {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

func startNode(debounceMs: Int) -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: kgate)
    p.arguments = ["start", "--declarative-config", configPath, "--proxy-listen", "off", "--admin-listen", "off",
                   "--status-listen", "127.0.0.1:\(statusPort)", "-p", dir + "/prefix"]
    var env = ProcessInfo.processInfo.environment
    env["KONG_DECLARATIVE_CONFIG_DEBOUNCE"] = String(debounceMs)
    env["KONG_LOG_LEVEL"] = "error"
    if let arenas = ProcessInfo.processInfo.environment["BENCH_MALLOC_ARENA_MAX"] { env["MALLOC_ARENA_MAX"] = arenas }
    p.environment = env
    try! p.run()
    return p
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

// 1 + 2: reload latency and peak memory with 10,000 routes.
write("_format_version: \"3.0\"\n")
var node = startNode(debounceMs: 50)
// An empty config reports Kong's empty hash (32 zeros).
guard waitFor(hash: String(repeating: "0", count: 32)) != nil else { fatalError("node did not start") }
let empty = memory(node.processIdentifier).rss
var big = config(routes: 10_000, salt: 0)
write(big)
guard waitFor(hash: md5(big)) != nil else { fatalError("first 10k load failed") }
sleep(1)
let steady = memory(node.processIdentifier).rss
var latencies: [Double] = []
for salt in 1...5 {
    big = config(routes: 10_000, salt: salt)
    let hash = md5(big)
    let start = now()
    write(big)
    guard waitFor(hash: hash) != nil else { fatalError("10k reload \(salt) failed") }
    latencies.append((now() - start) * 1000)
}
let peak = memory(node.processIdentifier).peak
say("10,000 routes (1,000 services): file write → new hash live, median of 5: \(Int(median(latencies))) ms (includes the 50 ms debounce; target < 500 ms); runs: \(latencies.map { Int($0) })")
let ratio = (peak - empty) / max(1, steady - empty)
say(String(format: "RSS: empty node %.0f MiB, steady with 10k routes %.0f MiB, peak during reloads %.0f MiB → peak/steady above empty = %.2f× (target ≤ 2.5×)", empty, steady, peak, ratio))
node.terminate()
node.waitUntilExit()

// 3: 1,000 reloads of a 1,000-entity config.
write(config(routes: 900, salt: 0))
node = startNode(debounceMs: 1)
guard waitFor(hash: md5(config(routes: 900, salt: 0))) != nil else { fatalError("node did not start") }
var afterWarmup = 0.0
for salt in 1...1000 {
    let text = config(routes: 900, salt: salt)
    write(text)
    guard waitFor(hash: md5(text)) != nil else { fatalError("reload \(salt) failed") }
    if salt == 100 { afterWarmup = memory(node.processIdentifier).rss }
}
let final = memory(node.processIdentifier).rss
say(String(format: "1,000 reloads of a 990-entity config: RSS after 100 reloads %.1f MiB, after 1,000 %.1f MiB → growth %.1f%% (target < 5%%)", afterWarmup, final, (final - afterWarmup) / afterWarmup * 100))
node.terminate()
node.waitUntilExit()
