import KGateSchema

/// One event of a provider's stream (Kong's `frame_to_events` output): an SSE event's fields,
/// or a JSON line or array element as `data`.
struct LLMStreamEvent: Sendable, Equatable {
    var event: String?
    var data: String?
    var id: String?

    init(event: String? = nil, data: String? = nil, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }

    /// `data` decoded as JSON.
    var json: Value? { data.flatMap { KongJSONEncoderShim.decode(Array($0.utf8)) } }
}

/// What a driver keeps across the events of one stream (Kong's `kong.ctx.plugin` stream id).
struct LLMStreamState: Sendable {
    var streamID: String?
}

/// What a driver made of one streamed event: a frame for the client (an OpenAI chunk, or the
/// `[DONE]` terminator), and token counts for the analytics.
struct LLMStreamOutput: Sendable, Equatable {
    enum Frame: Sendable, Equatable {
        case chunk(Value)
        /// The provider's own event data, sent as it came (OpenAI's API).
        case raw(String)
        case done
    }

    var frame: Frame?
    var promptTokens: Int?
    var completionTokens: Int?
    /// The counts are the stream's totals so far (gemini), not increments.
    var cumulative = false

    static let skip = LLMStreamOutput()
    static let done = LLMStreamOutput(frame: .done)

    init(frame: Frame? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil, cumulative: Bool = false) {
        self.frame = frame
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cumulative = cumulative
    }

    static func chunk(_ value: Value) -> LLMStreamOutput { LLMStreamOutput(frame: .chunk(value)) }
}

/// Converts a provider's streamed answer into OpenAI's server-sent events, chunk by chunk
/// (Kong's `parse-sse-chunk` and `normalize-sse-chunk` filters): the upstream bytes are cut into
/// events by the stream's content type, each goes through the driver, and each frame it gives
/// goes out as `data: <json>\n\n` (`[DONE]` without the blank line, as Kong writes it).
///
/// A chunk is what one upstream read gave (the proxy hands `body_filter` one piece per read, as
/// nginx does). Unlike Kong, an event cut across chunks is kept until its end arrives, for every
/// format, and an unterminated last event is still sent.
struct LLMStreamConverter: Sendable {
    /// How the upstream frames its events.
    enum Framing: Sendable, Equatable {
        /// Server-sent events (`text/event-stream`), or one JSON object per line when the
        /// stream starts with `{` (cohere, ollama).
        case events
        /// One JSON array whose elements arrive one by one (gemini's `application/json`).
        case jsonArray
        /// AWS event-stream messages (bedrock's `application/vnd.amazon.eventstream`).
        case awsEventStream
        /// A content type Kong does not parse: the client gets Kong's error event.
        case unsupported
    }

    let framing: Framing
    private var pending: [UInt8] = []
    private var lines: Bool?
    private var array = JSONArrayCutter()
    private var eventStream = AWSEventStream()
    private var broken = false
    var state = LLMStreamState()
    /// Tokens counted from the events (Kong's `llm_prompt_tokens_count` and completion count).
    private(set) var promptTokens = 0
    private(set) var completionTokens = 0
    /// The text of the chunks sent (`get_token_text`), and the last `finish_reason`.
    private(set) var text: [UInt8] = []
    private(set) var finishReason: Value?
    /// The events of the last chunk that had any (Kong's `current_events`).
    private var lastEvents: [LLMStreamEvent] = []

    /// Kong's `_SUPPORTED_STREAMING_CONTENT_TYPES`.
    static let supportedTypes: Set<String> = [
        "text/event-stream", "application/vnd.amazon.eventstream", "application/json", "application/stream+json",
        "application/x-ndjson",
    ]

