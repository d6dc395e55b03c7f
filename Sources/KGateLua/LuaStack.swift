import CLuaJIT
import KGateSchema

/// Lua's value types (`lua_type`).
public enum LuaType: Int32, Sendable {
    case none = -1
    case `nil` = 0
    case boolean, lightUserdata, number, string, table, function, userdata, thread
}

/// A view of a Lua state's stack: pushing and reading values, tables, references and calls.
///
/// It is what a C function registered with Lua receives (``LuaStack/init(_:)`` with its
/// state). It never raises a Lua error itself: functions kgate registers return their failures
/// as values and let Lua code call `error`, so no `longjmp` crosses Swift frames.
public struct LuaStack {
    /// The state.
    public let state: OpaquePointer

    /// A view of `state`.
    public init(_ state: OpaquePointer) { self.state = state }

    // MARK: Stack

    /// The number of values on the stack (the index of the top one).
    public var top: Int32 { lua_gettop(state) }

    /// Sets the top (drops values above, or pads with nils).
    public func setTop(_ index: Int32) { lua_settop(state, index) }

    /// Drops `count` values.
    public func pop(_ count: Int32 = 1) { kgate_lua_pop(state, count) }

    /// The type at `index`.
    public func type(at index: Int32) -> LuaType { LuaType(rawValue: lua_type(state, index)) ?? .none }

    /// An index that stays valid as values are pushed.
    public func absolute(_ index: Int32) -> Int32 { index > 0 || index <= kgate_lua_registryindex() ? index : top + index + 1 }

    // MARK: Reading

    /// The string at `index` (a number is converted, as `lua_tolstring` does), else nil.
    public func string(at index: Int32) -> String? {
        guard let bytes = bytes(at: index) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes of the string at `index` (a number is converted), else nil.
    public func bytes(at index: Int32) -> [UInt8]? {
        let t = type(at: index)
        guard t == .string || t == .number else { return nil }
        var length = 0
        guard let pointer = kgate_lua_tolstring(state, index, &length) else { return nil }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    /// The number at `index` (a numeric string is converted), else nil.
    public func number(at index: Int32) -> Double? {
        guard lua_isnumber(state, index) != 0 else { return nil }
        return lua_tonumber(state, index)
    }

    /// The integral number at `index`, else nil.
    public func integer(at index: Int32) -> Int? {
        guard let n = number(at: index), n.rounded() == n, abs(n) < 9.007_199_254_740_992e15 else { return nil }
        return Int(n)
    }

    /// Lua's truth of the value at `index` (all but nil and false).
    public func bool(at index: Int32) -> Bool { lua_toboolean(state, index) != 0 }

    /// The value at `index` as a schema value, as cjson encodes it: a table whose keys are
    /// 1...n is an array, another (or an empty one) an object with its keys as strings;
    /// `ngx.null` (a NULL light userdata) is null. Functions and other types are nil, as are
    /// tables nested deeper than `depth`.
    public func value(at index: Int32, depth: Int = 100) -> Value? {
        switch type(at: index) {
        case .nil, .none: return nil
        case .boolean: return .bool(bool(at: index))
        case .number:
            let n = lua_tonumber(state, index)
            if n.rounded() == n, abs(n) < 9.007_199_254_740_992e15 { return .integer(Int(n)) }
            return .number(n)
        case .string: return string(at: index).map(Value.string)
        case .lightUserdata: return lua_touserdata(state, index) == nil ? .null : nil
        case .table: return depth > 0 ? table(at: index, depth: depth - 1) : nil
        default: return nil
        }
    }

    private func table(at index: Int32, depth: Int) -> Value {
        let t = absolute(index)
        let length = Int(lua_objlen(state, t))
        var count = 0
        var sequence = length > 0
        var object = Object()
        lua_pushnil(state)
        while lua_next(state, t) != 0 {
            count += 1
            if sequence, type(at: -2) != .number || integer(at: -2).map({ $0 < 1 || $0 > length }) ?? true { sequence = false }
            if let key = keyText(at: -2), let v = value(at: -1, depth: depth) { object[key] = v }
            pop()
        }
        guard sequence, count == length else { return .object(object) }
        var array: [Value] = []
        array.reserveCapacity(length)
        for i in 1...length {
            lua_rawgeti(state, t, Int32(i))
            array.append(value(at: -1, depth: depth) ?? .null)
            pop()
        }
        return .array(array)
    }

    /// A table key as text (strings, and numbers as Lua prints them), without converting the
    /// key in place (which would confuse `lua_next`).
    private func keyText(at index: Int32) -> String? {
        switch type(at: index) {
        case .string: return string(at: index)
        case .number:
            lua_pushvalue(state, index)
            defer { pop() }
            return string(at: -1)
        default: return nil
        }
    }

    // MARK: Pushing

    /// Pushes nil.
    public func pushNil() { lua_pushnil(state) }

    /// Pushes `ngx.null` (a NULL light userdata).
    public func pushNull() { lua_pushlightuserdata(state, nil) }

    /// Pushes a string.
    public func push(_ string: String) {
        var string = string
        string.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { lua_pushlstring(state, $0.baseAddress, $0.count) }
        }
    }

    /// Pushes bytes as a Lua string.
    public func push(bytes: some Collection<UInt8>) {
        let pushed: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            buffer.withMemoryRebound(to: CChar.self) { lua_pushlstring(state, $0.baseAddress, $0.count) }
        }
        if pushed == nil { push(bytes: Array(bytes)) }
    }

