import KGateConfig
import KGateHTTP
import KGateSchema

/// Kong's DAO `resolve_foreign`: a foreign key given by a unique field of the referenced
/// entity (`"service": {"name": "s1"}`) is looked up and replaced by its primary key before the
/// entity is validated; one that names nothing is 400 code 13 `foreign keys unresolved`.
extension AdminContext {
    /// Resolves `input`'s foreign keys in place; the refusal when one names no entity.
    func resolveForeignKeys(_ entity: String, _ input: inout Object) -> HTTPResponse? {
        guard let schema = schema(entity) else { return nil }
        var unresolved: [(field: String, errors: [(key: String, value: Value, parent: String)])] = []
        for (name, field) in schema.fields where field.type == .foreign {
            guard let reference = field.reference, let target = self.schema(reference),
                case .object(let key)? = input[name], !Self.isPrimaryKey(key)
            else { continue }
            var errors: [(key: String, value: Value, parent: String)] = []
            var resolved: Object?
            for (uniqueName, uniqueField) in target.fields where uniqueField.unique || target.endpointKey == uniqueName {
                guard let value = key[uniqueName], value != .null, target.validateField(uniqueField, value) == nil else {
                    continue
                }
                if let row = page[reference]?.rows.values.first(where: { $0[uniqueName] == value }), let id = row["id"] {
                    resolved = ["id": id]
                    break
                }
                errors.append((uniqueName, value, reference))
            }
            if let resolved {
                input[name] = .object(resolved)
            } else if !errors.isEmpty {
                unresolved.append((name, errors))
            }
        }
        return unresolved.isEmpty ? nil : KongDAOError.foreignKeysUnresolved(unresolved)
    }

    /// Kong's `validate_primary_key`: an `id` that is a UUID.
    private static func isPrimaryKey(_ key: Object) -> Bool {
        guard case .string(let id)? = key["id"] else { return false }
        return UUIDFormat.isValid(id)
    }
}

extension KongDAOError {
    static let foreignKeysUnresolved = 13

    /// 400 code 13 with Kong's message: `foreign key unresolved (service.name: the foreign key
    /// cannot be resolved with '{name="x"}' for an existing 'services' entity)`, fields and
    /// their keys in sorted order.
    static func foreignKeysUnresolved(
        _ unresolved: [(field: String, errors: [(key: String, value: Value, parent: String)])]
    ) -> HTTPResponse {
        var parts: [String] = []
        var fields = Object()
        for (field, errors) in unresolved.sorted(by: { $0.field < $1.field }) {
            var messages = Object()
            for error in errors.sorted(by: { $0.key < $1.key }) {
                let message = "the foreign key cannot be resolved with '{\(error.key)=\(penlightLiteral(error.value))}' "
                    + "for an existing '\(error.parent)' entity"
                messages[error.key] = .string(message)
                parts.append("\(field).\(error.key): \(message)")
            }
            fields[field] = .object(messages)
        }
        let message = parts.count == 1
            ? "foreign key unresolved (\(parts[0]))" : "\(parts.count) foreign keys unresolved (\(parts.joined(separator: "; ")))"
        return .kong(
            .badRequest,
            object(code: foreignKeysUnresolved, name: "foreign keys unresolved", message: message, fields: .object(fields)))
    }

    /// A scalar as penlight's `pretty.write` shows it: strings quoted, numbers and booleans bare.
    private static func penlightLiteral(_ value: Value) -> String {
        if case .string(let s) = value { return "\"\(s)\"" }
        return value.luaString
    }
}
