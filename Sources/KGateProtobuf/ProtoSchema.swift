import KGateSchema

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A .proto file and everything it imports, read once (protoc.lua's parser, then lua-protobuf's
/// `pb.load`); immutable and Sendable. Encoding and decoding follow lua-protobuf's `pb` with the
/// options and Timestamp hooks Kong sets.
public final class ProtoSchema: Sendable {
    /// The rpcs of the loaded file as Kong's `each_method(..., true)` visits them: first those of
    /// its public dependencies, recursively, in import order, then the file's own in declaration
    /// order. (protoc.lua records every import that is not `weak` as a public dependency.)
    public let methods: [ProtoMethod]
    let registry: TypeRegistry

    init(methods: [ProtoMethod], registry: TypeRegistry) {
        self.methods = methods
        self.registry = registry
    }

    /// Reads `path` and, recursively, its imports. An import is looked for, in order: in the
    /// directory of `path`, then in each of `includePaths`, then among the built-in files
    /// (google/protobuf well-known types, google/api/http.proto and annotations.proto).
    public static func load(path: String, includePaths: [String] = []) throws(ProtoError) -> ProtoSchema {
        guard let text = ProtoLoader.readFile(path) else {
            let reason = String(cString: strerror(errno))
            throw ProtoError("cannot open \(path): \(reason)")
        }
        var directory = "."
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        }
        return try compile(source: text, name: path, searchDirs: [directory] + includePaths)
    }

    /// Same as `load`, from source text (for tests and built-ins): `name` is used in error
    /// messages; imports are looked for in `includePaths`, then among the built-in files.
    public static func parse(source: String, name: String, includePaths: [String] = []) throws(ProtoError) -> ProtoSchema {
        try compile(source: source, name: name, searchDirs: includePaths)
    }

    private static func compile(source: String, name: String, searchDirs: [String]) throws(ProtoError) -> ProtoSchema {
        let loader = ProtoLoader(searchDirs: searchDirs)
        let file = try loader.parse(source: source, name: name)
        return ProtoSchema(methods: loader.methods(of: file), registry: loader.compile())
    }

    /// lua-protobuf's `pb.encode(type, value)` with Kong's options. `messageType` is a full name
    /// with a leading dot (".pkg.Msg"), as ProtoMethod gives it (a missing dot is added).
    public func encode(_ value: Value, as messageType: String) throws(ProtoError) -> [UInt8] {
        var encoder = ProtoEncoder(registry: registry)
        try encoder.encodeTop(value, as: TypeRegistry.canonical(messageType))
        return encoder.out
    }

    /// lua-protobuf's `pb.decode(type, bytes)` with Kong's options and hooks.
    public func decode(_ bytes: [UInt8], as messageType: String) throws(ProtoError) -> Value {
        let decoder = ProtoDecoder(registry: registry, bytes: bytes)
        return try decoder.decodeTop(as: TypeRegistry.canonical(messageType))
    }

    /// The third result of lua-protobuf's `pb.field(messageType, name)`: the field's type name —
    /// a scalar name ("int32", "bool", "string", ...) or, for message and enum fields, the full
    /// type name with a leading dot. nil when `messageType` is not a known message (including
    /// scalar names like "string") or has no such field. As in lua-protobuf, a `name` that reads
    /// as a number selects the field by number.
    public func fieldType(_ messageType: String, _ name: String) -> String? {
        guard let message = registry.messages[TypeRegistry.canonical(messageType)] else { return nil }
        let field: FieldInfo?
        if let number = Lua.scan(name) {
            field = message.field(number: Int32(truncatingIfNeeded: Lua.truncate(number)))
        } else {
            field = message.field(named: name)
        }
        guard let field else { return nil }
        return field.typeName ?? field.kind.name
    }
}