    /// Pushes a number.
    public func push(_ number: Int) { lua_pushnumber(state, Double(number)) }

    /// Pushes a number.
    public func push(_ number: Double) { lua_pushnumber(state, number) }

    /// Pushes a boolean.
    public func push(_ bool: Bool) { lua_pushboolean(state, bool ? 1 : 0) }

    /// Pushes an optional string (nil when absent).
    public func push(_ string: String?) {
        if let string { push(string) } else { pushNil() }
    }

    /// Pushes a schema value: objects and arrays as tables, null as `ngx.null`.
    public func push(_ value: Value) {
        switch value {
        case .null: pushNull()
        case .bool(let b): push(b)
        case .integer(let i): push(i)
        case .number(let d): push(d)
        case .string(let s): push(s)
        case .array(let values):
            lua_createtable(state, Int32(values.count), 0)
            for (i, v) in values.enumerated() {
                push(v)
                lua_rawseti(state, -2, Int32(i + 1))
            }
        case .object(let object):
            lua_createtable(state, 0, Int32(object.count))
            for (key, v) in object {
                push(v)
                setField(key, in: -2)
            }
        }
    }

    /// Pushes a C function (a closure over the `upvalues` values on top of the stack).
    public func push(function: lua_CFunction, upvalues: Int32 = 0) { lua_pushcclosure(state, function, upvalues) }

    /// Pushes a new table, with room for `array` and `record` entries.
    public func newTable(array: Int = 0, record: Int = 0) { lua_createtable(state, Int32(array), Int32(record)) }

    // MARK: Tables

    /// Pops a value and sets it as `table[name]` (no metamethods).
    public func setField(_ name: String, in table: Int32) {
        let t = absolute(table)
        push(name)
        lua_insert(state, -2)
        lua_rawset(state, t)
    }

    /// Pops a value and sets it as `table[index]` (no metamethods).
    public func setIndex(_ index: Int, in table: Int32) { lua_rawseti(state, table, Int32(index)) }

    /// Pushes `table[name]` (no metamethods).
    public func getField(_ name: String, in table: Int32) {
        let t = absolute(table)
        push(name)
        lua_rawget(state, t)
    }

    /// Pushes `table[index]` (no metamethods).
    public func getIndex(_ index: Int, in table: Int32) { lua_rawgeti(state, table, Int32(index)) }

    /// The length of the table or string at `index` (`#`, without metamethods).
    public func length(at index: Int32) -> Int { Int(lua_objlen(state, index)) }

    /// Calls `body` with each key and value of the table at `index` (keys at -2, values at -1).
    public func forEach(inTable index: Int32, _ body: () -> Void) {
        let t = absolute(index)
        lua_pushnil(state)
        while lua_next(state, t) != 0 {
            body()
            pop()
        }
    }

    /// Pushes a global.
    public func getGlobal(_ name: String) { kgate_lua_getglobal(state, name) }

    /// Pops a value and sets it as a global.
    public func setGlobal(_ name: String) { kgate_lua_setglobal(state, name) }

    // MARK: References

    /// Pops a value and keeps it in the registry; returns its reference.
    public func ref() -> Int32 { luaL_ref(state, kgate_lua_registryindex()) }

    /// Pushes a referenced value.
    public func push(ref: Int32) { lua_rawgeti(state, kgate_lua_registryindex(), ref) }

    /// Lets go of a reference.
    public func unref(_ ref: Int32) { luaL_unref(state, kgate_lua_registryindex(), ref) }

    // MARK: Loading and calling

    /// Compiles `code` as a function on the stack, named `chunkName` (Lua's chunk name rules:
    /// `=name` verbatim, else `[string "..."]`). On a syntax error nothing is left on the
    /// stack and the message is returned.
    public func load(_ code: String, chunkName: String) -> String? {
        var code = code
        let status = code.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { luaL_loadbuffer(state, $0.baseAddress, $0.count, chunkName) }
        }
        guard status != 0 else { return nil }
        defer { pop() }
        return string(at: -1) ?? "unknown error"
    }

    /// Calls the function under `arguments` values in protected mode, leaving `results` values.
    /// Returns the error message when it raised an error (the error value is popped; a
    /// non-string error is described by its type).
    public func call(arguments: Int32, results: Int32) -> String? {
        guard lua_pcall(state, arguments, results, 0) != 0 else { return nil }
        defer { pop() }
        return string(at: -1) ?? "(error object is a \(typeName(at: -1)) value)"
    }

    /// Calls the function under `arguments` values in protected mode; on an error, the error
    /// value is left on the stack and false is returned.
    public func protectedCall(arguments: Int32, results: Int32) -> Bool {
        lua_pcall(state, arguments, results, 0) == 0
    }

    /// Lua's name of the type at `index`.
    public func typeName(at index: Int32) -> String {
        String(cString: lua_typename(state, lua_type(state, index)))
    }

    /// Whether two stack values are the same (raw equality).
    public func rawEqual(_ a: Int32, _ b: Int32) -> Bool { lua_rawequal(state, a, b) != 0 }
}
