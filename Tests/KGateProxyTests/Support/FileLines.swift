import Foundation
import KGateTestSupport

/// The lines of a file once it has at least `count` (what it has after the wait otherwise).
func fileLines(_ path: String, atLeast count: Int) async -> [String] {
    func read() -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
    _ = await waitUntil { read().count >= count }
    return read()
}
