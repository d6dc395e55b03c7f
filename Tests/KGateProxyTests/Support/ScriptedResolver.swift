import NIOCore
import Synchronization

@testable import KGateProxy

/// A resolver answering from a table the test changes as it goes (a name it does not know does
/// not exist), recording the names asked.
final class ScriptedResolver: DNSResolving {
    private let table = Mutex<[String: Result<DNSAnswer, DNSFailure>]>([:])
    private let asked = Mutex<[String]>([])

    /// `name` resolves to `addresses` for `ttl`.
    func answer(_ name: String, _ addresses: [String], ttl: TimeAmount = .seconds(30)) {
        answer(name, .success(DNSAnswer(addresses: addresses.map { IPBytes(parsing: $0)! }, ttl: ttl)))
    }

    func answer(_ name: String, _ result: Result<DNSAnswer, DNSFailure>) {
        table.withLock { $0[name] = result }
    }

    /// The names asked so far, in order.
    var queries: [String] { asked.withLock { $0 } }

    func resolve(_ host: String, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer> {
        asked.withLock { $0.append(host) }
        switch table.withLock({ $0[host] }) ?? .failure(.nameNotFound) {
        case .success(let answer): return eventLoop.makeSucceededFuture(answer)
        case .failure(let failure): return eventLoop.makeFailedFuture(failure)
        }
    }
}
