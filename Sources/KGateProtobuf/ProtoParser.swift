import OrderedCollections

/// Parses one file in protoc.lua's dialect into a `FileAST`. Imports are loaded (through the
/// loader) when their statement is read, and types are registered as they are declared, as
/// protoc.lua does; names are resolved afterwards by the loader.
struct ProtoParser {
    var lex: ProtoLexer
    let loader: ProtoLoader
    let file: FileAST
    /// The current scope: ".", ".pkg.", ".pkg.Outer.".
    var prefix = "."

    init(lexer: ProtoLexer, loader: ProtoLoader) {
        self.lex = lexer
        self.loader = loader
        self.file = FileAST(name: lexer.name)
    }

    mutating func parseFile() throws(ProtoError) {
        if try keyword("syntax") {
            try lex.expect("=")
            try lex.skipSpace()
            let at = lex.pos
            let syntax = try lex.quote("syntax name")
            guard syntax == "proto2" || syntax == "proto3" else {
                throw lex.error("unsupported syntax \"\(syntax)\" (expected \"proto2\" or \"proto3\")", at: at)
            }
            file.syntax = syntax
            try lex.lineEnd()
        }
        while try !lex.atEOF() {
            let (word, at) = try lex.ident("top-level statement")
            switch word {
            case "package":
                let (name, namePos) = try lex.typeName("package name")
                if name.hasPrefix(".") || name.hasSuffix(".") { throw lex.error("invalid package name '\(name)'", at: namePos) }
                file.package = name
                prefix = "." + name + "."
            case "import": try parseImport(at: at)
            case "message": file.messages.append(try parseMessage())
            case "enum": file.enums.append(try parseEnum())
            case "service": file.services.append(try parseService())
            case "extend":
                let (fields, entries) = try parseExtend()
                file.extensions += fields
                file.messages += entries
            case "option": try parseOption(into: &file.options)
            case "edition":
                throw lex.error("editions are not supported (use syntax = \"proto2\" or \"proto3\")", at: at)
            case "syntax":
                throw lex.error("'syntax' must be the first statement of the file", at: at)
            default:
                throw lex.error("unknown keyword '\(word)'", at: at)
            }
            try lex.lineEnd()
        }
    }

    /// Consumes the identifier `word` if it comes next.
    mutating func keyword(_ word: String) throws(ProtoError) -> Bool {
        let saved = lex.pos
        if let (ident, _) = try lex.optionalIdent(), ident == word { return true }
        lex.pos = saved
        return false
    }

    // MARK: Statements

    mutating func parseImport(at: Int) throws(ProtoError) {
        // protoc.lua: `lex:ident('"weak" or "public"', 'opt') or "public"`, so a plain import
        // is recorded as a public dependency too.
        var isPublic = true
        if let (mode, modePos) = try lex.optionalIdent() {
            guard mode == "weak" || mode == "public" else {
                throw lex.error("expected \"weak\" or \"public\"", at: modePos)
            }
            isPublic = mode == "public"
        }
        let name = try lex.quote("import file name")
        try lex.lineEnd()
        _ = try loader.importFile(name, from: lex, at: at)
        file.dependencies.append((name, isPublic))
    }

    mutating func parseOption(into options: inout OrderedDictionary<String, ProtoOptionValue>) throws(ProtoError) {
        let name = try lex.optionName()
        try lex.expect("=")
        let value = try lex.constant()
        try lex.lineEnd()
        options.setLua(name, value)
    }

    /// `[name = constant, ...]` after a field or enum value, or nil.
    mutating func inlineOptions() throws(ProtoError) -> OrderedDictionary<String, ProtoOptionValue>? {
        guard try lex.test("[") else { return nil }
        var options = OrderedDictionary<String, ProtoOptionValue>()
        while true {
            let name = try lex.optionName()
            try lex.expect("=")
            options.setLua(name, try lex.constant())
            if try lex.test("]") { return options }
            try lex.expect(",")
        }
    }

    mutating func parseMessage() throws(ProtoError) -> MessageAST {
        let (name, at) = try lex.ident("message name")
        let message = MessageAST(name: name, fullName: prefix + name, position: at)
        try loader.register(message.fullName, isMessage: true, lexer: lex)
        let saved = prefix
        prefix = message.fullName + "."
        defer { prefix = saved }
        try lex.expect("{")
        while try !lex.test("}") {
            if lex.pos >= lex.src.count { throw lex.error("expected '}'") }
            let (word, wordPos) = try lex.typeName("field or '}'")
            switch word {
            case "message": message.nested.append(try parseMessage())
            case "enum": message.enums.append(try parseEnum())
            case "extend":
                let (fields, entries) = try parseExtend()
                message.extensions += fields
                message.nested += entries
            case "extensions": try parseRanges(allowNames: false)
            case "reserved": try parseRanges(allowNames: true)
            case "oneof": try parseOneof(in: message)
            case "option": try parseOption(into: &message.options)
            default:
                let (field, entry) = try parseLabeledField(word, at: wordPos, parent: message)
                message.fields.append(field)
                if let entry { message.nested.append(entry) }
            }
            try lex.lineEnd()
        }
        return message
    }

