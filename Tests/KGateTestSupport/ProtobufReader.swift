/// Why protobuf bytes could not be read.
public enum ProtobufDecodingError: Error, Equatable, Sendable {
    /// The bytes end inside a field.
    case truncated
    /// A varint longer than ten bytes.
    case malformedVarint
    /// A wire type other than VARINT (0), I64 (1), LEN (2) and I32 (5) (groups are not read).
    case unsupportedWireType(UInt64)
    /// A field is not what the caller asked for (the description says which).
    case unexpected(String)
}

/// One field of a message as it is on the wire; the accessors give it in a proto type,
/// nil when the wire type does not fit.
public struct ProtobufField: Equatable, Sendable {
    /// The field's payload by wire type.
    public enum Value: Equatable, Sendable {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited([UInt8])
        case fixed32(UInt32)
    }

    /// The field number.
    public let number: Int
    public let value: Value

    /// A `uint64`/`uint32` (VARINT).
    public var varint: UInt64? {
        if case .varint(let v) = value { return v }
        return nil
    }

    /// An `int64`/`int32`/enum (VARINT, two's complement).
    public var int64: Int64? { varint.map { Int64(bitPattern: $0) } }

    /// A `bool` (VARINT).
    public var bool: Bool? { varint.map { $0 != 0 } }

    /// A `fixed64` (I64).
    public var fixed64: UInt64? {
        if case .fixed64(let v) = value { return v }
        return nil
    }

    /// A `double` (I64).
    public var double: Double? { fixed64.map(Double.init(bitPattern:)) }

    /// A `fixed32` (I32).
    public var fixed32: UInt32? {
        if case .fixed32(let v) = value { return v }
        return nil
    }

    /// `bytes` (LEN).
    public var bytes: [UInt8]? {
        if case .lengthDelimited(let v) = value { return v }
        return nil
    }

    /// A `string` (LEN, valid UTF-8).
    public var string: String? { bytes.flatMap { String(validating: $0, as: UTF8.self) } }

    /// An embedded message (LEN), parsed.
    public func message() throws -> ProtobufMessage? {
        try bytes.map(ProtobufMessage.init)
    }
}

/// A protobuf message read generically: its fields in wire order, looked up by number.
/// Absent fields are nil/empty (proto3's defaults are left to the caller, so a test can see
/// what was omitted).
public struct ProtobufMessage: Equatable, Sendable {
    /// Every field, in the order read.
    public let fields: [ProtobufField]

    /// Reads `bytes` (a whole message).
    public init(_ bytes: [UInt8]) throws {
        var reader = Reader(bytes: bytes)
        var fields: [ProtobufField] = []
        while !reader.atEnd {
            fields.append(try reader.field())
        }
        self.fields = fields
    }

    /// The occurrences of field `number`, in order (a repeated field's elements).
    public func fields(_ number: Int) -> [ProtobufField] {
        fields.filter { $0.number == number }
    }

    /// Field `number`'s last occurrence (the one proto3 keeps for a singular field).
    public func field(_ number: Int) -> ProtobufField? {
        fields.last { $0.number == number }
    }

    /// The field numbers present, in order, once each.
    public var numbers: [Int] {
        fields.reduce(into: []) { numbers, field in
            if !numbers.contains(field.number) { numbers.append(field.number) }
        }
    }

    /// Field `number` as an embedded message (nil when absent).
    public func message(_ number: Int) throws -> ProtobufMessage? {
        try field(number).map(Self.embedded)
    }

    /// The repeated embedded messages of field `number`.
    public func messages(_ number: Int) throws -> [ProtobufMessage] {
        try fields(number).map(Self.embedded)
    }

    /// `field` as a message, or an error when it is not length-delimited.
    private static func embedded(_ field: ProtobufField) throws -> ProtobufMessage {
        guard let message = try field.message() else {
            throw ProtobufDecodingError.unexpected("field \(field.number) is not a message")
        }
        return message
    }

