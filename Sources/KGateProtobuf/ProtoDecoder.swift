import KGateSchema

/// lua-protobuf's `pb.decode` (lpbD_*) with Kong's options: auto_default_values (proto3
/// messages get their scalar defaults), enum_as_name, int64_as_number, decode_default_array
/// (repeated fields default to `[]`, maps to `{}`), decode hooks enabled.
struct ProtoDecoder {
    let registry: TypeRegistry
    let bytes: [UInt8]

    init(registry: TypeRegistry, bytes: [UInt8]) {
        self.registry = registry
        self.bytes = bytes
    }

    func decodeTop(as type: String) throws(ProtoError) -> Value {
        guard let message = registry.messages[type] else { throw ProtoError("type '\(type)' does not exists") }
        var pos = 0
        return try decodeMessage(message, pos: &pos, end: bytes.count, depth: 0)
    }

    /// A message's fields while it is decoded (the Lua table), by field index.
    struct Table {
        var values: [Value?]
        var lists: [[Value]?]
        var maps: [Object?]
        var oneofs: [String: String] = [:]

        /// The object, keys in field declaration order; a oneof's key follows its field.
        func object(_ message: MessageInfo) -> Object {
            var object = Object()
            for (i, field) in message.fields.enumerated() {
                if let map = maps[i] {
                    object[field.name] = .object(map)
                } else if let list = lists[i] {
                    object[field.name] = .array(list)
                } else if let value = values[i] {
                    object[field.name] = value
                }
                if let oneof = field.oneof, oneofs[oneof] == field.name, message.indexByName[oneof] == nil {
                    object[oneof] = .string(field.name)
                }
            }
            return object
        }
    }

    /// lpb_pushtypetable: a table with the type's defaults.
    func newTable(_ message: MessageInfo) -> Table {
        let n = message.fields.count
        var table = Table(values: Array(repeating: nil, count: n), lists: Array(repeating: nil, count: n), maps: Array(repeating: nil, count: n))
        for (i, field) in message.fields.enumerated() {
            if field.repeated {
                if field.isMap { table.maps[i] = [:] } else { table.lists[i] = [] }
            } else if message.isProto3 && field.oneof == nil && field.kind != .message {
                table.values[i] = defaultValue(field, proto3: true)
            }
        }
        return table
    }

    /// lpb_pushdeffield.
    func defaultValue(_ field: FieldInfo, proto3: Bool) -> Value? {
        let text = field.defaultValue
        switch field.kind {
        case .enumeration:
            guard let type = field.typeName, let e = registry.enums[type] else { return nil }
            if let text, e.valuesByName[text] != nil { return .string(text) }
            guard proto3 else { return nil }
            return e.namesByNumber[0].map { .string($0) } ?? .integer(0)
        case .message:
            guard let type = field.typeName, let message = registry.messages[type] else { return nil }
            return .object(newTable(message).object(message))
        case .string, .bytes:
            if let text { return .string(text) }
            return proto3 ? .string("") : nil
        case .bool:
            if let text {
                return text == "true" ? .bool(true) : text == "false" ? .bool(false) : nil
            }
            return proto3 ? .bool(false) : nil
        case .double, .float:
            if let text { return Lua.strtodPrefix(text).map { .number($0) } }
            return proto3 ? .number(0) : nil
        default:
            if let text { return Lua.strtolPrefix(text).map { Lua.number($0) } }
            return proto3 ? .integer(0) : nil
        }
    }

    /// How deep messages may nest: lua-protobuf stops at Lua's stack limit ("too many
    /// levels"); kgate stops earlier, as protobuf's own parsers do, so that a hostile answer
    /// cannot exhaust the event loop's stack.
    static let maxDepth = 100

    /// lpbD_message, then the type's decode hook; `depth` is how many messages enclose it.
    func decodeMessage(_ message: MessageInfo, pos: inout Int, end: Int, depth: Int) throws(ProtoError) -> Value {
        guard depth < Self.maxDepth else { throw ProtoError("message too many levels") }
        var table = newTable(message)
        while let tag = readVarint32(&pos, end) {
            guard let index = message.indexByNumber[Int32(bitPattern: tag >> 3)] else {
                skipValue(&pos, end, tag)
                continue
            }
            let field = message.fields[index]
            if field.isMap {
                if table.maps[index] == nil { table.maps[index] = [:] }
                try checkType(field, tag, pos)
                if let (key, value) = try decodeMapEntry(field, &pos, end, depth: depth) {
                    table.maps[index]![key] = value
                }
            } else if field.repeated {
                var list = table.lists[index] ?? []
                table.lists[index] = nil
                try decodeRepeated(field, tag, &pos, end, into: &list, depth: depth)
                table.lists[index] = list
            } else {
                if let oneof = field.oneof { table.oneofs[oneof] = field.name }
                try checkType(field, tag, pos)
                table.values[index] = try decodeField(field, &pos, end, depth: depth)
            }
        }
        return try Hooks.decode(.object(table.object(message)), type: message.fullName)
    }

