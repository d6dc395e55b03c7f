import KGateLua
import KGateSchema
import Testing

@Suite struct LuaStackTests {
    @Test func syntaxErrorsReadAsLoadstringReportsThem() {
        let vm = LuaVM()
        #expect(vm.syntaxError(in: "return 1") == nil)
        #expect(vm.syntaxError(in: "local x =") == #"[string "local x ="]:1: unexpected symbol near '<eof>'"#)
        #expect(vm.stack.top == 0)
    }

    @Test func valuesRoundTripAsCjsonShapesThem() {
        let vm = LuaVM()
        let s = vm.stack
        let value = Value.object([
            "a": .array([.integer(1), .number(2.5), .string("x")]), "b": .bool(true), "n": .null, "e": .object([:]),
        ])
        s.push(value)
        let back = s.value(at: -1)?.objectValue
        #expect(back?.count == 4)
        for (key, v) in value.objectValue! { #expect(back?[key] == v, "\(key)") }
        s.pop()
        #expect(vm.run("return { [1] = 'a', [3] = 'c' }", name: "t") == nil)
        let sparse = s.value(at: -1)?.objectValue
        #expect(sparse?.count == 2 && sparse?["1"] == .string("a") && sparse?["3"] == .string("c"))
        s.pop()
        #expect(s.top == 0)
    }

    @Test func runErrorsComeBackAsMessages() {
        let vm = LuaVM()
        #expect(vm.run("error('boom')", name: "chunk") == "chunk:1: boom")
        #expect(vm.run("error({})", name: "chunk") == "(error object is a table value)")
        #expect(vm.stack.top == 0)
    }

    @Test func eachThreadHasItsOwnVM() async {
        let here = ObjectIdentifier(LuaVM.current)
        #expect(ObjectIdentifier(LuaVM.current) == here)
        let other = await Task.detached { () -> Bool in
            // Another thread's VM is its own (the detached task may run on this thread).
            LuaVM.current.stack.top == 0
        }.value
        #expect(other)
    }
}
