import Crypto
import KGateSchema
import Testing

@testable import KGatePlugins

/// Kong's `standard-webhooks` (`spec/03-plugins/44-standard-webhooks/02-access_spec.lua`).
struct StandardWebhooksTests {
    static let config = """
        _format_version: "3.0"
        routes:
        - name: r
          paths: [/r]
          plugins:
          - name: standard-webhooks
            config: {secret_v1: MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
        """
    static let now = 1_700_000_000  // Exchange's request time

    static func signature(_ id: String, _ timestamp: Int, _ body: String, secret: String = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "v1," + Base64.encode(Array(mac))
    }

    private func status(_ headers: [(String, String)], body: String?) throws -> Int {
        let runner = try Gate.runner(Self.config)
        return Exchange(runner, route: "r", method: "POST", path: "/r", headers: HTTPFields(headers), body: body).status
    }

    @Test func verifiesWebhooks() throws {
        let body = #"{"type":"example.event"}"#
        let good = Self.signature("msg_1", Self.now, body)
        #expect(try status([("webhook-id", "msg_1"), ("webhook-timestamp", String(Self.now)), ("webhook-signature", good)], body: body) == 0)
        // Wrong signature, stale timestamp, missing header, empty body: 400.
        #expect(try status([("webhook-id", "msg_1"), ("webhook-timestamp", String(Self.now)), ("webhook-signature", Self.signature("msg_1", Self.now, body, secret: "x"))], body: body) == 400)
        let stale = Self.now - 301
        #expect(try status([("webhook-id", "msg_1"), ("webhook-timestamp", String(stale)), ("webhook-signature", Self.signature("msg_1", stale, body))], body: body) == 400)
        #expect(try status([("webhook-id", "msg_1"), ("webhook-signature", good)], body: body) == 400)
        #expect(try status([("webhook-id", "msg_1"), ("webhook-timestamp", String(Self.now)), ("webhook-signature", Self.signature("msg_1", Self.now, ""))], body: nil) == 400)
    }
}
