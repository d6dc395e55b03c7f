/// Field types, numbered as in descriptor.proto (and lua-protobuf's `PB_T*`).
enum FieldKind: UInt8, Sendable {
    case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes
    case uint32, enumeration, sfixed32, sfixed64, sint32, sint64

    /// The scalar types by their .proto names (protoc.lua's `types`, without group/message/enum).
    static let scalars: [String: FieldKind] = [
        "double": .double, "float": .float, "int64": .int64, "uint64": .uint64, "int32": .int32,
        "fixed64": .fixed64, "fixed32": .fixed32, "bool": .bool, "string": .string, "bytes": .bytes,
        "uint32": .uint32, "sfixed32": .sfixed32, "sfixed64": .sfixed64, "sint32": .sint32,
        "sint64": .sint64,
    ]

    /// The types a map key may have (protoc.lua's `key_types`).
    static let mapKeys: Set<String> = [
        "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
        "sfixed64", "bool", "string",
    ]

    /// lua-protobuf's `pb_typename`.
    var name: String {
        switch self {
        case .double: "double"
        case .float: "float"
        case .int64: "int64"
        case .uint64: "uint64"
        case .int32: "int32"
        case .fixed64: "fixed64"
        case .fixed32: "fixed32"
        case .bool: "bool"
        case .string: "string"
        case .group: "group"
        case .message: "message"
        case .bytes: "bytes"
        case .uint32: "uint32"
        case .enumeration: "enum"
        case .sfixed32: "sfixed32"
        case .sfixed64: "sfixed64"
        case .sint32: "sint32"
        case .sint64: "sint64"
        }
    }

    /// The wire type values of this type are written with.
    var wireType: UInt32 {
        switch self {
        case .double, .fixed64, .sfixed64: Wire.bit64
        case .float, .fixed32, .sfixed32: Wire.bit32
        case .string, .bytes, .message: Wire.bytes
        case .group: Wire.groupStart
        default: Wire.varint
        }
    }
}

/// Wire types.
enum Wire {
    static let varint: UInt32 = 0
    static let bit64: UInt32 = 1
    static let bytes: UInt32 = 2
    static let groupStart: UInt32 = 3
    static let groupEnd: UInt32 = 4
    static let bit32: UInt32 = 5

    /// lua-protobuf's `pb_wtypename`.
    static func name(_ wire: UInt32) -> String {
        switch wire {
        case varint: "varint"
        case bit64: "64bit"
        case bytes: "bytes"
        case groupStart: "gstart"
        case groupEnd: "gend"
        case bit32: "32bit"
        default: "<unknown>"
        }
    }
}

/// A field as lua-protobuf holds it after `pb.load`.
struct FieldInfo: Sendable {
    var name: String
    var number: Int32
    var kind: FieldKind
    /// For message and enum fields: the full type name, with a leading dot.
    var typeName: String?
    var repeated: Bool
    var packed: Bool
    /// The oneof the field belongs to (a proto3 `optional` field's synthetic "_name" included).
    var oneof: String?
    /// `default_value` as protoc.lua sets it: `tostring(options.default)` when the field has
    /// options at all (so "nil" when it has options but no default), else nil.
    var defaultValue: String?
    /// The field's type is a map entry.
    var isMap = false
}

/// A message type: fields in declaration order (extension fields appended).
struct MessageInfo: Sendable {
    var fullName: String
    var fields: [FieldInfo] = []
    var isProto3: Bool
    var isMapEntry: Bool
    var indexByName: [String: Int] = [:]
    var indexByNumber: [Int32: Int] = [:]

    func field(named name: String) -> FieldInfo? { indexByName[name].map { fields[$0] } }
    func field(number: Int32) -> FieldInfo? { indexByNumber[number].map { fields[$0] } }

    /// Adds a field; as `pb_newfield`, one with the same name or number is replaced.
    mutating func add(_ field: FieldInfo) {
        let clashes = fields.indices.filter { fields[$0].name == field.name || fields[$0].number == field.number }
        if !clashes.isEmpty {
            for i in clashes.reversed() { fields.remove(at: i) }
        }
        fields.append(field)
        if !clashes.isEmpty {
            indexByName = [:]
            indexByNumber = [:]
            for (i, f) in fields.enumerated() {
                indexByName[f.name] = i
                indexByNumber[f.number] = i
            }
        } else {
            indexByName[field.name] = fields.count - 1
            indexByNumber[field.number] = fields.count - 1
        }
    }
}

/// An enum type. With `allow_alias`, a number names its LAST declared value (as `pb_newfield`).
struct EnumInfo: Sendable {
    var fullName: String
    var valuesByName: [String: Int32] = [:]
    var namesByNumber: [Int32: String] = [:]
}

/// All types of a loaded schema, by full name.
struct TypeRegistry: Sendable {
    var messages: [String: MessageInfo] = [:]
    var enums: [String: EnumInfo] = [:]

    /// lua-protobuf's `lpb_type`: a name without a leading dot gets one.
    static func canonical(_ name: String) -> String {
        name.isEmpty || name.hasPrefix(".") ? name : "." + name
    }
}
