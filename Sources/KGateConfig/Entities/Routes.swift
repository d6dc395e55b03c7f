import KGateSchema

/// Kong's `router_flavor` setting: it changes the routes schema (`snis` elements, `expression`).
public enum RouterFlavor: String, Sendable {
    /// The pre-3.0 router: `snis` are plain SNIs, no ATC checks.
    case traditional
    /// Kong's default: traditional fields compiled to ATC expressions (validated as such).
    case traditionalCompatible = "traditional_compatible"
    /// Routes may carry an `expression` and a `priority`.
    case expressions
}

extension EntitySchemas {
    /// Validates a route's ATC expression the way Kong's `router.validate` does: returns the
    /// ATC error text (Kong prefixes it with `Router Expression failed validation: `), or nil.
    /// The input holds the route fields the check reads (`protocols`, `expression`, `paths`, ...).
    public typealias RouteExpressionValidator = @Sendable (Object) -> String?

    static let routeATCPrefix = "Router Expression failed validation: "

    /// Kong's `routes` entity for a router flavor (`kong/db/schema/entities/routes.lua` and
    /// `routes_subschemas.lua`).
    ///
    /// - Parameter expressionValidator: the ATC check of traditional_compatible/expressions
    ///   routes; nil skips that last step (the "cannot set ... simultaneously" rules still run).
    public static func routes(
        flavor: RouterFlavor = .traditionalCompatible, expressionValidator: RouteExpressionValidator? = nil
    ) -> Schema {
        var fields: [(String, Field)] = [
            EntityFields.id,
            EntityFields.createdAt,
            EntityFields.updatedAt,
            ("name", Typedefs.utf8Name),
            (
                "protocols",
                Field.set(of: Typedefs.protocol).with {
                    $0.lenMin = 1
                    $0.required = true
                    $0.mutuallyExclusiveSubsets = [["http", "https"], ["tcp", "tls", "udp"], ["tls_passthrough"], ["grpc", "grpcs"]]
                    $0.defaultValue = ["http", "https"]
                }
            ),
            (
                "https_redirect_status_code",
                Field.integer.with {
                    $0.oneOf = EntityFields.integers([426, 301, 302, 307, 308])
                    $0.defaultValue = 426
                    $0.required = true
                }
            ),
            ("strip_path", Field.boolean.with { $0.required = true; $0.defaultValue = true }),
            ("preserve_host", Field.boolean.with { $0.required = true; $0.defaultValue = false }),
            ("request_buffering", Field.boolean.with { $0.required = true; $0.defaultValue = true }),
            ("response_buffering", Field.boolean.with { $0.required = true; $0.defaultValue = true }),
            EntityFields.tags,
            ("service", EntityFields.foreign("services")),
            ("snis", .set(of: flavor == .traditional ? Typedefs.sni : Typedefs.wildcardHost)),
            ("sources", Typedefs.sources),
            ("destinations", Typedefs.destinations),
            ("methods", Typedefs.methods),
            ("hosts", Typedefs.hosts),
            ("paths", Typedefs.routerPaths),
            (
                "headers",
                Typedefs.headers.with {
                    $0.keys = Typedefs.headerName.with {
                        $0.matchNone = [
                            .init(
                                "^[Hh][Oo][Ss][Tt]$",
                                "cannot contain 'host' header, which must be specified in the 'hosts' attribute")
                        ]
                    }
                }
            ),
            ("regex_priority", Field.integer.with { $0.defaultValue = 0 }),
            ("path_handling", Field.string.with { $0.defaultValue = "v0"; $0.oneOf = ["v0", "v1"] }),
        ]
        if flavor == .expressions {
            fields.append(("expression", .string))
            fields.append(
                (
                    "priority",
                    Field.integer.with {
                        $0.between = 0...70_368_744_177_663  // 2^46 - 1
                        $0.required = true
                        $0.defaultValue = 0
                    }
                ))
        }

        var checks: [EntityCheck] = [
            EntityFields.conditional(
                "protocols",
                { $0.elements = Field.string.with { $0.notOneOf = ["grpcs", "https", "tls", "tls_passthrough"] } },
                then: "snis", { $0.lenEq = 0 },
                thenErr: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"),
            // path_handling = "v1" only logs a deprecation warning in Kong.
            .custom(.init(fieldSources: ["path_handling"], fn: { _ in nil })),
        ]
        if flavor != .traditional {
            checks.append(
                .custom(
                    .init(
                        fieldSources: [
                            "id", "protocols", "snis", "sources", "destinations", "methods", "hosts", "paths",
                            "headers", "expression", "regex_priority", "priority",
                        ],
                        runWithMissingFields: true,
                        fn: { route in validateATC(route, expressionValidator) })))
        }

        return Schema(
            name: "routes",
            endpointKey: "name",
            workspaceable: true,
            fields: fields,
            entityChecks: checks,
            subschemaKey: "protocols",
            subschemas: routeSubschemas(flavor: flavor))
    }

    /// The `validate_route` check of the ATC flavors (`routes.lua`).
    static func validateATC(_ route: Object, _ expressionValidator: RouteExpressionValidator?) -> String? {
        let traditionalFields = ["snis", "sources", "destinations", "methods", "hosts", "paths", "headers"]
        let expressionEmpty = EntityFields.isNull(route["expression"])
        let othersEmpty = traditionalFields.allSatisfy { EntityFields.isEmpty(route[$0]) }
        if expressionEmpty && othersEmpty { return nil }
        let simultaneous = "'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously"
        if !expressionEmpty && !othersEmpty {
            return routeATCPrefix + "cannot set 'expression' with " + simultaneous
        }
        func unset(_ v: Value?) -> Bool { EntityFields.isNull(v) || v?.doubleValue == 0 }
        if !expressionEmpty && !unset(route["regex_priority"]) {
            return routeATCPrefix + "cannot set 'regex_priority' with 'expression' simultaneously"
        }
        if !othersEmpty && !unset(route["priority"]) {
            return routeATCPrefix + "cannot set 'priority' with " + simultaneous
        }
        if let expressionValidator, let err = expressionValidator(route) {
            return routeATCPrefix + err
        }
        return nil
    }
}
