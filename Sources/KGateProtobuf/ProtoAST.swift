import OrderedCollections

/// The parsed (not yet compiled) form of a .proto file, close to protoc.lua's descriptor tables.
final class FileAST {
    let name: String
    var syntax = "proto2"
    var package = ""
    /// Imports in order; protoc.lua records every import that is not `weak` as public.
    var dependencies: [(name: String, isPublic: Bool)] = []
    var messages: [MessageAST] = []
    var enums: [EnumAST] = []
    var services: [ServiceAST] = []
    var extensions: [FieldAST] = []
    var options = OrderedDictionary<String, ProtoOptionValue>()

    init(name: String) { self.name = name }

    var isProto3: Bool { syntax == "proto3" }
}

enum FieldLabel {
    case optional, required, repeated
}

struct FieldAST {
    var name: String
    var number: Int32
    var label: FieldLabel
    /// A scalar type name, or a type reference (resolved in place to a full name).
    var typeRef: String
    /// Set for scalars when parsed, for messages and enums when resolved.
    var kind: FieldKind?
    var oneofIndex: Int?
    var defaultValue: String?
    var options: OrderedDictionary<String, ProtoOptionValue>?
    /// Where the field starts (for error positions).
    var position: Int
    /// For extension fields: the extended message (resolved in place).
    var extendee: String?
}

final class MessageAST {
    let name: String
    let fullName: String
    let position: Int
    var fields: [FieldAST] = []
    var nested: [MessageAST] = []
    var enums: [EnumAST] = []
    var oneofs: [String] = []
    var extensions: [FieldAST] = []
    var options = OrderedDictionary<String, ProtoOptionValue>()
    var isMapEntry = false

    init(name: String, fullName: String, position: Int) {
        self.name = name
        self.fullName = fullName
        self.position = position
    }
}

struct EnumAST {
    var name: String
    var fullName: String
    var position: Int
    var values: [(name: String, number: Int32, position: Int)] = []
    var options = OrderedDictionary<String, ProtoOptionValue>()
}

struct MethodAST {
    var name: String
    var position: Int
    var inputType: String
    var outputType: String
    var clientStreaming: Bool
    var serverStreaming: Bool
    var options = OrderedDictionary<String, ProtoOptionValue>()
}

struct ServiceAST {
    var name: String
    var position: Int
    var methods: [MethodAST] = []
    var options = OrderedDictionary<String, ProtoOptionValue>()
}

extension OrderedDictionary where Key == String, Value == ProtoOptionValue {
    /// `t[name] = value` in Lua: a `none` constant (nil) removes the key.
    mutating func setLua(_ key: String, _ value: ProtoOptionValue?) {
        if let value { self[key] = value } else { removeValue(forKey: key) }
    }
}

extension ProtoOptionValue {
    /// `tostring(v)` of the constant, as protoc.lua stores `default_value`.
    var luaString: String {
        switch self {
        case .string(let s), .identifier(let s): return s
        case .number(let d): return Lua.format(d)
        case .bool(let b): return b ? "true" : "false"
        case .structure, .array: return "table: 0x00000000"
        }
    }

    /// Lua truthiness of the constant.
    var isTruthy: Bool {
        if case .bool(false) = self { return false }
        return true
    }
}
