import KGateProxy
import KGateStore
import KGateWatch
import Logging
import ServiceLifecycle
import UnixSignals

/// Keeps the reload coordinator's load loop running until shutdown, then stops it.
struct CoordinatorService: Service {
    let loop: Task<Void, Never>
    func run() async throws {
        await withGracefulShutdownHandler {
            await loop.value
        } onGracefulShutdown: {
            loop.cancel()
        }
    }
}

/// Reloads the config file on SIGHUP (`kill -HUP`), or what `kgate reload` asked for
/// (``ReloadRequest``).
struct ReloadSignalService: Service {
    let node: Node
    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                let request = ReloadRequest.take(prefix: node.settings.prefix)
                if let path = request.map(\.declarativeConfig) ?? node.settings.declarativeConfig {
                    node.logger.notice("SIGHUP: reloading the declarative config", metadata: ["config.file": "\(path)"])
                    // Once the file is the running config (loaded, or the same text), the start
                    // file's edits are followed only if it is that file.
                    switch await node.coordinator.reload(.file(path)) {
                    case .flipped, .skipped:
                        let isStartFile = node.settings.declarativeConfig.map { ConfigFile.sameFile(path, $0) } ?? false
                        node.followsStartFile.store(isStartFile, ordering: .relaxed)
                    case .rejected, .superseded, .shutdown:
                        break
                    }
                } else if request != nil {
                    node.logger.notice("SIGHUP: the reload names no declarative_config; keeping the running config")
                } else {
                    node.logger.notice("SIGHUP: no declarative_config file to reload")
                }
            }
        }
    }
}

/// Answers SIGUSR1, which nginx takes as "reopen the log files" and log rotation scripts send
/// to Kong, instead of letting it end the process: the error log and access log files are
/// opened again (a rotated file is left to the rotation), standard error needs nothing.
struct LogReopenSignalService: Service {
    let logger: Logger
    let errorLog: ErrorLogFile?
    let accessLogs: [LogFile]

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                if errorLog == nil, accessLogs.isEmpty {
                    logger.notice("SIGUSR1: kgate logs to standard error only, there is no log file to reopen")
                    continue
                }
                if let errorLog {
                    do {
                        try errorLog.reopen()
                        logger.notice("SIGUSR1: reopened the error log", metadata: ["path": "\(errorLog.path)"])
                    } catch {
                        logger.error("SIGUSR1: \(error), still writing the previous file")
                    }
                }
                for file in accessLogs {
                    do {
                        try file.reopen()
                        logger.notice("SIGUSR1: reopened the access log", metadata: ["path": "\(file.path)"])
                    } catch {
                        logger.error("SIGUSR1: the access log \(error), still writing the previous file")
                    }
                }
            }
        }
    }
}

/// Follows the config file: every changed content is submitted for a reload; an unreadable
/// file keeps the running config and logs a warning. While the node runs another file
/// (`kgate reload` named one), changes are noted and not loaded.
struct WatcherService: Service {
    let path: String
    let watcher: ConfigFileWatcher
    let events: AsyncStream<WatchEvent>
    let coordinator: ReloadCoordinator
    let logger: Logger
    /// Whether the node still runs `path`'s config.
    let follows: @Sendable () -> Bool

    func run() async throws {
        await withGracefulShutdownHandler {
            for await event in events {
                switch event {
                case .changed where !follows():
                    logger.notice(
                        "declarative config changed; not reloaded: `kgate reload` loaded another file",
                        metadata: ["config.file": "\(path)"])
                case .changed:
                    coordinator.submit(.file(path))
                case .unreadable(let reason):
                    logger.warning(
                        "declarative config unreadable; keeping the running config",
                        metadata: ["config.file": "\(path)", "reason": "\(reason)"])
                }
            }
        } onGracefulShutdown: {
            watcher.stop()
        }
    }
}

/// Runs the proxy until shutdown, then lets in-flight requests finish (the proxy's grace period).
struct ProxyService: Service {
    let proxy: ProxyServer
    func run() async throws {
        try await withGracefulShutdownHandler {
            try await proxy.run()
        } onGracefulShutdown: {
            Task { await proxy.shutdown() }
        }
    }
}
