import KGateSchema

/// Reads, validates and flattens Kong declarative configs (Kong's `parse_string` + `flatten`).
///
/// Build one per node configuration (entity catalogue and plugin schemas); it is immutable and
/// may be shared across threads.
public struct DeclarativeLoader: Sendable {
    private let declarative: DeclarativeSchema
    private let full: DeclarativeSchema
    private let auto: Schema.AutoValues

    public init(catalog: EntityCatalog = EntityCatalog(), auto: Schema.AutoValues? = nil) {
        // The metaschema: a schema that breaks its rules is a programming error, caught at start-up.
        precondition(
            catalog.order.allSatisfy { catalog.schemas[$0]?.definitionErrors().isEmpty ?? true },
            "an entity schema breaks the metaschema rules")
        declarative = DeclarativeSchema(catalog: catalog)
        full = DeclarativeSchema(catalog: catalog, includeForeign: true)
        self.auto = auto ?? .live
    }

    /// Parses and validates raw config text. `fileName` picks JSON or YAML as Kong does.
    ///
    /// Memory: the parsed document (values plus a position for every node) is dropped as soon as
    /// its values are taken, and parsed again only when errors need positions, so a reload holds
    /// as little as possible next to the running generation.
    public func load(bytes: [UInt8], fileName: String?) -> Result<DeclarativeConfig, DeclarativeError> {
        let clock = ContinuousClock()
        let start = clock.now
        var input: Object
        switch parseInput(bytes, fileName: fileName) {
        case .failure(let e): return .failure(e)
        case .success(let o): input = o
        }
        let parsed = clock.now
        let result = declarative.flatten(consume input, full: full, auto: auto) {
            (try? parseInput(bytes, fileName: fileName).get()) ?? [:]
        }
        let validated = clock.now
        switch result {
        case .failure(let failure):
            let document = try? ConfigText.parse(bytes, fileName: fileName).get()
            var error = DeclarativeError(fields: failure.errors, document: document, fileName: fileName)
            if failure.afterIDs, case .success(var input) = parseInput(bytes, fileName: fileName) {
                declarative.generateIDs(&input)
                error.inputWithIDs = input
            }
            return .failure(error)
        case .success(let result):
            var config = DeclarativeConfig(
                entities: result.entities, meta: result.meta, hash: ConfigHash.md5Hex(bytes), fileName: fileName)
            config.parseDuration = parsed - start
            config.validateDuration = validated - parsed
            return .success(config)
        }
    }

    /// The document's top-level object with the 1.1/2.1 route-path migration applied.
    private func parseInput(_ bytes: [UInt8], fileName: String?) -> Result<Object, DeclarativeError> {
        switch ConfigText.parse(bytes, fileName: fileName) {
        case .failure(let e):
            return .failure(DeclarativeError(
                fields: ErrorNode([(.field("error"), .message(e.message))]), document: nil, fileName: fileName,
                syntaxMark: e.mark))
        case .success(let document):
            guard case .object(var input) = document.value else {
                return .failure(DeclarativeError(
                    fields: ErrorNode([(.field("error"), .message("failed parsing declarative configuration: expected an object"))]),
                    document: document, fileName: fileName))
            }
            RoutePathMigration.apply(&input)
            return .success(input)
        }
    }

    /// Reads and loads a file.
    public func load(path: String) -> Result<DeclarativeConfig, DeclarativeError> {
        guard let bytes = FileBytes.read(path) else {
            return .failure(DeclarativeError(
                fields: ErrorNode([(.field("error"), .message("could not read file '\(path)'"))]), document: nil, fileName: path))
        }
        return load(bytes: bytes, fileName: path)
    }
}

extension Schema.AutoValues {
    /// Real values: random v4 ids and the current time.
    public static let live = Schema.AutoValues(
        uuid: { EntityID.random() },
        nowSeconds: { Int(Clock.now()) },
        nowMilliseconds: { (Clock.now() * 1000).rounded() / 1000 },
        randomString: { EntityID.random().replacingDashes() })
}

private extension String {
    func replacingDashes() -> String { String(filter { $0 != "-" }) }
}