    /// Kong's event for a stream it cannot convert, sent in place of the rest of it.
    static let unsupportedEvent = Array(#"data: {"error": true, "message": "empty or unsupported transformer response"}"#.utf8)

    /// The converter for an upstream `Content-Type` (parameters ignored; none: SSE).
    init(contentType: String?) {
        let type = contentType.map { String($0.prefix { $0 != ";" }) }
        switch type {
        case nil: framing = .events
        case "application/json"?: framing = .jsonArray
        case "application/vnd.amazon.eventstream"?: framing = .awsEventStream
        case let type? where !Self.supportedTypes.contains(type): framing = .unsupported
        default: framing = .events
        }
    }

    /// The client's bytes for the next upstream chunk.
    mutating func convert(
        _ chunk: [UInt8], last: Bool, driver: any LLMDriver, model: LLMModel, routeType: String
    ) -> [UInt8] {
        guard !broken else { return [] }
        if framing == .unsupported {
            guard !chunk.isEmpty else { return [] }
            broken = true
            return Self.unsupportedEvent
        }
        let routeType = "stream/" + routeType
        let events = events(chunk, last: last)
        var out: [UInt8] = []
        for event in events {
            guard let output = driver.streamEvent(event, model: model, routeType: routeType, state: &state) else { continue }
            record(output)
            switch output.frame {
            case .chunk(let value)?:
                out.append(contentsOf: "data: ".utf8)
                KongJSONEncoderShim.encode(value, into: &out)
                out.append(contentsOf: "\n\n".utf8)
            case .raw(let data)?:
                out.append(contentsOf: "data: ".utf8)
                out.append(contentsOf: data.utf8)
                out.append(contentsOf: "\n\n".utf8)
            case .done?:
                out.append(contentsOf: "data: [DONE]".utf8)
            case nil:
                break
            }
        }
        if !chunk.isEmpty, !events.isEmpty { lastEvents = events }
        if last, chunk.isEmpty {
            // Kong's filters keep the last chunk's events in the context, and the stream's end
            // (an empty chunk from nginx) runs them again: their text and token counts are
            // counted twice, their frames not sent. The analytics Kong logs include that.
            for event in lastEvents {
                if let output = driver.streamEvent(event, model: model, routeType: routeType, state: &state) { record(output) }
            }
        }
        return out
    }

    /// Keeps a frame's text, finish reason and tokens (Kong's `metrics_add`, or `metrics_set`
    /// for gemini's running totals).
    private mutating func record(_ output: LLMStreamOutput) {
        let value: Value?
        switch output.frame {
        case .chunk(let chunk)?: value = chunk
        case .raw(let data)?: value = KongJSONEncoderShim.decode(Array(data.utf8))
        default: value = nil
        }
        if case .array(let choices)? = value?["choices"], let first = choices.first {
            finishReason = first["finish_reason"]
            if case .string(let token)? = first["delta"]?["content"] ?? first["text"] { text.append(contentsOf: token.utf8) }
        }
        if output.cumulative {
            promptTokens = output.promptTokens ?? 0
            completionTokens = output.completionTokens ?? 0
        } else {
            promptTokens += output.promptTokens ?? 0
            completionTokens += output.completionTokens ?? 0
        }
    }

    /// The whole events in `pending` plus `chunk` (all that is left when `last`).
    private mutating func events(_ chunk: [UInt8], last: Bool) -> [LLMStreamEvent] {
        if framing == .jsonArray {
            return array.elements(chunk).map { $0.map { LLMStreamEvent(data: $0) } ?? LLMStreamEvent(data: "[DONE]") }
        }
        if framing == .awsEventStream { return eventStream.messages(chunk).map { LLMStreamEvent(data: $0) } }
        pending.append(contentsOf: chunk)
        if lines == nil, let first = pending.first(where: { !Self.isSpace($0) }) { lines = first == UInt8(ascii: "{") }
        var events: [LLMStreamEvent] = []
        if lines == true {
            while let newline = pending.firstIndex(where: { $0 == 10 || $0 == 13 }) {
                let line = pending[..<newline]
                if !line.isEmpty { events.append(LLMStreamEvent(data: String(decoding: line, as: UTF8.self))) }
                pending.removeFirst(newline + 1)
            }
            if last, !pending.isEmpty {
                events.append(LLMStreamEvent(data: String(decoding: pending, as: UTF8.self)))
                pending = []
            }
            return events
        }
        while let (end, separator) = Self.blankLine(in: pending) {
            events.append(Self.sseEvent(pending[..<end]))
            pending.removeFirst(end + separator)
        }
        if last, pending.contains(where: { !Self.isSpace($0) }) {
            events.append(Self.sseEvent(pending[...]))
            pending = []
        }
        return events
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || (9...13).contains(b) }

    /// Where the first event ends (`\n\n` or `\r\n\r\n`) and the separator's length.
    private static func blankLine(in bytes: [UInt8]) -> (Int, Int)? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 10, bytes[i + 1] == 10 { return (i, 2) }
            if bytes[i] == 13, i + 3 < bytes.count, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return (i, 4) }
            i += 1
        }
        return nil
    }

    /// An SSE event's `event`, `id` and `data` fields (the last of each, leading spaces of the
    /// value dropped, as Kong's parser does).
    private static func sseEvent(_ bytes: ArraySlice<UInt8>) -> LLMStreamEvent {
        var event = LLMStreamEvent()
        for line in bytes.split(whereSeparator: { $0 == 10 || $0 == 13 }) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon != line.startIndex else { continue }
            let field = String(decoding: line[..<colon], as: UTF8.self)
            let value = String(decoding: line[(colon + 1)...].drop(while: isSpace), as: UTF8.self)
            switch field {
            case "event": event.event = value
            case "id": event.id = value
            case "data": event.data = value
            default: break
            }
        }
        return event
    }
}

/// Cuts a JSON array arriving in pieces into its elements (Kong's `json_array_iterator`): each
/// top-level element's text once it is whole, then nil for the array's end.
struct JSONArrayCutter: Sendable {
    private var buffer: [UInt8] = []
    private var started = false
    private var finished = false
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var scanned = 0

    /// The elements completed by `chunk` (nil: the closing bracket).
    mutating func elements(_ chunk: [UInt8]) -> [String?] {
        guard !finished else { return [] }
        buffer.append(contentsOf: chunk)
        var out: [String?] = []
        var i = scanned
        while i < buffer.count {
            let b = buffer[i]
            defer { i += 1 }
            if !started {
                if b == UInt8(ascii: "[") {
                    started = true
                    buffer.removeFirst(i + 1)
                    i = -1
                }
                continue
            }
            if inString {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"): depth -= 1
            case UInt8(ascii: "]") where depth > 0: depth -= 1
            case UInt8(ascii: ",") where depth == 0, UInt8(ascii: "]"):
                if let element = Self.trimmed(buffer[..<i]) { out.append(element) }
                if b == UInt8(ascii: "]") {
                    finished = true
                    out.append(nil)
                    buffer = []
                    scanned = 0
                    return out
                }
                buffer.removeFirst(i + 1)
                i = -1
            default: break
            }
        }
        scanned = started ? buffer.count : 0
        return out
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> String? {
        let isSpace: (UInt8) -> Bool = { $0 == 32 || (9...13).contains($0) }
        let text = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        return text.isEmpty ? nil : String(decoding: Array(text), as: UTF8.self)
    }
}
