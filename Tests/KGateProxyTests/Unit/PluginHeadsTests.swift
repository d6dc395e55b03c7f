import Testing

@testable import KGateProxy

@Suite("Header lines plugins set: what may go on the wire")
struct PluginHeadsTests {
    @Test("a name of token characters and a value without CR, LF or NUL")
    func sendable() {
        #expect(PluginHeads.isSendable(name: "X-RateLimit-Limit-Second", value: "1000000000"))
        #expect(PluginHeads.isSendable(name: "X-Consumer-Username", value: "bench user, with \"quotes\" \u{7F} and é"))
        #expect(PluginHeads.isSendable(name: "x!#$%&'*+-.^_`|~09", value: ""))
        #expect(!PluginHeads.isSendable(name: "", value: "v"))
        #expect(!PluginHeads.isSendable(name: "Bad Name", value: "v"))
        #expect(!PluginHeads.isSendable(name: "Bad:Name", value: "v"))
        #expect(!PluginHeads.isSendable(name: "Nämé", value: "v"))
        #expect(!PluginHeads.isSendable(name: "X-A", value: "a\r\nX-Injected: 1"))
        #expect(!PluginHeads.isSendable(name: "X-A", value: "a\nb"))
        #expect(!PluginHeads.isSendable(name: "X-A", value: "a\u{0}b"))
        // Bytes next to the refused ones pass.
        #expect(PluginHeads.isSendable(name: "X-A", value: "\u{0B}\u{0C}\u{0E}\t"))
    }
}