    /// A field in a message or `extend` body, starting with a label or (proto3, maps) a type.
    mutating func parseLabeledField(_ word: String, at: Int, parent: MessageAST?) throws(ProtoError) -> (FieldAST, MessageAST?) {
        let labels: [String: FieldLabel] = ["optional": .optional, "required": .required, "repeated": .repeated]
        guard let label = labels[word] else {
            if !file.isProto3 && word != "map" {
                throw lex.error("expected label (optional, required or repeated): proto2 fields need one", at: at)
            }
            return try parseField(word, at: at)
        }
        let (type, typePos) = try lex.typeName()
        var (field, entry) = try parseField(type, at: typePos)
        field.position = at
        if label == .optional && file.isProto3 {
            // proto3 `optional`: a synthetic oneof named "_" + the field name.
            if let parent {
                field.oneofIndex = parent.oneofs.count
                parent.oneofs.append("_" + field.name)
            }
        } else {
            field.label = label
        }
        return (field, entry)
    }

    /// `type name = number [options]` or `map<K, V> name = number [options]`.
    mutating func parseField(_ type: String, at: Int) throws(ProtoError) -> (FieldAST, MessageAST?) {
        var field: FieldAST
        var entry: MessageAST?
        if type == "map", try lex.test("<") {
            let (keyType, keyPos) = try lex.ident("map key type")
            guard FieldKind.mapKeys.contains(keyType) else { throw lex.error("invalid key type: \(keyType)", at: keyPos) }
            try lex.expect(",")
            let (valueType, valuePos) = try lex.typeName("map value type")
            let valueKind = try scalarKind(valueType, at: valuePos)
            try lex.expect(">")
            let (name, _) = try lex.ident("field name")
            let entryName = Self.mapEntryName(name)
            let map = MessageAST(name: entryName, fullName: prefix + entryName, position: at)
            try loader.register(map.fullName, isMessage: true, lexer: lex)
            map.isMapEntry = true
            map.fields = [
                FieldAST(name: "key", number: 1, label: .optional, typeRef: keyType, kind: FieldKind.scalars[keyType], position: keyPos),
                FieldAST(name: "value", number: 2, label: .optional, typeRef: valueType, kind: valueKind, position: valuePos),
            ]
            entry = map
            field = FieldAST(name: name, number: 0, label: .repeated, typeRef: map.fullName, position: at)
        } else {
            let kind = try scalarKind(type, at: at)
            let (name, _) = try lex.ident("field name")
            field = FieldAST(name: name, number: 0, label: .optional, typeRef: type, kind: kind, position: at)
        }
        try lex.expect("=")
        try lex.skipSpace()
        let numberPos = lex.pos
        let number = try lex.integer("field number")
        if var options = try inlineOptions() {
            // protoc.lua: `info.default_value = tostring(options.default)`, "nil" when absent.
            field.defaultValue = options["default"]?.luaString ?? "nil"
            options.removeValue(forKey: "default")
            options.removeValue(forKey: "json_name")
            field.options = options
        }
        guard number > 0 else { throw lex.error("invalid tag number: \(number)", at: numberPos) }
        guard number <= 536_870_911 else { throw lex.error("tag number out of range: \(number)", at: numberPos) }
        field.number = Int32(number)
        return (field, entry)
    }

    /// The scalar kind of a type name, nil for a type reference; refuses group/message/enum.
    func scalarKind(_ type: String, at: Int) throws(ProtoError) -> FieldKind? {
        if type == "group" { throw lex.error("invalid type name: group (groups are not supported)", at: at) }
        if type == "message" || type == "enum" { throw lex.error("invalid type name: \(type)", at: at) }
        return FieldKind.scalars[type]
    }

    /// protoc.lua's map entry name: "my_map" → "MyMapEntry".
    static func mapEntryName(_ field: String) -> String {
        var out = ""
        var upperNext = true
        var afterUnderscore = false
        for c in field {
            if afterUnderscore && c.isLetter {
                out.removeLast()
                out += c.uppercased()
            } else if upperNext && c.isLetter {
                out += c.uppercased()
            } else {
                out.append(c)
            }
            upperNext = false
            afterUnderscore = c == "_"
        }
        return out + "Entry"
    }