    /// Reads fields off the wire.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        /// The next `count` bytes.
        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, count <= bytes.count - index else { throw ProtobufDecodingError.truncated }
            defer { index += count }
            return bytes[index..<index + count]
        }

        /// A base-128 varint.
        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 70, by: 7) {
                let byte = try take(1).first!
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
            }
            throw ProtobufDecodingError.malformedVarint
        }

        /// `size` bytes, little-endian.
        mutating func littleEndian(_ size: Int) throws -> UInt64 {
            try take(size).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        /// A key and its payload.
        mutating func field() throws -> ProtobufField {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: return ProtobufField(number: number, value: .varint(try varint()))
            case 1: return ProtobufField(number: number, value: .fixed64(try littleEndian(8)))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count) else { throw ProtobufDecodingError.truncated }
                return ProtobufField(number: number, value: .lengthDelimited(Array(try take(Int(length)))))
            case 5: return ProtobufField(number: number, value: .fixed32(UInt32(try littleEndian(4))))
            case let other: throw ProtobufDecodingError.unsupportedWireType(other)
            }
        }
    }
}

extension ProtobufMessage {
    /// Field `number` as a string; nil when absent, an error when not a string.
    public func string(_ number: Int) throws -> String? {
        try field(number).map { field in
            guard let string = field.string else { throw ProtobufDecodingError.unexpected("field \(number) is not a string") }
            return string
        }
    }

    /// Field `number` as bytes; nil when absent.
    public func bytes(_ number: Int) -> [UInt8]? { field(number)?.bytes }

    /// Field `number` as a fixed64; nil when absent.
    public func fixed64(_ number: Int) -> UInt64? { field(number)?.fixed64 }

    /// Field `number` as a fixed32; nil when absent.
    public func fixed32(_ number: Int) -> UInt32? { field(number)?.fixed32 }

    /// Field `number` as an int64/enum; nil when absent.
    public func int64(_ number: Int) -> Int64? { field(number)?.int64 }
}

/// An OTLP `AnyValue` of the kinds kgate sends.
public enum OTLPAnyValue: Equatable, Sendable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)

    /// Reads an `AnyValue` (its `oneof` member set last); arrays, lists and bytes are refused.
    init(_ message: ProtobufMessage) throws {
        let field = message.fields.last
        let value: OTLPAnyValue? = switch field?.number {
        case 1: field?.string.map(Self.string)
        case 2: field?.bool.map(Self.bool)
        case 3: field?.int64.map(Self.int)
        case 4: field?.double.map(Self.double)
        default: nil
        }
        guard let value else { throw ProtobufDecodingError.unexpected("AnyValue without a string, bool, int or double") }
        self = value
    }
}

/// An OTLP `KeyValue`.
public struct OTLPKeyValue: Equatable, Sendable {
    public var key: String
    public var value: OTLPAnyValue

    public init(_ key: String, _ value: OTLPAnyValue) {
        self.key = key
        self.value = value
    }

    /// The repeated `KeyValue`s of `message`'s field `number`, in order.
    static func list(_ message: ProtobufMessage, _ number: Int) throws -> [OTLPKeyValue] {
        try message.messages(number).map { keyValue in
            guard let value = try keyValue.message(2) else { throw ProtobufDecodingError.unexpected("KeyValue without a value") }
            return OTLPKeyValue(try keyValue.string(1) ?? "", try OTLPAnyValue(value))
        }
    }
}

/// An `ExportTraceServiceRequest` decoded for tests: the first `resource_spans`'s resource
/// attributes and first scope, and the spans of all of them.
public struct OTLPTraceRequest: Equatable, Sendable {
    /// The resource attributes, in order.
    public var resource: [OTLPKeyValue] = []
    public var scopeName = ""
    public var scopeVersion = ""
    /// All spans, in order.
    public var spans: [OTLPSpan] = []

    /// Decodes a request body: `resource_spans` (1) > `resource` (1) > `attributes` (1), and
    /// `resource_spans` (1) > `scope_spans` (2) > `scope` (1) and spans (2).
    public init(_ bytes: [UInt8]) throws {
        for (i, resourceSpans) in try ProtobufMessage(bytes).messages(1).enumerated() {
            if i == 0, let resource = try resourceSpans.message(1) { self.resource = try OTLPKeyValue.list(resource, 1) }
            for (j, scopeSpans) in try resourceSpans.messages(2).enumerated() {
                if i == 0, j == 0, let scope = try scopeSpans.message(1) {
                    scopeName = try scope.string(1) ?? ""
                    scopeVersion = try scope.string(2) ?? ""
                }
                spans += try scopeSpans.messages(2).map(OTLPSpan.init)
            }
        }
    }
}

