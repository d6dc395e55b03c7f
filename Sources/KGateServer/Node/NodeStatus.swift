import KGateConfig
import KGateSchema
import KGateStore

/// The status endpoints' view of a node: the reload coordinator's status and the live generation.
struct NodeStatus: NodeStatusSource {
    let coordinator: ReloadCoordinator

    var configurationHash: String { coordinator.store.current.configurationHash }

    func reloadReport() -> Value {
        let s = coordinator.status
        var report: Object = [
            "generation": .integer(s.generation),
            "hash": .string(s.hash),
            "source": .string(s.source.description),
            "loaded_at": s.loadedAt > 0 ? .number(s.loadedAt) : .null,
            "durations_ms": [
                "parse": .number(s.durations.parse.milliseconds.rounded3),
                "validate": .number(s.durations.validate.milliseconds.rounded3),
                "build": .number(s.durations.build.milliseconds.rounded3),
                "flip": .number(s.durations.flip.milliseconds.rounded3),
            ],
            "entities": .object(Object(uniqueKeysWithValues: s.entityCounts.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            "counters": [
                "flipped": .integer(s.counters.flipped),
                "rejected": .integer(s.counters.rejected),
                "skipped": .integer(s.counters.skipped),
                "superseded": .integer(s.counters.superseded),
            ],
        ]
        report["last_outcome"] = s.lastOutcome.map { .string($0.rawValue) } ?? .null
        if let e = s.lastError {
            report["last_error"] = [
                "message": .string(e.message),
                "stage": .string(e.stage.rawValue),
                "source": e.file.map { file in
                    ["file": .string(file), "line": e.line.map { .integer($0) } ?? .null, "column": e.column.map { .integer($0) } ?? .null]
                } ?? .null,
                "errors": .integer(e.errorCount),
                "hash": e.hash.map { .string($0) } ?? .null,
                "at": .number(e.at),
            ]
        } else {
            report["last_error"] = .null
        }
        return .object(report)
    }
}

private extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
}
