import KGateWatch
import Testing

@Suite struct DebounceStateMachineTests {
    typealias Machine = DebounceStateMachine<ContinuousClock.Instant>
    let t0 = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(milliseconds)) }

    @Test func oneEventChecksAfterTheQuietPeriod() {
        var machine = Machine(quietPeriod: .milliseconds(200), maximumDelay: .seconds(2))
        #expect(!machine.isWaiting)
        #expect(machine.eventReceived(at: at(0)) == .scheduleCheck(at: at(200)))
        #expect(machine.isWaiting)
        #expect(machine.timerFired(scheduledFor: at(200), at: at(200)) == .check)
        #expect(!machine.isWaiting)
    }

    @Test func aBurstArmsOneTimerAndChecksOnceAfterTheLastEvent() {
        var machine = Machine(quietPeriod: .milliseconds(200), maximumDelay: .seconds(2))
        #expect(machine.eventReceived(at: at(0)) == .scheduleCheck(at: at(200)))
        #expect(machine.eventReceived(at: at(50)) == .none)
        #expect(machine.eventReceived(at: at(120)) == .none)
        // The timer fires before the moved deadline: it re-arms for the last event + quiet period.
        #expect(machine.timerFired(scheduledFor: at(200), at: at(201)) == .scheduleCheck(at: at(320)))
        #expect(machine.timerFired(scheduledFor: at(320), at: at(320)) == .check)
        // Quiet again: a new event starts a new burst.
        #expect(machine.eventReceived(at: at(1000)) == .scheduleCheck(at: at(1200)))
    }

    @Test func aBurstThatNeverGoesQuietIsCheckedAtTheMaximumDelay() {
        var machine = Machine(quietPeriod: .milliseconds(200), maximumDelay: .milliseconds(500))
        #expect(machine.eventReceived(at: at(0)) == .scheduleCheck(at: at(200)))
        var timer = at(200)
        var checks: [ContinuousClock.Instant] = []
        for now in stride(from: 10, through: 700, by: 10) {
            _ = machine.eventReceived(at: at(now))
            if at(now) >= timer {
                switch machine.timerFired(scheduledFor: timer, at: at(now)) {
                case .scheduleCheck(let next): timer = next
                case .check: checks.append(at(now))
                case .none: Issue.record("armed timer ignored")
                }
                if !checks.isEmpty { break }
            }
        }
        #expect(checks == [at(500)])
    }

    @Test func anEarlyTimerReArmsForTheSameDeadline() {
        var machine = Machine(quietPeriod: .milliseconds(200), maximumDelay: .seconds(2))
        _ = machine.eventReceived(at: at(0))
        #expect(machine.timerFired(scheduledFor: at(200), at: at(199)) == .scheduleCheck(at: at(200)))
        #expect(machine.timerFired(scheduledFor: at(200), at: at(200)) == .check)
    }

    @Test func anExplicitCheckSupersedesThePendingBurstAndItsTimer() {
        var machine = Machine(quietPeriod: .milliseconds(200), maximumDelay: .seconds(2))
        _ = machine.eventReceived(at: at(0))
        #expect(machine.checkRequested() == .check)
        #expect(!machine.isWaiting)
        #expect(machine.timerFired(scheduledFor: at(200), at: at(200)) == .none)
        #expect(machine.checkRequested() == .check)  // also when idle
    }

    @Test func aStaleTimerDoesNotDisturbANewBurst() {
        var machine = Machine(quietPeriod: .milliseconds(200), maximumDelay: .seconds(2))
        _ = machine.eventReceived(at: at(0))
        _ = machine.checkRequested()
        #expect(machine.eventReceived(at: at(100)) == .scheduleCheck(at: at(300)))
        #expect(machine.timerFired(scheduledFor: at(200), at: at(200)) == .none)  // the first burst's timer
        #expect(machine.isWaiting)
        #expect(machine.timerFired(scheduledFor: at(300), at: at(300)) == .check)
    }

    @Test func aRecheckReadsAtOnceWhenIdleAndNeverPostponesAPendingCheck() {
        var machine = Machine(quietPeriod: .milliseconds(40), maximumDelay: .seconds(1))
        #expect(machine.recheckRequested() == .check)
        #expect(machine.eventReceived(at: at(0)) == .scheduleCheck(at: at(40)))
        #expect(machine.recheckRequested() == .none)  // e.g. the next poll, arriving before the late timer
        #expect(machine.timerFired(scheduledFor: at(40), at: at(55)) == .check)
    }

    @Test func zeroQuietPeriodChecksAtOnce() {
        var machine = Machine(quietPeriod: .zero, maximumDelay: .zero)
        #expect(machine.eventReceived(at: at(5)) == .scheduleCheck(at: at(5)))
        #expect(machine.timerFired(scheduledFor: at(5), at: at(5)) == .check)
    }
}
