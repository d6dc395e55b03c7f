/// Builds one derived structure of a generation from its page: the router, the plugins iterator,
/// the balancers, the SNI → certificate index...
///
/// Builders are registered once on the `ConfigStore` and run, in registration order, for every
/// load (and once for the empty generation the store starts with). A generation is published
/// only when every builder succeeded; a builder that throws rejects the config with its error.
/// Readers fetch the result with `generation.artifact(for: RouterBuilder.self)`.
///
/// ```swift
/// struct RouterBuilder: GenerationArtifactBuilder {
///     func build(page: Page, previous: Generation?) throws -> Router { try Router(page: page) }
/// }
/// ```
public protocol GenerationArtifactBuilder: Sendable {
    /// What the builder makes; immutable and shared by every reader of the generation.
    associatedtype Artifact: Sendable

    /// The name used in logs and rejection messages (default: the type's name).
    static var name: String { get }

    /// Builds the artifact for a new page.
    ///
    /// - Parameters:
    ///   - page: the entities of the generation being built.
    ///   - previous: the generation currently active (nil for the store's first generation), so
    ///     a builder may reuse parts that did not change (compare tables or hashes).
    /// - Throws: any error; the config is then rejected and the active generation kept.
    func build(page: Page, previous: Generation?) throws -> Artifact
}

extension GenerationArtifactBuilder {
    /// The type's name.
    public static var name: String { String(describing: Self.self) }
}

/// A builder failed: the config is rejected with this error.
public struct ArtifactBuildError: Error, Sendable, CustomStringConvertible {
    /// The builder's `name`.
    public var builder: String
    /// What the builder threw.
    public var underlying: any Error

    /// Creates the error.
    public init(builder: String, underlying: any Error) {
        self.builder = builder
        self.underlying = underlying
    }

    /// What the builder threw (a config problem, shown to users as is; `builder` says which
    /// builder it was).
    public var description: String { "\(underlying)" }
}

/// A builder with its type erased, as the store keeps it.
struct AnyArtifactBuilder: Sendable {
    /// `ObjectIdentifier` of the builder type: the artifact's key.
    let key: ObjectIdentifier
    let name: String
    let build: @Sendable (Page, Generation?) throws -> any AnyObject & Sendable

    init<B: GenerationArtifactBuilder>(_ builder: B) {
        key = ObjectIdentifier(B.self)
        name = B.name
        build = { page, previous in ArtifactBox(try builder.build(page: page, previous: previous)) }
    }
}

/// One artifact, boxed so that typed access is an unchecked downcast rather than a dynamic cast.
final class ArtifactBox<Artifact: Sendable>: Sendable {
    let value: Artifact

    init(_ value: Artifact) { self.value = value }
}

/// The artifacts of one generation, keyed by builder type.
struct ArtifactSet: Sendable {
    private let boxes: [ObjectIdentifier: any AnyObject & Sendable]

    static let empty = ArtifactSet(boxes: [:])

    private init(boxes: [ObjectIdentifier: any AnyObject & Sendable]) { self.boxes = boxes }

    /// Runs every builder in order; the first failure stops the build.
    static func build(
        _ builders: [AnyArtifactBuilder], page: Page, previous: Generation?
    ) throws(ArtifactBuildError) -> ArtifactSet {
        var boxes: [ObjectIdentifier: any AnyObject & Sendable] = Dictionary(minimumCapacity: builders.count)
        for builder in builders {
            do {
                boxes[builder.key] = try builder.build(page, previous)
            } catch {
                throw ArtifactBuildError(builder: builder.name, underlying: error)
            }
        }
        return ArtifactSet(boxes: boxes)
    }

    /// The artifact of a builder type, when that builder ran for this generation.
    @inline(__always)
    func artifact<B: GenerationArtifactBuilder>(for builder: B.Type) -> B.Artifact? {
        guard let box = boxes[ObjectIdentifier(B.self)] else { return nil }
        // Safe by construction: the box under `ObjectIdentifier(B.self)` was made by
        // `AnyArtifactBuilder.init(_: B)`, which always stores an `ArtifactBox<B.Artifact>`.
        // (`unsafeDowncast` still checks the type in debug builds.)
        return unsafeDowncast(box, to: ArtifactBox<B.Artifact>.self).value
    }

    var count: Int { boxes.count }
}
