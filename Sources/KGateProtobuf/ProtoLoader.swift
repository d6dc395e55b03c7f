import OrderedCollections

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loads a file and its imports (protoc.lua's `Parser`): parses each file once, registers types
/// as they are declared, resolves each file's names when its parse ends (against every type
/// loaded so far), then compiles everything into a `TypeRegistry`.
final class ProtoLoader {
    /// Where imports are looked for, in order (before the built-in files).
    let searchDirs: [String]
    private(set) var files: [String: FileAST] = [:]
    /// Files in the order their parse completed (imports before importers).
    private(set) var order: [FileAST] = []
    private var inProgress: [String] = []
    /// Full name (".pkg.Msg") → is a message (else an enum).
    private var typemap: [String: Bool] = [:]

    init(searchDirs: [String]) {
        self.searchDirs = searchDirs
    }

    func register(_ fullName: String, isMessage: Bool, lexer: ProtoLexer) throws(ProtoError) {
        if typemap[fullName] != nil {
            throw lexer.error("type \(fullName.dropFirst()) already defined")
        }
        typemap[fullName] = isMessage
    }

    /// Parses (once per name) and resolves a file.
    func parse(source: String, name: String) throws(ProtoError) -> FileAST {
        if let done = files[name] { return done }
        if inProgress.contains(name) {
            throw ProtoError("import cycle: " + (inProgress + [name]).joined(separator: " -> "))
        }
        inProgress.append(name)
        var parser = ProtoParser(lexer: ProtoLexer(name: name, source: source), loader: self)
        try parser.parseFile()
        try Resolver(typemap: typemap, lex: parser.lex).resolve(parser.file)
        inProgress.removeLast()
        files[name] = parser.file
        order.append(parser.file)
        return parser.file
    }

    /// An `import` statement: on disk in `searchDirs`, else a built-in file.
    func importFile(_ name: String, from lexer: ProtoLexer, at: Int) throws(ProtoError) -> FileAST {
        if let done = files[name] { return done }
        if inProgress.contains(name) {
            throw lexer.error("import cycle: " + (inProgress + [name]).joined(separator: " -> "), at: at)
        }
        let candidates = name.hasPrefix("/") ? [name] : searchDirs.map { $0.hasSuffix("/") ? $0 + name : $0 + "/" + name }
        for path in candidates {
            if let text = Self.readFile(path) { return try parse(source: text, name: name) }
        }
        if let text = ProtoBuiltins.files[name] { return try parse(source: text, name: name) }
        let looked = (name.hasPrefix("/") ? [] : searchDirs) + ["built-in files"]
        throw lexer.error("import \"\(name)\" not found (looked in: \(looked.joined(separator: ", ")))", at: at)
    }

    /// The file's bytes as text, or nil when it cannot be opened (or is a directory).
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Compiling (pb.load)

    func compile() -> TypeRegistry {
        var registry = TypeRegistry()
        var extensions: [(FieldAST, proto3: Bool)] = []
        func add(_ message: MessageAST, proto3: Bool) {
            var info = MessageInfo(fullName: message.fullName, isProto3: proto3, isMapEntry: message.isMapEntry)
            for field in message.fields { info.add(Self.fieldInfo(field, oneofs: message.oneofs, proto3: proto3)) }
            registry.messages[message.fullName] = info
            extensions += message.extensions.map { ($0, proto3) }
            for e in message.enums { addEnum(e) }
            for nested in message.nested { add(nested, proto3: proto3) }
        }
        func addEnum(_ e: EnumAST) {
            var info = EnumInfo(fullName: e.fullName)
            for v in e.values {
                info.valuesByName[v.name] = v.number
                info.namesByNumber[v.number] = v.name
            }
            registry.enums[e.fullName] = info
        }
        for file in order {
            for e in file.enums { addEnum(e) }
            for m in file.messages { add(m, proto3: file.isProto3) }
            extensions += file.extensions.map { ($0, file.isProto3) }
        }
        // Extension fields become fields of the extended message, as pb.load does.
        for (field, proto3) in extensions {
            guard let extendee = field.extendee else { continue }
            registry.messages[extendee]?.add(Self.fieldInfo(field, oneofs: [], proto3: proto3))
        }
        let mapEntries = Set(registry.messages.values.filter(\.isMapEntry).map(\.fullName))
        for name in registry.messages.keys {
            for i in registry.messages[name]!.fields.indices {
                let field = registry.messages[name]!.fields[i]
                if field.kind == .message, let type = field.typeName, mapEntries.contains(type) {
                    registry.messages[name]!.fields[i].isMap = true
                }
            }
        }
        return registry
    }

    static func fieldInfo(_ field: FieldAST, oneofs: [String], proto3: Bool) -> FieldInfo {
        let kind = field.kind ?? .message
        let repeated = field.label == .repeated
        var packed = field.options?["packed"].map(\.isTruthy) ?? (proto3 && repeated)
        if [.string, .group, .message, .bytes].contains(kind) { packed = false }
        return FieldInfo(
            name: field.name, number: field.number, kind: kind,
            typeName: kind == .message || kind == .enumeration ? field.typeRef : nil,
            repeated: repeated, packed: packed,
            oneof: field.oneofIndex.flatMap { $0 < oneofs.count ? oneofs[$0] : nil },
            defaultValue: field.defaultValue)
    }

    /// Kong's `each_method(fname, f, true)`: the public dependencies' methods (recursively, in
    /// import order), then the file's own.
    func methods(of file: FileAST) -> [ProtoMethod] {
        var result: [ProtoMethod] = []
        for dependency in file.dependencies where dependency.isPublic {
            if let sub = files[dependency.name] { result += methods(of: sub) }
        }
        for service in file.services {
            for m in service.methods {
                result.append(ProtoMethod(
                    package: file.package, service: service.name, name: m.name,
                    inputType: m.inputType, outputType: m.outputType,
                    clientStreaming: m.clientStreaming, serverStreaming: m.serverStreaming,
                    options: Dictionary(uniqueKeysWithValues: m.options.map { ($0.key, $0.value) })))
            }
        }
        return result
    }
}

/// protoc.lua's resolver (`Parser:resolve`): duplicate checks and type-name resolution for one
/// file, in place.
struct Resolver {
    let typemap: [String: Bool]
    let lex: ProtoLexer

    func resolve(_ file: FileAST) throws(ProtoError) {
        let scope = file.package.isEmpty ? [] : file.package.split(separator: ".").map(String.init)
        for message in file.messages { try check(message, scope: scope) }
        // protoc.lua checks top-level enums only.
        for e in file.enums { try check(e) }
        for i in file.services.indices { try check(&file.services[i], scope: scope, package: file.package) }
        for i in file.extensions.indices { try checkExtension(&file.extensions[i], scope: scope) }
    }

    /// protoc.lua's `check_type`: a leading dot is fully qualified; otherwise the name is looked
    /// up from the innermost scope outwards (".a.b.C.Name", ".a.b.Name", ".a.Name", ".Name").
    func lookup(_ name: String, scope: [String]) -> (fullName: String, isMessage: Bool)? {
        if name.hasPrefix(".") { return typemap[name].map { (name, $0) } }
        for k in stride(from: scope.count, through: 0, by: -1) {
            let candidate = "." + (scope[0..<k] + [name]).joined(separator: ".")
            if let isMessage = typemap[candidate] { return (candidate, isMessage) }
        }
        return nil
    }

    func position(_ offset: Int) -> String {
        let (line, column) = lex.location(offset)
        return "\(line):\(column)"
    }

    func check(_ message: MessageAST, scope: [String]) throws(ProtoError) {
        let inner = scope + [message.name]
        let display = message.fullName.dropFirst()
        var names: [String: Int] = [:]
        var numbers: [Int32: Int] = [:]
        for i in message.fields.indices {
            let field = message.fields[i]
            if let previous = names[field.name] {
                throw lex.error("field name '\(field.name)' exists in message \(display), previous at \(position(previous))", at: field.position)
            }
            if let previous = numbers[field.number] {
                throw lex.error("field number \(field.number) exists in message \(display), previous at \(position(previous))", at: field.position)
            }
            names[field.name] = field.position
            numbers[field.number] = field.position
            try resolveType(&message.fields[i], scope: inner, context: "field '\(field.name)' of message \(display)")
        }
        for nested in message.nested { try check(nested, scope: inner) }
        for i in message.extensions.indices { try checkExtension(&message.extensions[i], scope: inner) }
    }

    func resolveType(_ field: inout FieldAST, scope: [String], context: String) throws(ProtoError) {
        guard field.kind == nil else { return }
        guard let (fullName, isMessage) = lookup(field.typeRef, scope: scope) else {
            throw lex.error("unknown type '\(field.typeRef)' in \(context)", at: field.position)
        }
        field.typeRef = fullName
        field.kind = isMessage ? .message : .enumeration
    }

    func checkExtension(_ field: inout FieldAST, scope: [String]) throws(ProtoError) {
        if let extendee = field.extendee {
            guard let (fullName, isMessage) = lookup(extendee, scope: scope) else {
                throw lex.error("unknown type '\(extendee)' in extend", at: field.position)
            }
            guard isMessage else { throw lex.error("message type expected in extension", at: field.position) }
            field.extendee = fullName
        }
        try resolveType(&field, scope: scope, context: "extension field '\(field.name)'")
    }

    func check(_ e: EnumAST) throws(ProtoError) {
        var names: [String: Int] = [:]
        var numbers: [Int32: Int] = [:]
        let allowAlias = e.options["allow_alias"]?.isTruthy ?? false
        for v in e.values {
            if let previous = names[v.name] {
                throw lex.error("enum name '\(v.name)' exists, previous at \(position(previous))", at: v.position)
            }
            if !allowAlias, let previous = numbers[v.number] {
                throw lex.error("enum number \(v.number) exists, previous at \(position(previous))", at: v.position)
            }
            names[v.name] = v.position
            numbers[v.number] = v.position
        }
    }

    func check(_ service: inout ServiceAST, scope: [String], package: String) throws(ProtoError) {
        let display = package.isEmpty ? service.name : package + "." + service.name
        var names: [String: Int] = [:]
        for i in service.methods.indices {
            let m = service.methods[i]
            if let previous = names[m.name] {
                throw lex.error("rpc name '\(m.name)' exists in service \(display), previous at \(position(previous))", at: m.position)
            }
            names[m.name] = m.position
            for isInput in [true, false] {
                let ref = isInput ? m.inputType : m.outputType
                let role = isInput ? "input" : "output"
                guard let (fullName, isMessage) = lookup(ref, scope: scope) else {
                    throw lex.error("unknown type '\(ref)' in \(role) of rpc '\(m.name)' of service \(display)", at: m.position)
                }
                guard isMessage else {
                    throw lex.error("message type expected in \(role) of rpc '\(m.name)' of service \(display)", at: m.position)
                }
                if isInput { service.methods[i].inputType = fullName } else { service.methods[i].outputType = fullName }
            }
        }
    }
}