    /// lpbD_checktype.
    func checkType(_ field: FieldInfo, _ tag: UInt32, _ pos: Int) throws(ProtoError) {
        let expected = field.kind.wireType
        guard expected != tag & 7 else { return }
        throw ProtoError(
            "type mismatch for \(field.packed ? "packed " : "")\(field.repeated ? "repeated " : "")field '\(field.name)' at offset \(pos + 1), "
                + "\(Wire.name(expected)) expected for type \(field.kind.name), got \(Wire.name(tag & 7))")
    }

    /// lpbD_repeated: one element, or a packed run (any length-delimited data for a packable type).
    func decodeRepeated(_ field: FieldInfo, _ tag: UInt32, _ pos: inout Int, _ end: Int, into list: inout [Value], depth: Int) throws(ProtoError) {
        if tag & 7 != Wire.bytes || (!field.packed && field.kind.wireType == Wire.bytes) {
            try checkType(field, tag, pos)
            list.append(try decodeField(field, &pos, end, depth: depth))
        } else {
            let (start, length) = try readBytes(&pos, end)
            var p = start
            while p < start + length {
                list.append(try decodeField(field, &p, start + length, depth: depth))
            }
        }
    }

    /// lpbD_map: the entry's key (as a string: Lua keys are converted as cjson prints them) and
    /// value; a missing key or value takes its proto3 default.
    func decodeMapEntry(_ field: FieldInfo, _ pos: inout Int, _ end: Int, depth: Int) throws(ProtoError) -> (String, Value)? {
        let (start, length) = try readBytes(&pos, end)
        guard let type = field.typeName, let entry = registry.messages[type] else { return nil }
        var p = start
        let stop = start + length
        var key: Value?
        var value: Value?
        while let tag = readVarint32(&p, stop) {
            let n = tag >> 3
            // Other fields are not skipped (as lpbD_map): their bytes are read as tags.
            guard n == 1 || n == 2, let f = entry.field(number: Int32(n)) else { continue }
            try checkType(f, tag, p)
            let v = try decodeField(f, &p, stop, depth: depth)
            if n == 1 { key = v } else { value = v }
        }
        if key == nil, let f = entry.field(number: 1) { key = defaultValue(f, proto3: true) }
        if value == nil, let f = entry.field(number: 2) { value = defaultValue(f, proto3: true) }
        guard let key, let value else { return nil }
        switch key {
        case .string(let s): return (s, value)
        case .bool(let b): return (b ? "true" : "false", value)
        case .integer(let i): return (Lua.format(Double(i)), value)
        case .number(let d): return (Lua.format(d), value)
        default: return nil
        }
    }

