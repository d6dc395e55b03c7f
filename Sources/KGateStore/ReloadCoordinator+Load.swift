import KGateConfig
import Logging

extension ReloadCoordinator {
    /// One load: read, hash, parse + validate, build, flip; then status, one log line, one event,
    /// and the text persisted.
    func perform(_ request: ReloadRequest) -> ReloadOutcome {
        let startedAt = WallClock.now()
        let bytes: [UInt8]
        switch request.input {
        case .bytes(let b):
            bytes = b
        case .file(let path):
            switch ConfigFile.contents(of: path) {
            case .success(let b): bytes = b
            case .failure(let e):
                let error = LoadError(
                    stage: .read, message: e.message, file: path, source: request.source, at: startedAt)
                return rejected(error, declarative: nil)
            }
        }

        let hash = ConfigHash.md5Hex(bytes)
        if !request.force, hash == store.current.hash {
            return skipped(hash: hash, source: request.source, at: startedAt)
        }

        let clock = ContinuousClock()
        let parseStart = clock.now
        let loaded = loader.load(bytes: bytes, fileName: request.fileName)
        let parse = clock.now - parseStart
        let config: DeclarativeConfig
        switch loaded {
        case .success(let c): config = c
        case .failure(let e):
            return rejected(LoadError(e, hash: hash, source: request.source, at: startedAt), declarative: e)
        }

        let generation: Generation
        do {
            generation = try store.prepare(config, source: request.source, parseDuration: parse)
        } catch {
            let failure = LoadError(
                stage: .build, message: error.description, file: request.fileName, hash: hash, source: request.source,
                at: startedAt)
            return rejected(failure, declarative: nil)
        }
        guard let flip = store.flip() else { preconditionFailure("a prepared generation vanished before its flip") }
        let event = ConfigFlipped(
            oldHash: flip.old.hash, newHash: generation.hash, generation: generation.number, source: request.source,
            durations: LoadDurations(
                parse: parse - config.validateDuration, validate: config.validateDuration, build: generation.buildDuration,
                flip: flip.duration),
            entityCounts: generation.entityCounts)
        statusBox.withLock { $0.record(flipped: event, generation: generation, at: startedAt) }
        logger.notice(
            "configuration reloaded",
            metadata: [
                "config.generation": "\(event.generation)",
                "config.hash.old": "\(event.oldHash)",
                "config.hash.new": "\(event.newHash)",
                "config.source": "\(event.source)",
                "config.entities": "\(Self.countsText(event.entityCounts))",
                "config.duration.parse_ms": "\(event.durations.parse.millisecondsText)",
                "config.duration.validate_ms": "\(event.durations.validate.millisecondsText)",
                "config.duration.build_ms": "\(event.durations.build.millisecondsText)",
                "config.duration.flip_ms": "\(event.durations.flip.millisecondsText)",
            ])
        events.publish(.configFlipped(event))
        persist(bytes, source: request.source)
        return .flipped(event)
    }

    /// Saves a flipped config's text for the next start; a failure is logged, the load stands.
    private func persist(_ bytes: [UInt8], source: ConfigSource) {
        guard let persistence else { return }
        if case .persisted = source { return }
        do {
            try persistence.save(bytes)
        } catch {
            logger.warning(
                "the configuration could not be persisted; a restart without a declarative config will not serve it",
                metadata: ["config.persisted": "\(persistence.path)", "error.message": "\(error)"])
        }
    }

    private func rejected(_ error: LoadError, declarative: DeclarativeError?) -> ReloadOutcome {
        statusBox.withLock { $0.record(rejected: error) }
        var metadata: Logger.Metadata = [
            "config.generation": "\(store.current.number)",
            "config.source": "\(error.source)",
            "error.stage": "\(error.stage.rawValue)",
            "error.message": "\(error.message)",
            "error.count": "\(error.errorCount)",
        ]
        if let hash = error.hash { metadata["config.hash"] = "\(hash)" }
        if let file = error.file { metadata["error.file"] = "\(file)" }
        if let line = error.line { metadata["error.line"] = "\(line)" }
        if let column = error.column { metadata["error.column"] = "\(column)" }
        // A bad file is an operator's error to see in the log; a `POST /config` that Kong
        // refuses is answered with its errors and logged by Kong at no level a check for
        // `[error]` or `[warn]` would see.
        let level: Logger.Level = error.source == .admin ? .info : .error
        logger.log(level: level, "configuration rejected, keeping the active configuration", metadata: metadata)
        events.publish(.configRejected(ConfigRejected(error: error)))
        return .rejected(error, declarative: declarative)
    }

    private func skipped(hash: String, source: ConfigSource, at: Double) -> ReloadOutcome {
        statusBox.withLock { $0.record(skippedAt: at) }
        logger.info(
            "configuration unchanged, reload skipped",
            metadata: [
                "config.generation": "\(store.current.number)",
                "config.hash": "\(hash)",
                "config.source": "\(source)",
            ])
        return .skipped(hash: hash)
    }

    /// `consumers=1 routes=4 services=2`: counts sorted by entity name.
    static func countsText(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
