import Foundation
import KGateTestSupport

/// The Zipkin v2 spans a test collector (a ``TestUpstream``) was sent, in JSON arrays, once
/// `count` arrived (or what arrived within the wait).
func collectedSpans(_ collector: TestUpstream, atLeast count: Int) async -> [[String: Any]] {
    var all: [[String: Any]] = []
    _ = await waitUntil {
        all = collector.requests.flatMap { request in
            (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]]) ?? []
        }
        return all.count >= count
    }
    return all
}
