import KGateSchema

extension EntitySchemas {
    /// Kong's `upstreams.name` validator: a host name, without port, not an IP address.
    static let upstreamNameValidator: Field.Validator = { value in
        guard case .string(let name) = value else { return nil }
        let label = "Invalid name ('\(name)')"
        guard let address = try? HostAndIP.normalize(name) else { return label + "; must be a valid hostname" }
        if address.type != .name { return label + "; no ip addresses allowed" }
        if address.port != nil { return label + "; no port allowed" }
        return nil
    }

    /// Kong's `upstreams` entity (`kong/db/schema/entities/upstreams.lua`).
    public static let upstreams: Schema = {
        let hashOn = Field.string.with {
            $0.defaultValue = "none"
            $0.oneOf = EntityFields.strings(["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"])
        }
        let simpleParam = Field.string.with { $0.lenMin = 1 }
        return Schema(
            name: "upstreams",
            endpointKey: "name",
            workspaceable: true,
            fields: [
                EntityFields.id,
                EntityFields.createdAt,
                (
                    "name",
                    Field.string.with {
                        $0.required = true
                        $0.unique = true
                        $0.customValidator = upstreamNameValidator
                    }
                ),
                EntityFields.updatedAt,
                (
                    "algorithm",
                    Field.string.with {
                        $0.defaultValue = "round-robin"
                        $0.oneOf = EntityFields.strings(["consistent-hashing", "least-connections", "round-robin", "latency"])
                    }
                ),
                ("hash_on", hashOn),
                ("hash_fallback", hashOn),
                ("hash_on_header", Typedefs.headerName),
                ("hash_fallback_header", Typedefs.headerName),
                ("hash_on_cookie", Typedefs.cookieName),
                ("hash_on_cookie_path", Typedefs.path.with { $0.defaultValue = "/" }),
                ("hash_on_query_arg", simpleParam),
                ("hash_fallback_query_arg", simpleParam),
                ("hash_on_uri_capture", simpleParam),
                ("hash_fallback_uri_capture", simpleParam),
                ("slots", Field.integer.with { $0.defaultValue = 10000; $0.between = 10...65536 }),
                ("healthchecks", UpstreamHealthchecks.field),
                EntityFields.tags,
                ("host_header", Typedefs.hostWithOptionalPort),
                ("client_certificate", EntityFields.foreign("certificates")),
                ("use_srv_name", Field.boolean.with { $0.defaultValue = false }),
            ],
            entityChecks: upstreamChecks,
            shorthandFields: [
                Schema.Shorthand("algorithm", .string) { value in
                    if value == "least-connections" || value == "latency" {
                        return ["algorithm": value, "hash_on": .null]
                    }
                    return ["algorithm": value]
                },
                Schema.Shorthand("hash_on", .string) { value in
                    if value == .null { return ["hash_on": "none"] }
                    if value == "none" { return ["hash_on": value, "algorithm": "round-robin"] }
                    return ["hash_on": value, "algorithm": "consistent-hashing"]
                },
            ])
    }()

    private static let upstreamChecks: [EntityCheck] = {
        func when(_ field: String, is value: String) -> EntityCheck.Match {
            { $0.match = "^\(value)$" }
        }
        func required(_ ifField: String, _ value: String, _ thenField: String) -> EntityCheck {
            EntityFields.conditional(ifField, when(ifField, is: value), then: thenField, required: true)
        }
        func fallback(when value: String, oneOf allowed: [String]) -> EntityCheck {
            EntityFields.conditional(
                "hash_on", when("hash_on", is: value), then: "hash_fallback",
                { $0.oneOf = EntityFields.strings(allowed) })
        }
        return [
            required("hash_on", "header", "hash_on_header"),
            required("hash_fallback", "header", "hash_fallback_header"),
            required("hash_on", "cookie", "hash_on_cookie"),
            required("hash_fallback", "cookie", "hash_on_cookie"),
            fallback(when: "none", oneOf: ["none"]),
            fallback(when: "cookie", oneOf: ["none"]),
            fallback(when: "consumer", oneOf: ["none", "ip", "header", "cookie", "path", "query_arg", "uri_capture"]),
            fallback(when: "ip", oneOf: ["none", "consumer", "header", "cookie", "path", "query_arg", "uri_capture"]),
            fallback(when: "path", oneOf: ["none", "consumer", "header", "cookie", "query_arg", "ip", "uri_capture"]),
            .distinct(["hash_on_header", "hash_fallback_header"]),
            required("hash_on", "query_arg", "hash_on_query_arg"),
            required("hash_fallback", "query_arg", "hash_fallback_query_arg"),
            .distinct(["hash_on_query_arg", "hash_fallback_query_arg"]),
            required("hash_on", "uri_capture", "hash_on_uri_capture"),
            required("hash_fallback", "uri_capture", "hash_fallback_uri_capture"),
            .distinct(["hash_on_uri_capture", "hash_fallback_uri_capture"]),
        ]
    }()
}
