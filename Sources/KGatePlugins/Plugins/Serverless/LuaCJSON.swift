import CLuaJIT
import KGateConfig
import KGateLua

/// lua-cjson as Kong loads it: `cjson.encode`/`cjson.decode`, which raise their errors, and
/// `cjson.safe`'s, which return nil and the message. The prelude adds `cjson.null` and makes
/// both `require`-able.
enum LuaCJSON {
    static let functions: [(name: String, function: LuaPDK.Function)] = [
        ("cjson.encode", { c in encode(c, safe: false) }),
        ("cjson.decode", { c in decode(c, safe: false) }),
        ("cjson.safe.encode", { c in encode(c, safe: true) }),
        ("cjson.safe.decode", { c in decode(c, safe: true) }),
    ]

    /// Deepest nesting cjson encodes (`encode_max_depth`).
    static let maxDepth = 1000

    private static func encode(_ c: LuaCall, safe: Bool) -> Int32 {
        let problem = c.argumentCount != 1 ? "bad argument #1 to 'encode' (expected 1 argument)" : refusal(c.stack, at: 1, depth: 0)
        if let problem { return safe ? c.failing(problem) : c.raise(problem) }
        return c.returning(KongJSONEncoderShim.string(c.stack.value(at: 1, depth: maxDepth) ?? .null))
    }

    private static func decode(_ c: LuaCall, safe: Bool) -> Int32 {
        guard c.argumentCount == 1, c.type(1) == .string || c.type(1) == .number, let text = c.stack.bytes(at: 1) else {
            let problem = c.argumentCount != 1
                ? "bad argument #1 to 'decode' (expected 1 argument)"
                : "bad argument #1 to 'decode' (string expected, got \(c.stack.typeName(at: 1)))"
            return safe ? c.failing(problem) : c.raise(problem)
        }
        switch JSONReader.read(text) {
        case .success(let document): return c.returning(document.value)
        case .failure(let error): return safe ? c.failing(error.message) : c.raise(error.message)
        }
    }

    /// cjson's message for what it cannot encode in the value at `index`: functions and other
    /// non-data types, NaN and infinities, keys that are neither strings nor numbers, nesting
    /// deeper than ``maxDepth`` (which includes cycles); nil when it encodes.
    static func refusal(_ s: LuaStack, at index: Int32, depth: Int) -> String? {
        switch s.type(at: index) {
        case .nil, .none, .boolean, .string: return nil
        case .number: return lua_tonumber(s.state, index).isFinite ? nil : "Cannot serialise number: must not be NaN or Infinity"
        case .lightUserdata where lua_touserdata(s.state, index) == nil: return nil
        case .table:
            guard depth < maxDepth else { return "Cannot serialise, excessive nesting (\(depth + 1))" }
            var problem: String?
            s.forEach(inTable: index) {
                guard problem == nil else { return }
                if s.type(at: -2) != .string, s.type(at: -2) != .number {
                    problem = "Cannot serialise \(s.typeName(at: -2)): table key must be a number or string"
                } else {
                    problem = refusal(s, at: -1, depth: depth + 1)
                }
            }
            return problem
        default: return "Cannot serialise \(s.typeName(at: index)): type not supported"
        }
    }
}
