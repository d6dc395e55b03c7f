import KGateSchema

extension RequestTransformerPlugin {
    /// Kong's `transform_body`: form, JSON or multipart bodies; remove / rename / replace only
    /// touch a non-empty body; the result replaces the body with its `Content-Length`.
    func transformBody(_ config: Config, _ ctx: inout PluginContext, _ env: inout LazyTemplateEnvironment) throws {
        guard let kind = Self.bodyKind(ctx), config.hasBodyRules else { return }
        let body = ctx.request.body ?? []
        let result: [UInt8]?
        switch kind {
        case .form: result = try transformForm(config, body, ctx, &env)
        case .json: result = try transformJSON(config, body, ctx, &env)
        case .multipart: result = try transformMultipart(config, body, ctx, &env)
        }
        guard let result else { return }
        ctx.request.setRawBody(result)
        ctx.request.setHeader("content-length", String(result.count))
    }

    private func transformForm(
        _ config: Config, _ body: [UInt8], _ ctx: PluginContext, _ env: inout LazyTemplateEnvironment
    ) throws -> [UInt8]? {
        var params = QueryArgs(parsing: String(decoding: body, as: UTF8.self))
        var changed = false
        if !body.isEmpty {
            for rule in config.remove.body {
                params.set(rule.name, nil)
                changed = true
            }
            for rule in config.rename.body {
                guard let new = try env.render(rule.value, ctx), new != rule.name, let v = params[rule.name] else { continue }
                params.set(rule.name, nil)
                params.set(new, v)
                changed = true
            }
            for rule in config.replace.body where params[rule.name] != nil {
                params.set(rule.name, try env.render(rule.value, ctx).map(QueryArgs.Value.string))
                changed = true
            }
        }
        for rule in config.add.body where params[rule.name] == nil {
            params.set(rule.name, try env.render(rule.value, ctx).map(QueryArgs.Value.string))
            changed = true
        }
        for rule in config.append.body {
            guard let value = try env.render(rule.value, ctx) else { continue }
            params.set(rule.name, .multiple(Self.appended(params[rule.name], value)))
            changed = true
        }
        return changed ? Array(params.encodedInOrder().utf8) : nil
    }

    private func transformJSON(
        _ config: Config, _ body: [UInt8], _ ctx: PluginContext, _ env: inout LazyTemplateEnvironment
    ) throws -> [UInt8]? {
        var params: Object
        switch KongJSONEncoderShim.decode(body) {
        case .object(let o)?: params = o
        case nil where body.isEmpty: params = [:]
        case let scalar? where !scalar.isTable:
            // Kong indexes what cjson decoded: a string, number, boolean or null body fails
            // the plugin (500) as soon as a rule touches it.
            if config.hasBodyRules { throw TemplateError("attempt to index a \(Self.luaType(of: scalar)) value") }
            return nil
        default: return nil
        }
        var changed = false
        if !body.isEmpty {
            for rule in config.remove.body {
                params[rule.name] = nil
                changed = true
            }
            for rule in config.rename.body {
                guard let new = try env.render(rule.value, ctx), new != rule.name, let v = params[rule.name] else { continue }
                params[rule.name] = nil
                params[new] = v
                changed = true
            }
            for rule in config.replace.body where Self.truthy(params[rule.name]) {
                params[rule.name] = try env.render(rule.value, ctx).map(Value.string)
                changed = true
            }
        }
        for rule in config.add.body where !Self.truthy(params[rule.name]) {
            params[rule.name] = try env.render(rule.value, ctx).map(Value.string)
            changed = true
        }
        for rule in config.append.body {
            guard let value = try env.render(rule.value, ctx) else { continue }
            switch params[rule.name] {
            case .string(let s)?: params[rule.name] = .array([.string(s), .string(value)])
            case .array(let a)?: params[rule.name] = .array(a + [.string(value)])
            default: params[rule.name] = .array([.string(value)])
            }
            changed = true
        }
        guard changed else { return nil }
        var out: [UInt8] = []
        KongJSONEncoderShim.encode(.object(params), into: &out)
        return out
    }

    /// Lua's `type()` of a decoded JSON scalar (cjson's null is a userdata).
    private static func luaType(of value: Value) -> String {
        switch value {
        case .string: return "string"
        case .integer, .number: return "number"
        case .bool: return "boolean"
        default: return "userdata"
        }
    }

    private func transformMultipart(
        _ config: Config, _ body: [UInt8], _ ctx: PluginContext, _ env: inout LazyTemplateEnvironment
    ) throws -> [UInt8]? {
        let contentType = ctx.request.header("content-type") ?? ""
        var parts = MultipartBody(parsing: body, contentType: contentType)
            ?? MultipartBody(boundary: MultipartBody.boundary(of: contentType) ?? "kgate-boundary", parts: [])
        func has(_ name: String) -> Bool { parts.parts.contains { $0.name == name } }
        var changed = false
        if !body.isEmpty {
            for rule in config.rename.body {
                guard let new = try env.render(rule.value, ctx), new != rule.name,
                    let old = parts.parts.first(where: { $0.name == rule.name })
                else { continue }
                parts.parts.removeAll { $0.name == new || $0.name == rule.name }
                parts.parts.append(MultipartBody.Part(name: new, value: String(decoding: old.value, as: UTF8.self)))
                changed = true
            }
            for rule in config.remove.body {
                parts.parts.removeAll { $0.name == rule.name }
                changed = true
            }
            for rule in config.replace.body where has(rule.name) {
                guard let value = try env.render(rule.value, ctx) else { continue }
                parts.parts.removeAll { $0.name == rule.name }
                parts.parts.append(MultipartBody.Part(name: rule.name, value: value))
                changed = true
            }
        }
        for rule in config.add.body where !has(rule.name) {
            guard let value = try env.render(rule.value, ctx) else { continue }
            parts.parts.append(MultipartBody.Part(name: rule.name, value: value))
            changed = true
        }
        return changed ? parts.encoded() : nil
    }

    /// Lua truthiness of a JSON value (`null` decodes to a truthy sentinel).
    static func truthy(_ v: Value?) -> Bool {
        switch v {
        case nil, .bool(false)?: return false
        default: return true
        }
    }
}
