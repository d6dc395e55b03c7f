import KGateSchema

/// lua-protobuf's `pb.encode` (lpbE_*) with Kong's options: default encode mode (proto3 zero
/// values of plain scalar fields are skipped), no encode_order (fields in the table's order, here
/// the object's), encode hooks enabled.
struct ProtoEncoder {
    let registry: TypeRegistry
    var out: [UInt8] = []

    enum Mode { case raw, noZero, full }

    /// A scalar as `lpb_readvalue` reads it from a Lua value.
    enum Scalar {
        case integer(UInt64)
        case double(Double)
        case bytes([UInt8])
    }

    init(registry: TypeRegistry) { self.registry = registry }

    mutating func encodeTop(_ value: Value, as type: String) throws(ProtoError) {
        guard let message = registry.messages[type] else { throw ProtoError("type '\(type)' does not exists") }
        guard value.isTable else {
            throw ProtoError("bad argument #2 to 'encode' (table expected, got \(Lua.typeName(value)))")
        }
        try encodeMessage(try Hooks.encode(value, type: type), message)
    }

    mutating func encodeMessage(_ value: Value, _ message: MessageInfo) throws(ProtoError) {
        switch value {
        case .object(let object):
            for (key, item) in object {
                if let field = message.field(named: key) { try encodeOneField(item, message, field) }
            }
        case .array(let items):
            // lua_next over integer keys: lpbE_encode's lua_tolstring turns the key into a
            // string in place, and LuaJIT's next() then fails on it.
            if !items.isEmpty { throw ProtoError("invalid key to 'next'") }
        default:
            break
        }
    }

    /// lpbE_ignorezero.
    static func ignoresZero(_ message: MessageInfo, _ field: FieldInfo) -> Bool {
        message.isProto3 && field.oneof == nil && field.kind != .message
    }

    mutating func encodeOneField(_ value: Value, _ message: MessageInfo, _ field: FieldInfo) throws(ProtoError) {
        if field.isMap {
            try encodeMap(value, field)
        } else if field.repeated {
            try encodeRepeated(value, message, field)
        } else {
            try encodeField(value, field, Self.ignoresZero(message, field) ? .noZero : .full)
        }
    }

    static func tableExpected(_ field: FieldInfo, _ value: Value) -> ProtoError {
        ProtoError("table expected at field '\(field.name)', got \(Lua.typeName(value))")
    }

    mutating func encodeRepeated(_ value: Value, _ message: MessageInfo, _ field: FieldInfo) throws(ProtoError) {
        guard value.isTable else { throw Self.tableExpected(field, value) }
        let elements = value.arrayValue ?? []  // an object has no integer keys 1...n
        if field.packed && field.kind != .message {
            var inner = ProtoEncoder(registry: registry)
            for element in elements { try inner.encodeField(element, field, .raw) }
            if elements.isEmpty && Self.ignoresZero(message, field) { return }
            writeTag(field.number, Wire.bytes)
            writeLengthDelimited(inner.out)
        } else {
            for element in elements { try encodeField(element, field, .full) }
        }
    }

    mutating func encodeMap(_ value: Value, _ field: FieldInfo) throws(ProtoError) {
        guard let type = field.typeName, let entry = registry.messages[type],
            let keyField = entry.field(number: 1), let valueField = entry.field(number: 2)
        else { return }
        var pairs: [(Value, Value)] = []
        switch value {
        case .object(let object): pairs = object.map { (.string($0.key), $0.value) }
        case .array(let items): pairs = items.enumerated().map { (.integer($0.offset + 1), $0.element) }
        default: throw Self.tableExpected(field, value)
        }
        for (key, item) in pairs {
            var inner = ProtoEncoder(registry: registry)
            try inner.encodeField(key, keyField, .noZero)
            try inner.encodeField(item, valueField, .noZero)
            writeTag(field.number, Wire.bytes)
            writeLengthDelimited(inner.out)
        }
    }

