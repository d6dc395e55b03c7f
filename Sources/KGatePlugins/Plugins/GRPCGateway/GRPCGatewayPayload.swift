import KGateConfig
import KGateProtobuf
import KGateSchema

/// The request message of a transcoded call, built as Kong's `deco:upstream` builds its table:
/// the path's variables, then the JSON body (a binding with `body`) or the query string (one
/// without), encoded with the method's input type and framed.
struct GRPCGatewayPayload {
    /// The table so far.
    private(set) var table: Object = [:]

    /// Starts from the path template's variables (strings, under their names as written: a
    /// dotted name is one key, as in Kong).
    init(variables: [(String, String)]) {
        for (name, value) in variables { table[name] = .string(value) }
    }

    /// Why a request cannot be transcoded: Kong's 400 body.
    struct Failure: Error {
        var message: String
    }

    /// Adds the JSON body for a binding whose `body` is `field` (`*`: every member).
    mutating func addBody(_ body: [UInt8], field: String) throws(Failure) {
        guard !body.isEmpty else { return }
        let decoded: Value
        switch JSONReader.read(body) {
        case .success(let document): decoded = document.value
        case .failure(let error): throw Failure(message: "decode json err: \(error.message)")
        }
        if field != "*" {
            table[field] = decoded
            return
        }
        switch decoded {
        case .object(let members):
            for (key, value) in members { table[key] = value }
        case .array:
            // A Lua array's keys are numbers: no field has such a name.
            break
        default:
            throw Failure(message: "body must be a table")
        }
    }

    /// Adds the query arguments (Kong's `add_to_table`): `a.b.c=v` sets field `c` of message
    /// field `b` of message field `a`; an argument that names no field is dropped; `bool` fields
    /// read `0` and `false` as false.
    mutating func addQuery(_ query: QueryArgs, inputType: String, schema: ProtoSchema) {
        for name in query.names {
            guard let value = query[name] else { continue }
            let path = name.split(separator: ".", omittingEmptySubsequences: true).map(String.init)
            Self.set(value, at: path[...], in: &table, type: inputType, schema: schema)
        }
    }

    private static func set(
        _ value: QueryArgs.Value, at path: ArraySlice<String>, in table: inout Object, type: String, schema: ProtoSchema
    ) {
        guard let key = path.first, let fieldType = schema.fieldType(type, key) else { return }
        if path.count == 1 {
            table[key] = luaValue(value, type: fieldType)
            return
        }
        var nested: Object
        if case .object(let existing)? = table[key] { nested = existing } else { nested = [:] }
        set(value, at: path.dropFirst(), in: &nested, type: fieldType, schema: schema)
        table[key] = .object(nested)
    }

    /// A query argument as Lua holds it (`true` for a flag, a list for a repeated name), with
    /// Kong's `encode_fix` for `bool` fields.
    private static func luaValue(_ value: QueryArgs.Value, type: String) -> Value {
        if type == "bool" {
            if case .string(let s) = value { return .bool(s != "0" && s != "false") }
            return .bool(true)
        }
        switch value {
        case .flag: return .bool(true)
        case .string(let s): return .string(s)
        case .multiple(let list): return .array(list.map { $0.map(Value.string) ?? .bool(true) })
        }
    }

    /// The framed message; Kong's error when the table does not fit the type.
    func encoded(as type: String, schema: ProtoSchema) -> Result<[UInt8], ProtoError> {
        do throws(ProtoError) {
            return .success(GRPCFrame.frame(0, try schema.encode(.object(table), as: type)))
        } catch {
            return .failure(error)
        }
    }
}
