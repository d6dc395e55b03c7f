import NIOCore
import Testing

@testable import KGateProxy

@Suite("Upstream pool state machine")
struct PoolStateMachineTests {
    final class Conn {}
    typealias SM = UpstreamPoolStateMachine<String, Conn>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func isParked(_ a: SM.ReleaseAction) -> Bool {
        if case .parked = a { return true }
        return false
    }

    @Test("an empty pool asks for a connection; a parked one is reused, most recent first")
    func leaseAndReuse() {
        var sm = SM(limits: .init(maxIdlePerKey: 4, maxRequests: 0, idleTimeout: nil))
        guard case .connect = sm.lease("a") else { Issue.record("expected connect"); return }
        let c1 = Conn()
        let c2 = Conn()
        #expect(isParked(sm.release(c1, key: "a", reusable: true, requestsServed: 1, now: t0)))
        #expect(isParked(sm.release(c2, key: "a", reusable: true, requestsServed: 1, now: t0)))
        #expect(sm.idleCount == 2)
        guard case .reuse(let got) = sm.lease("a") else { Issue.record("expected reuse"); return }
        #expect(got === c2)
        guard case .connect = sm.lease("b") else { Issue.record("keys are separate"); return }
        #expect(sm.idleCount == 1)
    }

    @Test("not reusable, max requests, pool size 0 → close")
    func closes() {
        var sm = SM(limits: .init(maxIdlePerKey: 2, maxRequests: 3, idleTimeout: nil))
        let c = Conn()
        if case .close(let x) = sm.release(c, key: "a", reusable: false, requestsServed: 1, now: t0) { #expect(x === c) } else {
            Issue.record("expected close")
        }
        if case .close = sm.release(c, key: "a", reusable: true, requestsServed: 3, now: t0) {} else {
            Issue.record("max requests reached: close")
        }
        var off = SM(limits: .init(maxIdlePerKey: 0, maxRequests: 0, idleTimeout: nil))
        if case .close = off.release(c, key: "a", reusable: true, requestsServed: 1, now: t0) {} else {
            Issue.record("pool size 0: close")
        }
    }

    @Test("a full key keeps its surplus for the grace, then closes the least recently used")
    func surplus() {
        var sm = SM(limits: .init(maxIdlePerKey: 2, maxRequests: 0, idleTimeout: .seconds(60), surplusGrace: .seconds(1)))
        let (a, b, c, d) = (Conn(), Conn(), Conn(), Conn())
        guard case .parked(let first) = sm.release(a, key: "k", reusable: true, requestsServed: 1, now: t0) else {
            Issue.record("expected park"); return
        }
        #expect(first == t0 + .seconds(60))
        _ = sm.release(b, key: "k", reusable: true, requestsServed: 1, now: t0)
        // Over the size: parked, and the timer is moved up to the grace of the oldest.
        let t1 = t0 + .milliseconds(100)
        guard case .parked(let early) = sm.release(c, key: "k", reusable: true, requestsServed: 1, now: t1) else {
            Issue.record("expected park"); return
        }
        #expect(early == t0 + .seconds(1))
        guard case .parked(let again) = sm.release(d, key: "k", reusable: true, requestsServed: 1, now: t1) else {
            Issue.record("expected park"); return
        }
        #expect(again == nil)
        #expect(sm.idleCount(for: "k") == 4)
        // A burst takes them back before the grace ends: nothing to close.
        for _ in 0..<4 { _ = sm.lease("k") }
        for x in [a, b, c, d] { _ = sm.release(x, key: "k", reusable: true, requestsServed: 2, now: t0 + .milliseconds(500)) }
        var (closed, next) = sm.expire(now: t0 + .seconds(1))
        #expect(closed.isEmpty)
        #expect(next == t0 + .milliseconds(1500))
        // Idle through the grace: the two least recently used go, the pool size stays.
        (closed, next) = sm.expire(now: t0 + .milliseconds(1500))
        #expect(closed.count == 2 && closed[0] === a && closed[1] === b)
        #expect(sm.idleCount(for: "k") == 2)
        #expect(next == t0 + .milliseconds(60_500))
    }

    @Test("without an idle timeout, only a surplus arms the timer")
    func surplusWithoutTimeout() {
        var sm = SM(limits: .init(maxIdlePerKey: 1, maxRequests: 0, idleTimeout: nil))
        let (a, b) = (Conn(), Conn())
        guard case .parked(nil) = sm.release(a, key: "k", reusable: true, requestsServed: 1, now: t0) else {
            Issue.record("expected park without timer"); return
        }
        guard case .parked(let due) = sm.release(b, key: "k", reusable: true, requestsServed: 1, now: t0) else {
            Issue.record("expected park"); return
        }
        #expect(due == t0 + .seconds(1))
        let (closed, next) = sm.expire(now: t0 + .seconds(1))
        #expect(closed.count == 1 && closed[0] === a)
        #expect(next == nil)
    }

    @Test("idle timeout expiry and the next deadline")
    func expiry() {
        var sm = SM(limits: .init(maxIdlePerKey: 8, maxRequests: 0, idleTimeout: .seconds(60)))
        let (a, b) = (Conn(), Conn())
        guard case .parked(let arm) = sm.release(a, key: "k", reusable: true, requestsServed: 1, now: t0) else {
            Issue.record("expected park"); return
        }
        #expect(arm == t0 + .seconds(60))
        _ = sm.release(b, key: "j", reusable: true, requestsServed: 1, now: t0 + .seconds(30))
        let (expired, next) = sm.expire(now: t0 + .seconds(61))
        #expect(expired.count == 1 && expired[0] === a)
        #expect(next == t0 + .seconds(90))
        #expect(sm.idleCount == 1)
    }

    @Test("closed idle connections are forgotten; shutdown closes all and later releases")
    func closedAndShutdown() {
        var sm = SM(limits: .init(maxIdlePerKey: 8, maxRequests: 0, idleTimeout: nil))
        let (a, b) = (Conn(), Conn())
        _ = sm.release(a, key: "k", reusable: true, requestsServed: 1, now: t0)
        _ = sm.release(b, key: "k", reusable: true, requestsServed: 1, now: t0)
        sm.idleConnectionClosed(a, key: "k")
        #expect(sm.idleCount == 1)
        let all = sm.shutdown()
        #expect(all.count == 1 && all[0] === b)
        if case .close = sm.release(a, key: "k", reusable: true, requestsServed: 1, now: t0) {} else {
            Issue.record("after shutdown: close")
        }
    }
}