/// A `Span.Event`, decoded.
public struct OTLPSpanEvent: Equatable, Sendable {
    public var name: String
    public var timeNanos: UInt64
    public var attributes: [OTLPKeyValue]
}

/// A `Span`, decoded: proto3 defaults for absent scalars, nil for the fields kgate may omit.
public struct OTLPSpan: Equatable, Sendable {
    public var traceID: [UInt8]
    public var spanID: [UInt8]
    /// Nil when absent.
    public var parentSpanID: [UInt8]?
    public var name: String
    /// `SpanKind` (0 unspecified ... 5 consumer).
    public var kind: Int
    public var startNanos: UInt64
    /// Nil when absent.
    public var endNanos: UInt64?
    public var attributes: [OTLPKeyValue]
    public var events: [OTLPSpanEvent]
    /// Nil when the span has no `status`; its `code` (0 when unset) otherwise.
    public var statusCode: Int?

    /// Reads a `Span`.
    public init(_ span: ProtobufMessage) throws {
        traceID = span.bytes(1) ?? []
        spanID = span.bytes(2) ?? []
        parentSpanID = span.bytes(4)
        name = try span.string(5) ?? ""
        kind = Int(span.int64(6) ?? 0)
        startNanos = span.fixed64(7) ?? 0
        endNanos = span.fixed64(8)
        attributes = try OTLPKeyValue.list(span, 9)
        events = try span.messages(11).map { event in
            OTLPSpanEvent(name: try event.string(2) ?? "", timeNanos: event.fixed64(1) ?? 0, attributes: try OTLPKeyValue.list(event, 3))
        }
        statusCode = try span.message(15).map { Int($0.int64(3) ?? 0) }
    }
}

/// An `ExportLogsServiceRequest` decoded for tests: the first resource's attributes, the first
/// scope, and every `LogRecord`.
public struct OTLPLogsRequest: Equatable, Sendable {
    public var resource: [OTLPKeyValue] = []
    public var scopeName = ""
    public var records: [OTLPLogRecord] = []

    /// Decodes `resource_logs` (1) > `resource` (1) and `scope_logs` (2) > `scope` (1) and
    /// `log_records` (2).
    public init(_ bytes: [UInt8]) throws {
        for (i, resourceLogs) in try ProtobufMessage(bytes).messages(1).enumerated() {
            if i == 0, let resource = try resourceLogs.message(1) { self.resource = try OTLPKeyValue.list(resource, 1) }
            for scopeLogs in try resourceLogs.messages(2) {
                if scopeName.isEmpty, let scope = try scopeLogs.message(1) { scopeName = try scope.string(1) ?? "" }
                records += try scopeLogs.messages(2).map(OTLPLogRecord.init)
            }
        }
    }
}

/// A `LogRecord`, decoded.
public struct OTLPLogRecord: Equatable, Sendable {
    public var timeNanos: UInt64
    public var observedTimeNanos: UInt64
    public var severityNumber: Int64
    public var severityText: String
    public var body: String
    public var attributes: [OTLPKeyValue]
    public var flags: UInt32?
    public var traceID: [UInt8]?
    public var spanID: [UInt8]?

    /// Reads the fields of logs.proto's `LogRecord`.
    public init(_ record: ProtobufMessage) throws {
        timeNanos = record.fixed64(1) ?? 0
        observedTimeNanos = record.fixed64(11) ?? 0
        severityNumber = record.int64(2) ?? 0
        severityText = try record.string(3) ?? ""
        body = try record.message(5).flatMap { try $0.string(1) } ?? ""
        attributes = try OTLPKeyValue.list(record, 6)
        flags = record.fixed32(8)
        traceID = record.bytes(9)
        spanID = record.bytes(10)
    }

    /// An attribute's value.
    public func attribute(_ key: String) -> OTLPAnyValue? { attributes.first { $0.key == key }?.value }
}