    /// lpbD_field / lpb_pushvalue.
    func decodeField(_ field: FieldInfo, _ pos: inout Int, _ end: Int, depth: Int) throws(ProtoError) -> Value {
        switch field.kind {
        case .enumeration:
            let u = try varint(&pos, end)
            if let type = field.typeName, let name = registry.enums[type]?.namesByNumber[Int32(truncatingIfNeeded: u)] {
                return .string(name)
            }
            return Lua.number(Int64(bitPattern: u))
        case .message:
            let (start, length) = try readBytes(&pos, end)
            guard let type = field.typeName, let message = registry.messages[type] else { return .null }
            var p = start
            return try decodeMessage(message, pos: &p, end: start + length, depth: depth + 1)
        case .bool:
            return .bool(try varint(&pos, end) != 0)
        case .int32:
            return Lua.number(Int64(Int32(truncatingIfNeeded: try varint(&pos, end))))
        case .uint32:
            return Lua.number(Int64(UInt32(truncatingIfNeeded: try varint(&pos, end))))
        case .sint32:
            let v = UInt32(truncatingIfNeeded: try varint(&pos, end))
            return Lua.number(Int64(Int32(bitPattern: (v >> 1) ^ (0 &- (v & 1)))))
        case .int64, .uint64:
            // lpb_pushinteger takes an int64_t: uint64 values above Int64.max come out negative.
            return Lua.number(Int64(bitPattern: try varint(&pos, end)))
        case .sint64:
            let v = try varint(&pos, end)
            return Lua.number(Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))))
        case .float, .fixed32, .sfixed32:
            guard pos + 4 <= end else { throw ProtoError("invalid fixed32 value at offset \(pos + 1)") }
            let v = UInt32(truncatingIfNeeded: fixed(pos, 4))
            pos += 4
            switch field.kind {
            case .float: return .number(Double(Float(bitPattern: v)))
            case .fixed32: return Lua.number(Int64(v))
            default: return Lua.number(Int64(Int32(bitPattern: v)))
            }
        case .double, .fixed64, .sfixed64:
            guard pos + 8 <= end else { throw ProtoError("invalid fixed64 value at offset \(pos + 1)") }
            let v = fixed(pos, 8)
            pos += 8
            return field.kind == .double ? .number(Double(bitPattern: v)) : Lua.number(Int64(bitPattern: v))
        case .string, .bytes:
            let (start, length) = try readBytes(&pos, end)
            return .string(String(decoding: bytes[start..<start + length], as: UTF8.self))
        case .group:
            return .null
        }
    }

    // MARK: Wire format

    func fixed(_ pos: Int, _ count: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<count).reversed() { v = v << 8 | UInt64(bytes[pos + i]) }
        return v
    }

    /// A varint of at most 10 bytes, or nil (position unchanged) when truncated or overlong.
    func readVarint64(_ pos: inout Int, _ end: Int) -> UInt64? {
        var value: UInt64 = 0
        var p = pos
        var shift: UInt64 = 0
        while p < end && p - pos < 10 {
            let b = bytes[p]
            p += 1
            if shift < 64 { value |= UInt64(b & 0x7F) << shift }
            shift += 7
            if b & 0x80 == 0 {
                pos = p
                return value
            }
        }
        return nil
    }

    func readVarint32(_ pos: inout Int, _ end: Int) -> UInt32? {
        readVarint64(&pos, end).map { UInt32(truncatingIfNeeded: $0) }
    }

    func varint(_ pos: inout Int, _ end: Int) throws(ProtoError) -> UInt64 {
        guard let v = readVarint64(&pos, end) else { throw ProtoError("invalid varint value at offset \(pos + 1)") }
        return v
    }

    /// lpb_readbytes: the start and length of a length-delimited value.
    func readBytes(_ pos: inout Int, _ end: Int) throws(ProtoError) -> (Int, Int) {
        guard let length = readVarint64(&pos, end) else {
            throw ProtoError("invalid bytes length: 0 (at offset \(pos + 1))")
        }
        guard length <= UInt64(end - pos) else {
            throw ProtoError("unfinished bytes (len \(Int32(truncatingIfNeeded: length)) at offset \(pos + 1))")
        }
        let start = pos
        pos += Int(length)
        return (start, Int(length))
    }

    /// pb_skipvalue: skips an unknown field's value; when it cannot (truncated, bad wire type),
    /// the position stays after the tag and decoding goes on from there, as lua-protobuf does.
    @discardableResult
    func skipValue(_ pos: inout Int, _ end: Int, _ tag: UInt32) -> Bool {
        let saved = pos
        var ok = false
        switch tag & 7 {
        case Wire.varint:
            var p = pos
            while p < end && bytes[p] & 0x80 != 0 { p += 1 }
            if p < end {
                pos = p + 1
                ok = true
            }
        case Wire.bit64:
            if pos + 8 <= end {
                pos += 8
                ok = true
            }
        case Wire.bit32:
            if pos + 4 <= end {
                pos += 4
                ok = true
            }
        case Wire.bytes:
            if let length = readVarint64(&pos, end), length <= UInt64(end - pos) {
                pos += Int(length)
                ok = true
            }
        case Wire.groupStart:
            while let inner = readVarint32(&pos, end) {
                if inner & 7 == Wire.groupEnd {
                    ok = inner >> 3 == tag >> 3
                    break
                }
                if !skipValue(&pos, end, inner) { break }
            }
        default:
            break
        }
        if !ok { pos = saved }
        return ok
    }
}
