import KGateStore
import Testing

@Suite("ReloadStateMachine")
struct ReloadStateMachineTests {
    typealias Machine = ReloadStateMachine<Int>

    enum Event: Sendable, CustomStringConvertible {
        case request(Int)
        case finished
        case stop

        var description: String {
            switch self {
            case .request(let r): return "request(\(r))"
            case .finished: return "finished"
            case .stop: return "stop"
            }
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var events: [Event]
        var actions: [Machine.Action]
        var final: Machine.State

        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "first request starts", events: [.request(1)], actions: [.start(1)],
             final: .loading(current: 1, pending: nil)),
        Case(name: "finish goes idle", events: [.request(1), .finished], actions: [.start(1), .none], final: .idle),
        Case(name: "request while loading queues", events: [.request(1), .request(2)], actions: [.start(1), .none],
             final: .loading(current: 1, pending: 2)),
        Case(name: "queued starts after finish", events: [.request(1), .request(2), .finished],
             actions: [.start(1), .none, .start(2)], final: .loading(current: 2, pending: nil)),
        Case(name: "newer supersedes queued", events: [.request(1), .request(2), .request(3)],
             actions: [.start(1), .none, .supersede(2)], final: .loading(current: 1, pending: 3)),
        Case(name: "burst keeps only the newest",
             events: [.request(1), .request(2), .request(3), .request(4), .finished, .finished],
             actions: [.start(1), .none, .supersede(2), .supersede(3), .start(4), .none], final: .idle),
        Case(name: "request after idle starts again", events: [.request(1), .finished, .request(2)],
             actions: [.start(1), .none, .start(2)], final: .loading(current: 2, pending: nil)),
        Case(name: "stray finish is ignored", events: [.finished], actions: [.none], final: .idle),
        Case(name: "stop when idle", events: [.stop], actions: [.none], final: .stopped),
        Case(name: "stop abandons current and pending", events: [.request(1), .request(2), .stop],
             actions: [.start(1), .none, .abandon([1, 2])], final: .stopped),
        Case(name: "stop abandons current", events: [.request(1), .stop], actions: [.start(1), .abandon([1])],
             final: .stopped),
        Case(name: "requests after stop are rejected", events: [.stop, .request(5), .finished, .stop],
             actions: [.none, .reject(5), .none, .none], final: .stopped),
    ]

    @Test(arguments: cases)
    func table(_ c: Case) {
        var machine = Machine()
        var actions: [Machine.Action] = []
        for event in c.events {
            switch event {
            case .request(let r): actions.append(machine.requested(r))
            case .finished: actions.append(machine.loadFinished())
            case .stop: actions.append(machine.stop())
            }
        }
        #expect(actions == c.actions)
        #expect(machine.state == c.final)
    }

    @Test func atMostOneLoadRuns() {
        // Random interleavings: a start is only ever returned when no load runs.
        var generator = SystemRandomNumberGenerator()
        var machine = Machine()
        var running = false
        var started: [Int] = []
        for i in 0..<10_000 {
            if running && Bool.random(using: &generator) {
                if case .start(let r) = machine.loadFinished() { started.append(r) } else { running = false }
            } else if case .start(let r) = machine.requested(i) {
                #expect(!running)
                running = true
                started.append(r)
            }
            #expect(machine.isLoading == running)
        }
        #expect(started == started.sorted())  // superseding never reorders
    }
}
