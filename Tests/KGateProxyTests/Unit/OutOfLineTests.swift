import Testing

@testable import KGateProxy

@Suite("Out-of-line optional state")
struct OutOfLineTests {
    struct Holder {
        @OutOfLine var value: [Int]?
    }

    @Test("nil costs one pointer, whatever the value's size")
    func size() {
        struct Big { var a = (0, 0, 0, 0, 0, 0, 0, 0) }
        struct BigHolder { @OutOfLine var big: Big? }
        #expect(MemoryLayout<BigHolder>.size == MemoryLayout<Int>.size)
        #expect(MemoryLayout<Big?>.size > MemoryLayout<BigHolder>.size)
    }

    @Test("copies keep value semantics: a write to one is not seen by the other")
    func valueSemantics() {
        var a = Holder(value: [1])
        var b = a
        b.value = [2]
        #expect(a.value == [1])
        #expect(b.value == [2])
        a.value = nil
        #expect(a.value == nil)
        #expect(b.value == [2])
    }

    @Test("a value set again on an unshared holder replaces the old one")
    func replace() {
        var a = Holder(value: nil)
        #expect(a.value == nil)
        a.value = [1, 2]
        a.value = [3]
        #expect(a.value == [3])
    }
}
