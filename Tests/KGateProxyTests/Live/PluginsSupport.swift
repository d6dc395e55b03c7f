import Foundation
import Testing

/// Helpers shared by the plugin live tests (`Plugins*Tests.swift`).
extension ProxyHarness {
    /// One request (any method, optional body) on a fresh connection.
    func send(
        _ method: String, _ path: String, host: String = "example.test", headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> RawResponse {
        let c = try await client()
        defer { Task { await c.close() } }
        try await c.send(Self.request(method, path, host: host, headers: headers, body: body))
        return try await c.readResponse()
    }
}

extension RawResponse {
    /// The body as a JSON object (nil when it is not one).
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// `message` of a Kong JSON error body.
    var message: String? { json?["message"] as? String }
}

/// The path of a file holding `contents`, named `name` in a new temporary directory (for files
/// a config names by path); ``removeTemporaryFile(_:)`` removes both.
func temporaryFile(_ name: String, _ contents: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent(name).path
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Removes a ``temporaryFile(_:_:)`` and its directory.
func removeTemporaryFile(_ path: String) {
    try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent())
}

/// Fixed ids for the entities whose ids reach the upstream in headers.
enum PluginIDs {
    static let bob = "8a1ee5a5-5e1d-4bd7-a4a9-5d3c4a000001"
    static let alice = "8a1ee5a5-5e1d-4bd7-a4a9-5d3c4a000002"
    static let anonymous = "8a1ee5a5-5e1d-4bd7-a4a9-5d3c4a000003"
    static let missing = "8a1ee5a5-5e1d-4bd7-a4a9-5d3c4a0000ff"
    static let bobKey = "8a1ee5a5-5e1d-4bd7-a4a9-5d3c4a000011"
    static let bobBasic = "8a1ee5a5-5e1d-4bd7-a4a9-5d3c4a000012"
}

/// Runs `requests` concurrently, one connection each.
func concurrently(_ count: Int, _ request: @escaping @Sendable (Int) async throws -> RawResponse) async throws -> [RawResponse] {
    try await withThrowingTaskGroup(of: RawResponse.self) { group in
        for i in 0..<count { group.addTask { try await request(i) } }
        var out: [RawResponse] = []
        for try await r in group { out.append(r) }
        return out
    }
}

/// Waits, when the current `period`-second window (UTC, as rate-limiting counts) has less
/// than `margin` seconds left, until the next one starts, so a test's requests fall in one window.
func awaitRoomInWindow(period: Double, margin: Double) async throws {
    let now = Date().timeIntervalSince1970
    let left = period - now.truncatingRemainder(dividingBy: period)
    if left < margin { try await Task.sleep(for: .milliseconds(Int(left * 1000) + 20)) }
}

/// An `application/x-www-form-urlencoded` string (or a query) as name → values, in order.
func formArguments(_ text: some StringProtocol) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for pair in text.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = percentDecoded(parts[0])
        out[name, default: []].append(parts.count > 1 ? percentDecoded(parts[1]) : "")
    }
    return out
}

private func percentDecoded(_ s: some StringProtocol) -> String {
    let plus = s.replacingOccurrences(of: "+", with: " ")
    return plus.removingPercentEncoding ?? plus
}

extension EchoedRequest {
    /// The path of the request line.
    var path: String {
        let target = requestLine.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        return String(target.split(separator: "?", maxSplits: 1).first ?? "")
    }

    /// The query of the request line, decoded.
    var query: [String: [String]] {
        let target = requestLine.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        guard let q = target.firstIndex(of: "?") else { return [:] }
        return formArguments(target[target.index(after: q)...])
    }
}
