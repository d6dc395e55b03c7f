// The gateway side of `make bench-proxy`: serves a kong.yml with kgate's proxy until killed.
//
//   ProxyBenchServer <kong.yml> <host:port> <event loops>
//
// A stand-in for `kgate start` (run.sh uses `kgate start` as soon as it serves the proxy).
#if canImport(Glibc)
import Glibc
#endif
import KGateConfig
import KGateProxy
import KGateSettings
import KGateStore
import Logging

let arguments = CommandLine.arguments
guard arguments.count == 4, let loops = Int(arguments[3]) else {
    print("usage: ProxyBenchServer <kong.yml> <host:port> <event loops>")
    exit(2)
}
let parts = arguments[2].split(separator: ":")
var settings = NodeSettings()
settings.proxyListen = [
    ListenAddress(host: String(parts[0]), port: Int(parts[1]) ?? 8000, reuseport: true, backlog: 16384)
]
settings.workerProcesses = .count(loops)
let catalog = EntityCatalog()
let store = try ConfigStore(catalog: catalog, artifacts: [ProxyPlansBuilder(settings: settings)])
switch DeclarativeLoader(catalog: catalog).load(path: arguments[1]) {
case .success(let config):
    try store.install(config, source: .file(path: arguments[1]))
case .failure(let error):
    print("ProxyBenchServer: cannot load \(arguments[1]): \(error)")
    exit(1)
}
var logger = Logger(label: "kgate.bench")
logger.logLevel = .warning
let server = ProxyServer(settings: settings, store: store, logger: logger)
try await server.bind()
print("ProxyBenchServer listening on \(server.localAddresses)")
// SIGTERM's default action ends the process: a benchmark needs no graceful drain.
try await server.run()