    mutating func parseOneof(in message: MessageAST) throws(ProtoError) {
        let (name, _) = try lex.ident("oneof name")
        let index = message.oneofs.count
        message.oneofs.append(name)
        try lex.expect("{")
        var options = OrderedDictionary<String, ProtoOptionValue>()
        while try !lex.test("}") {
            if lex.pos >= lex.src.count { throw lex.error("expected '}'") }
            let (word, wordPos) = try lex.typeName("field or '}'")
            if word == "option" {
                try parseOption(into: &options)
            } else {
                var (field, entry) = try parseField(word, at: wordPos)
                field.oneofIndex = index
                message.fields.append(field)
                if let entry { message.nested.append(entry) }
            }
            try lex.lineEnd()
        }
    }

    /// `extend Type { fields }`: the fields, and the map entries they declare.
    mutating func parseExtend() throws(ProtoError) -> ([FieldAST], [MessageAST]) {
        let (extendee, _) = try lex.typeName("extended message name")
        try lex.expect("{")
        var fields: [FieldAST] = []
        var entries: [MessageAST] = []
        while try !lex.test("}") {
            if lex.pos >= lex.src.count { throw lex.error("expected '}'") }
            let (word, wordPos) = try lex.typeName("field or '}'")
            var (field, entry) = try parseLabeledField(word, at: wordPos, parent: nil)
            field.extendee = extendee
            fields.append(field)
            if let entry { entries.append(entry) }
            try lex.lineEnd()
        }
        return (fields, entries)
    }

    /// `extensions 1, 5 to 10, 100 to max [options];` and `reserved 1, 2 to 5;` / `reserved "a", "b";`.
    mutating func parseRanges(allowNames: Bool) throws(ProtoError) {
        try lex.skipSpace()
        if allowNames && (lex.peek() == 0x22 || lex.peek() == 0x27) {
            repeat { _ = try lex.quote("reserved field name") } while try lex.test(",")
        } else {
            repeat {
                _ = try lex.integer("field number range")
                if try keyword("to") {
                    if try !keyword("max") { _ = try lex.integer("field number range end or 'max'") }
                }
            } while try lex.test(",")
            if !allowNames { _ = try inlineOptions() }
        }
        try lex.lineEnd()
    }

    mutating func parseEnum() throws(ProtoError) -> EnumAST {
        let (name, at) = try lex.ident("enum name")
        var result = EnumAST(name: name, fullName: prefix + name, position: at)
        try loader.register(result.fullName, isMessage: false, lexer: lex)
        try lex.expect("{")
        while try !lex.test("}") {
            if lex.pos >= lex.src.count { throw lex.error("expected '}'") }
            let (word, wordPos) = try lex.ident("enum value name")
            switch word {
            case "option": try parseOption(into: &result.options)
            case "reserved": try parseRanges(allowNames: true)
            default:
                try lex.expect("=")
                try lex.skipSpace()
                let numberPos = lex.pos
                let number = try lex.integer("enum value number")
                guard let value = Int32(exactly: number) else {
                    throw lex.error("enum value out of range: \(number)", at: numberPos)
                }
                _ = try inlineOptions()
                result.values.append((word, value, wordPos))
            }
            try lex.lineEnd()
        }
        return result
    }

    mutating func parseService() throws(ProtoError) -> ServiceAST {
        let (name, at) = try lex.ident("service name")
        var service = ServiceAST(name: name, position: at)
        try lex.expect("{")
        while try !lex.test("}") {
            if lex.pos >= lex.src.count { throw lex.error("expected '}'") }
            let (word, wordPos) = try lex.typeName("'rpc' or 'option'")
            switch word {
            case "rpc": service.methods.append(try parseRPC())
            case "option": try parseOption(into: &service.options)
            case "stream": throw lex.error("'stream' statements are not supported", at: wordPos)
            default: throw lex.error("expected 'rpc' or 'option' in service body", at: wordPos)
            }
            try lex.lineEnd()
        }
        return service
    }

    mutating func parseRPC() throws(ProtoError) -> MethodAST {
        let (name, at) = try lex.ident("rpc name")
        try lex.expect("(")
        let clientStreaming = try keyword("stream")
        let (input, inputPos) = try lex.typeName("rpc input type")
        if FieldKind.scalars[input] != nil { throw lex.error("rpc input type must be a message", at: inputPos) }
        try lex.expect(")")
        try lex.expect("returns")
        try lex.expect("(")
        let serverStreaming = try keyword("stream")
        let (output, outputPos) = try lex.typeName("rpc output type")
        if FieldKind.scalars[output] != nil { throw lex.error("rpc output type must be a message", at: outputPos) }
        try lex.expect(")")
        var method = MethodAST(
            name: name, position: at, inputType: input, outputType: output,
            clientStreaming: clientStreaming, serverStreaming: serverStreaming)
        if try lex.test("{") {
            while true {
                try lex.lineEnd()
                if try lex.test("}") { break }
                guard try keyword("option") else { throw lex.error("expected 'option' or '}' in rpc body") }
                try parseOption(into: &method.options)
            }
        }
        return method
    }
}
