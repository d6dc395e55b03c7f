/// Provider answers the AI plugin tests share (the shapes of Kong's
/// spec/03-plugins/38-ai-proxy fixtures).
public enum LLMFixtures {
    /// An Anthropic Messages API stream (Kong's streaming spec): each event's name and data.
    /// Its text is `1 + 1 = 2`; 15 prompt tokens, 1 + 9 completion tokens.
    public static let anthropicStream: [(event: String, data: String)] = [
        ("message_start", #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-2.1","usage":{"input_tokens":15,"output_tokens":1},"content":[]}}"#),
        ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ("ping", #"{"type": "ping"}"#),
        ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"1 + 1"}}"#),
        ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" = 2"}}"#),
        ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
        ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#),
        ("message_stop", #"{"type":"message_stop"}"#),
    ]

    /// The Anthropic stream as server-sent events, one string per event.
    public static var anthropicStreamEvents: [String] { anthropicStream.map { "event: \($0.event)\ndata: \($0.data)\n\n" } }

    /// A bedrock `converse-stream` answer calling `add` with `{"a": 2, "b": 12}` (Kong's
    /// spec/fixtures/ai-proxy/bedrock/chunks): each event's type and payload. 478 prompt
    /// tokens, 44 completion tokens.
    public static let bedrockToolStream: [(event: String, payload: String)] = [
        ("messageStart", #"{"p":"abcdefghijkl","role":"assistant"}"#),
        ("contentBlockStart", #"{"contentBlockIndex":0,"p":"abc","start":{"toolUse":{"name":"add","toolUseId":"tooluse_1"}}}"#),
        ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":""}},"p":"abc"}"#),
        ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\""}},"p":"abc"}"#),
        ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"a\": 2"}},"p":"abc"}"#),
        ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":", \"b"}},"p":"abc"}"#),
        ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"\": 12}"}},"p":"abc"}"#),
        ("contentBlockStop", #"{"contentBlockIndex":0,"p":"abc"}"#),
        ("messageStop", #"{"p":"ab","stopReason":"tool_use"}"#),
        ("metadata", #"{"metrics":{"latencyMs":1735},"p":"abc","usage":{"inputTokens":478,"outputTokens":44,"totalTokens":522}}"#),
    ]

    /// The bytes of one AWS event-stream message: `headers` as strings (type 7), `payload`,
    /// both CRCs.
    public static func eventStreamMessage(_ headers: [(String, String)], _ payload: String) -> [UInt8] {
        var encoded: [UInt8] = []
        for (name, value) in headers {
            encoded.append(UInt8(name.utf8.count))
            encoded += Array(name.utf8)
            encoded.append(7)
            encoded += bigEndian(value.utf8.count, 2) + Array(value.utf8)
        }
        let total = 16 + encoded.count + payload.utf8.count
        var message = bigEndian(total, 4) + bigEndian(encoded.count, 4)
        message += bigEndian(Int(crc32(message)), 4)
        message += encoded + Array(payload.utf8)
        return message + bigEndian(Int(crc32(message)), 4)
    }

    /// A bedrock stream event (`:event-type`, JSON content, `event` message type).
    public static func bedrockEvent(_ type: String, _ payload: String) -> [UInt8] {
        eventStreamMessage([(":event-type", type), (":content-type", "application/json"), (":message-type", "event")], payload)
    }

    private static func bigEndian(_ value: Int, _ bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// CRC-32 (IEEE), as the event stream's checksums.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
