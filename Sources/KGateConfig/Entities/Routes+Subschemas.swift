import KGateSchema

extension EntitySchemas {
    /// Kong's `routes_subschemas.lua`: one subschema per protocol, chosen by the first protocol
    /// of `protocols` that has one (http/https → "http", tcp/tls/udp/tls_passthrough → "tcp",
    /// grpc/grpcs → "grpc").
    static func routeSubschemas(flavor: RouterFlavor) -> [String: Schema] {
        let expressions = flavor == .expressions
        let http = httpRouteSubschema(expressions: expressions)
        let stream = streamRouteSubschema(expressions: expressions)
        let grpc = grpcRouteSubschema(expressions: expressions)
        return [
            "http": http, "https": http,
            "tcp": stream, "tls": stream, "udp": stream, "tls_passthrough": stream,
            "grpc": grpc, "grpcs": grpc,
        ]
    }

    /// A typedef constrained to null with Kong's custom message (`typedefs.no_* { err = ... }`).
    private static func forbidden(_ base: Field, _ err: String) -> Field {
        base.with {
            $0.eq = .null
            $0.err = err
        }
    }

    /// With the expressions flavor, `expression` also satisfies the "must set one of" checks.
    private static func withExpression(_ fields: [String], _ expressions: Bool) -> [String] {
        expressions ? fields + ["expression"] : fields
    }

    private static func httpRouteSubschema(expressions: Bool) -> Schema {
        let err = { (f: String) in "cannot set '\(f)' when 'protocols' is 'http' or 'https'" }
        let fields: [(String, Field)] =
            expressions
            ? []
            : [
                ("sources", forbidden(Typedefs.noSources, err("sources"))),
                ("destinations", forbidden(Typedefs.noDestinations, err("destinations"))),
            ]
        return Schema(
            name: "http", primaryKey: [], fields: fields,
            entityChecks: [
                .conditionalAtLeastOneOf(
                    .init(
                        ifField: "protocols", ifMatch: { $0.contains = "https" },
                        thenAtLeastOneOf: withExpression(["methods", "hosts", "headers", "paths", "snis"], expressions),
                        thenErr: "must set one of %s when 'protocols' is 'https'",
                        elseMatch: { $0.contains = "http" },
                        elseThenAtLeastOneOf: withExpression(["methods", "hosts", "headers", "paths"], expressions),
                        elseThenErr: "must set one of %s when 'protocols' is 'http'"))
            ])
    }

    private static func streamRouteSubschema(expressions: Bool) -> Schema {
        let err = { (f: String) in "cannot set '\(f)' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" }
        return Schema(
            name: "tcp", primaryKey: [],
            fields: [
                ("methods", forbidden(Typedefs.noMethods, err("methods"))),
                ("hosts", forbidden(Typedefs.noHosts, err("hosts"))),
                ("paths", forbidden(Typedefs.noPaths, err("paths"))),
                ("headers", forbidden(Typedefs.noHeaders, err("headers"))),
            ],
            entityChecks: [
                .conditionalAtLeastOneOf(
                    .init(
                        ifField: "protocols",
                        ifMatch: { $0.elements = Field.string.with { $0.oneOf = ["tcp", "tls", "udp"] } },
                        thenAtLeastOneOf: withExpression(["sources", "destinations", "snis"], expressions),
                        thenErr: "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'")),
                .conditionalAtLeastOneOf(
                    .init(
                        ifField: "protocols",
                        ifMatch: { $0.elements = Field.string.with { $0.oneOf = ["tls_passthrough"] } },
                        thenAtLeastOneOf: withExpression(["snis"], expressions),
                        thenErr: "must set snis when 'protocols' is 'tls_passthrough'")),
            ])
    }

    private static func grpcRouteSubschema(expressions: Bool) -> Schema {
        let err = { (f: String) in "cannot set '\(f)' when 'protocols' is 'grpc' or 'grpcs'" }
        var fields: [(String, Field)] = [
            (
                "strip_path",
                Field.boolean.with {
                    $0.required = true
                    $0.defaultValue = false
                    $0.ne = true
                    $0.err = err("strip_path")
                }
            ),
            ("methods", forbidden(Typedefs.noMethods, err("methods"))),
        ]
        if !expressions {
            fields.append(("sources", forbidden(Typedefs.noSources, err("sources"))))
            // Kong uses `typedefs.no_sources` here too (same shape as no_destinations).
            fields.append(("destinations", forbidden(Typedefs.noSources, err("destinations"))))
        }
        return Schema(
            name: "grpc", primaryKey: [], fields: fields,
            entityChecks: [
                .conditionalAtLeastOneOf(
                    .init(
                        ifField: "protocols", ifMatch: { $0.contains = "grpcs" },
                        thenAtLeastOneOf: withExpression(["hosts", "headers", "paths", "snis"], expressions),
                        thenErr: "must set one of %s when 'protocols' is 'grpcs'",
                        elseMatch: { $0.contains = "grpc" },
                        elseThenAtLeastOneOf: withExpression(["hosts", "headers", "paths"], expressions),
                        elseThenErr: "must set one of %s when 'protocols' is 'grpc'"))
            ])
    }
}