    /// lpbE_field.
    mutating func encodeField(_ value: Value, _ field: FieldInfo, _ mode: Mode) throws(ProtoError) {
        switch field.kind {
        case .enumeration:
            let number = try readEnum(value, field)
            if mode == .noZero && number == 0 { return }
            if mode != .raw { writeTag(field.number, Wire.varint) }
            writeVarint(number)
        case .message:
            guard let type = field.typeName, let message = registry.messages[type] else { return }
            let value = try Hooks.encode(value, type: type)
            guard value.isTable else { throw Self.tableExpected(field, value) }
            var inner = ProtoEncoder(registry: registry)
            try inner.encodeMessage(value, message)
            if mode == .noZero && inner.out.isEmpty { return }
            writeTag(field.number, Wire.bytes)
            writeLengthDelimited(inner.out)
        case .group:
            return
        default:
            guard let (scalar, isZero) = try Self.readValue(value, field.kind) else {
                let expected = field.kind == .string || field.kind == .bytes ? "string" : "number/'#number'"
                throw ProtoError("\(expected) expected for field '\(field.name)', got \(Lua.typeName(value))")
            }
            if mode == .noZero && isZero { return }
            if mode != .raw { writeTag(field.number, field.kind.wireType) }
            writeValue(scalar, field.kind)
        }
    }

    /// lpb_readvalue: the scalar and whether it counts as zero, or nil when the value does not fit.
    static func readValue(_ value: Value, _ kind: FieldKind) throws(ProtoError) -> (Scalar, Bool)? {
        switch kind {
        case .bool:
            let b: UInt64 = Lua.truthy(value) ? 1 : 0
            return (.integer(b), b == 0)
        case .double, .float:
            guard let d = Lua.tonumber(value) else { return nil }
            return (.double(d), d.bitPattern == 0)
        case .string, .bytes:
            guard case .string(let s) = value else { return nil }
            let bytes = Array(s.utf8)
            return (.bytes(bytes), bytes.isEmpty)
        default:
            guard let u = try Lua.tointeger(value) else { return nil }
            return (.integer(u), u == 0)
        }
    }

    /// lpbE_readenum.
    func readEnum(_ value: Value, _ field: FieldInfo) throws(ProtoError) -> UInt64 {
        switch value {
        case .integer(let i): return Lua.truncateUnsigned(Double(i))
        case .number(let d): return Lua.truncateUnsigned(d)
        case .string(let s):
            if let type = field.typeName, let number = registry.enums[type]?.valuesByName[s] {
                return UInt64(bitPattern: Int64(number))
            }
            if let u = try Lua.tointeger(value) { return u }
            throw ProtoError("can not encode unknown enum '\(s)' at field '\(field.name)'")
        default:
            throw ProtoError("number/string expected at enum field '\(field.name)', got \(Lua.typeName(value))")
        }
    }

    // MARK: Wire format

    mutating func writeVarint(_ value: UInt64) { ProtoWire.appendVarint(value, to: &out) }

    mutating func writeTag(_ number: Int32, _ wire: UInt32) {
        ProtoWire.appendTag(Int(UInt32(bitPattern: number)), UInt64(wire), to: &out)
    }

    mutating func writeFixed(_ value: UInt64, bytes: Int) { ProtoWire.appendFixed(value, bytes: bytes, to: &out) }

    mutating func writeLengthDelimited(_ bytes: [UInt8]) {
        writeVarint(UInt64(bytes.count))
        out += bytes
    }

    /// lpb_writevalue.
    mutating func writeValue(_ scalar: Scalar, _ kind: FieldKind) {
        switch scalar {
        case .bytes(let bytes):
            writeLengthDelimited(bytes)
        case .double(let d):
            if kind == .float {
                writeFixed(UInt64(Float(d).bitPattern), bytes: 4)
            } else {
                writeFixed(d.bitPattern, bytes: 8)
            }
        case .integer(let u):
            let low = UInt32(truncatingIfNeeded: u)
            switch kind {
            case .fixed32, .sfixed32: writeFixed(UInt64(low), bytes: 4)
            case .fixed64, .sfixed64: writeFixed(u, bytes: 8)
            case .int32: writeVarint(UInt64(bitPattern: Int64(Int32(bitPattern: low))))
            case .uint32, .bool: writeVarint(UInt64(low))
            case .sint32: writeVarint(UInt64((low << 1) ^ UInt32(bitPattern: Int32(bitPattern: low) >> 31)))
            case .sint64: writeVarint((u << 1) ^ UInt64(bitPattern: Int64(bitPattern: u) >> 63))
            default: writeVarint(u)  // int64, uint64
            }
        }
    }
}
