import KGateSchema

extension RequestTerminationPlugin {
    /// Kong's `request-termination` config schema (`kong/plugins/request-termination/schema.lua`).
    public static let schema = Schema(
        name: "request-termination", primaryKey: [],
        fields: [
            (
                "config",
                Field.record(
                    Schema.record([
                        ("status_code", Field.integer.with {
                            $0.required = true
                            $0.defaultValue = 503
                            $0.between = 100...599
                        }),
                        ("message", Field.string),
                        ("content_type", Field.string),
                        ("body", Field.string),
                        ("echo", Field.boolean.isRequired.defaulting(false)),
                        ("trigger", Typedefs.headerName),
                    ])
                ).with { $0.customValidator = validate }
            )
        ])

    /// The config record's `custom_validator`.
    static let validate: Field.Validator = { value in
        guard case .object(let config) = value else { return nil }
        func present(_ key: String) -> Bool { !(config.string(key) ?? "").isEmpty }
        if present("message"), present("content_type") || present("body") {
            return "message cannot be used with content_type or body"
        }
        if present("content_type"), !present("body") { return "content_type requires a body" }
        if config.bool("echo"), present("content_type") || present("body") {
            return "echo cannot be used with content_type and body"
        }
        return nil
    }
}
