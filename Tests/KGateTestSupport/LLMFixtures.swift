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
}
