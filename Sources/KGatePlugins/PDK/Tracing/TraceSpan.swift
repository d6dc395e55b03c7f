/// A span as Kong's tracer keeps it (`kong/pdk/tracing.lua`): what the request's
/// instrumentations record and the opentelemetry plugin exports as OTLP.
public struct TraceSpan: Sendable {
    /// OTLP's span kinds (Kong's `SPAN_KIND`).
    public enum Kind: Int, Sendable {
        case unspecified = 0
        case `internal` = 1
        case server = 2
        case client = 3
        case producer = 4
        case consumer = 5
    }

    /// OTLP's status codes (Kong's `span:set_status`).
    public enum Status: Int, Sendable {
        case unset = 0
        case ok = 1
        case error = 2
    }

    public var name: String
    public var kind: Kind
    /// 16 bytes (a longer id received is cut to its last 16 when encoded, a shorter one padded).
    public var traceID: [UInt8]
    /// 8 bytes.
    public var spanID: [UInt8]
    public var parentID: [UInt8]?
    /// Nanoseconds since 1970.
    public var startNanos: UInt64
    /// Nanoseconds since 1970; nil while the span is open.
    public var endNanos: UInt64?
    /// In the order first set.
    public private(set) var attributes: [SpanAttribute] = []
    public private(set) var events: [SpanEvent] = []
    public var status: Status?
    /// The sampling decision (nil: none made).
    public var shouldSample: Bool?

    /// A span; `spanID` is random unless given.
    public init(
        name: String, kind: Kind = .internal, traceID: [UInt8], spanID: [UInt8]? = nil, parentID: [UInt8]? = nil,
        startNanos: UInt64, shouldSample: Bool? = nil
    ) {
        self.name = name
        self.kind = kind
        self.traceID = traceID
        self.spanID = spanID ?? TraceIDs.random(8)
        self.parentID = parentID
        self.startNanos = startNanos
        self.shouldSample = shouldSample
    }

    /// Sets, or with nil removes, an attribute (Kong's `span:set_attribute`).
    public mutating func setAttribute(_ key: String, _ value: SpanAttribute.Value?) {
        let index = attributes.firstIndex { $0.key == key }
        switch (index, value) {
        case (let i?, let value?): attributes[i].value = value
        case (let i?, nil): attributes.remove(at: i)
        case (nil, let value?): attributes.append(SpanAttribute(key, value))
        case (nil, nil): break
        }
    }

    /// The attribute's value, if set.
    public func attribute(_ key: String) -> SpanAttribute.Value? {
        attributes.first { $0.key == key }?.value
    }

    /// Adds an event (Kong's `span:add_event`).
    public mutating func addEvent(_ name: String, attributes: [SpanAttribute] = [], at nanos: UInt64 = WallClock.nowNanoseconds()) {
        events.append(SpanEvent(name: name, timeNanos: nanos, attributes: attributes))
    }

    /// Kong's `span:record_error`: an `exception` event with the message.
    public mutating func recordError(_ message: String) {
        addEvent("exception", attributes: [SpanAttribute("exception.message", .string(message))])
    }

    /// Ends the span, once (Kong's `span:finish`: an end before the start is refused).
    public mutating func finish(at nanos: UInt64 = WallClock.nowNanoseconds()) {
        guard endNanos == nil, nanos >= startNanos else { return }
        endNanos = nanos
    }
}

/// A span's or the resource's attribute (OTLP's `KeyValue`).
public struct SpanAttribute: Sendable, Equatable {
    /// OTLP's `AnyValue` as Kong fills it: Lua strings, booleans and numbers (as doubles, but
    /// `http.status_code` as an integer).
    public enum Value: Sendable, Equatable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
    }

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }
}

/// A span's event (Kong's `span:add_event`).
public struct SpanEvent: Sendable {
    public var name: String
    /// Nanoseconds since 1970.
    public var timeNanos: UInt64
    public var attributes: [SpanAttribute]
}
