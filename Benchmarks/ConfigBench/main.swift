// Config load benchmark (`make bench-config`): generates a large kong.yml and measures
// parse + validate + flatten time in-process, and `kgate config parse` as a whole process
// (wall time and peak RSS from wait4).
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KGateConfig
import KGatePlugins

/// The generated config: services with nested routes, consumers with key-auth credentials, plugins.
func generateConfig(services: Int, consumers: Int, plugins: Int) -> String {
    var out = "_format_version: \"3.0\"\nservices:\n"
    out.reserveCapacity(services * 300 + consumers * 150)
    for i in 0..<services {
        out += """
        - name: service-\(i)
          url: http://upstream-\(i % 97).internal:8080/api/v\(i % 3)
          connect_timeout: 5000
          tags: [bench, team-\(i % 10)]
          routes:
          - name: route-\(i)
            paths: [/svc/\(i)/]
            methods: [GET, POST]
            hosts: [api\(i % 50).example.com]
            strip_path: true

        """
    }
    out += "consumers:\n"
    for i in 0..<consumers {
        out += """
        - username: user-\(i)
          custom_id: cid-\(i)
          keyauth_credentials:
          - key: key-\(i)-secret

        """
    }
    out += "plugins:\n"
    // Valid configs of plugins kgate runs (validated with their schemas, defaults filled).
    let kinds = [
        ("key-auth", "{}"), ("rate-limiting", "{minute: 100}"), ("cors", "{}"), ("request-termination", "{}"),
        ("acl", "{allow: [group-a]}"),
    ]
    for i in 0..<plugins {
        let (name, config) = kinds[i % kinds.count]
        out += """
        - name: \(name)
          service: service-\(i)
          config: \(config)

        """
    }
    return out
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Runs a command, returning wall seconds, exit status and the child's peak RSS in MiB.
func runProcess(_ argv: [String]) -> (seconds: Double, status: Int32, rssMiB: Double) {
    let start = now()
    let pid = fork()
    if pid == 0 {
        let devnull = open("/dev/null", O_WRONLY)
        dup2(devnull, 1)
        var cargs = argv.map { strdup($0) }
        cargs.append(nil)
        execv(argv[0], &cargs)
        _exit(127)
    }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    return (now() - start, (status >> 8) & 0xFF, Double(usage.ru_maxrss) / 1024)
}

let args = CommandLine.arguments
let path = "/tmp/kgate-bench-config.yml"
let text = generateConfig(services: 10_000, consumers: 10_000, plugins: 1_000)
do {
    let f = fopen(path, "w")!
    fputs(text, f)
    fclose(f)
}
let bytes = Array(text.utf8)
print("config: 10,000 services + 10,000 routes, 10,000 consumers with key-auth credentials, 1,000 plugins (\(bytes.count / 1024) KiB)")

// The node's catalog: the bundled plugins' config schemas included, as `kgate config parse`.
let loader = DeclarativeLoader(catalog: EntityCatalog(pluginConfigSchemas: BundledPluginSet.configSchemas))
let rssBefore = peakRSSMiB()
var best = Double.infinity
for run in 1...3 {
    let start = now()
    let result = loader.load(bytes: bytes, fileName: "kong.yml")
    let elapsed = now() - start
    best = min(best, elapsed)
    switch result {
    case .success(let config):
        if run == 1 {
            print("loaded: \(config.count(of: "services")) services, \(config.count(of: "routes")) routes, \(config.count(of: "consumers")) consumers, \(config.count(of: "keyauth_credentials")) credentials, \(config.count(of: "plugins")) plugins")
        }
    case .failure(let error):
        print("load failed: \(error.fields)")
        exit(1)
    }
    print(String(format: "run %d: parse + validate + flatten %.0f ms", run, elapsed * 1000))
}
print(String(format: "in-process best: %.0f ms (target < 1000 ms); peak RSS %.0f MiB (before loading %.0f MiB; target < 500 MiB)", best * 1000, peakRSSMiB(), rssBefore))

let binary = args.count > 1 ? args[1] : ".build/release/kgate"
if access(binary, X_OK) == 0 {
    let r = runProcess([binary, "config", "parse", path])
    print(String(format: "`kgate config parse` process: %.0f ms, exit %d, peak RSS %.0f MiB (target < 1500 ms)", r.seconds * 1000, r.status, r.rssMiB))
} else {
    print("(\(binary) not built: skipping the whole-process figure)")
}
