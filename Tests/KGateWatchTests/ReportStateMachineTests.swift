import KGateWatch
import Testing

@Suite struct ReportStateMachineTests {
    let a = ContentFingerprint(of: Array("a: 1\n".utf8))
    let b = ContentFingerprint(of: Array("b: 2\n".utf8))

    @Test func theBaselineContentIsNotReportedByDefault() {
        var machine = ReportStateMachine(reportInitial: false)
        #expect(machine.observed(.content(a)) == .none)
        #expect(machine.observed(.content(a)) == .none)
        #expect(machine.observed(.content(b)) == .report)
        #expect(machine.observed(.content(b)) == .none)
        #expect(machine.observed(.content(a)) == .report)
        #expect(machine.last == .content(a))
    }

    @Test func theBaselineContentIsReportedWhenAsked() {
        var machine = ReportStateMachine(reportInitial: true)
        #expect(machine.observed(.content(a)) == .report)
        #expect(machine.observed(.content(a)) == .none)
    }

    @Test func anUnreadableBaselineIsAlwaysReported() {
        var machine = ReportStateMachine(reportInitial: false)
        #expect(machine.observed(.unreadable(reason: "missing")) == .report)
        #expect(machine.observed(.content(a)) == .report)
    }

    @Test func unreadabilityIsReportedOncePerReason() {
        var machine = ReportStateMachine(reportInitial: false)
        _ = machine.observed(.content(a))
        #expect(machine.observed(.unreadable(reason: "missing")) == .report)
        #expect(machine.observed(.unreadable(reason: "missing")) == .none)
        #expect(machine.observed(.unreadable(reason: "permission denied")) == .report)
    }

    @Test func contentThatComesBackIsReportedEvenWhenUnchanged() {
        var machine = ReportStateMachine(reportInitial: false)
        _ = machine.observed(.content(a))
        _ = machine.observed(.unreadable(reason: "missing"))
        #expect(machine.observed(.content(a)) == .report)
        #expect(machine.observed(.content(a)) == .none)
    }
}

@Suite struct ContentFingerprintTests {
    // FNV-1a 64 reference values (http://www.isthe.com/chongo/tech/comp/fnv/).
    @Test(arguments: [
        ("", UInt64(0xcbf2_9ce4_8422_2325)),
        ("a", UInt64(0xaf63_dc4c_8601_ec8c)),
        ("foobar", UInt64(0x8594_4171_f739_67e8)),
    ])
    func matchesReferenceValues(text: String, hash: UInt64) {
        let fingerprint = ContentFingerprint(of: Array(text.utf8))
        #expect(fingerprint.hash == hash)
        #expect(fingerprint.byteCount == text.utf8.count)
        #expect(fingerprint == ContentFingerprint(of: text.utf8))
    }

    @Test func describesItselfInHex() {
        #expect(ContentFingerprint(of: Array("a".utf8)).description == "fnv1a64:af63dc4c8601ec8c/1")
        #expect(ContentFingerprint(of: [UInt8]()).description == "fnv1a64:cbf29ce484222325/0")
    }
}
