import KGateSchema

extension AWSLambdaPlugin {
    /// Kong's `aws-lambda` plugin subschema (`kong/plugins/aws-lambda/schema.lua`).
    public static let schema = Schema(
        name: "aws-lambda", primaryKey: [],
        fields: [
            (
                "config",
                Field.record(
                    Schema.record([
                        ("timeout", Field.number.isRequired.defaulting(60000)),
                        ("keepalive", Field.number.isRequired.defaulting(60000)),
                        ("aws_key", Field.string.with { $0.encrypted = true; $0.referenceable = true }),
                        ("aws_secret", Field.string.with { $0.encrypted = true; $0.referenceable = true }),
                        ("aws_assume_role_arn", Field.string.with { $0.encrypted = true; $0.referenceable = true }),
                        ("aws_role_session_name", Field.string.defaulting("kong")),
                        ("aws_sts_endpoint_url", Typedefs.url),
                        ("aws_region", Typedefs.host),
                        ("function_name", Field.string),
                        ("qualifier", Field.string),
                        (
                            "invocation_type",
                            Field.string.isRequired.defaulting("RequestResponse").with {
                                $0.oneOf = ["RequestResponse", "Event", "DryRun"].map(Value.string)
                            }
                        ),
                        ("log_type", Field.string.isRequired.defaulting("Tail").with { $0.oneOf = ["Tail", "None"].map(Value.string) }),
                        ("host", Typedefs.host),
                        ("port", Typedefs.port.defaulting(443)),
                        ("disable_https", Field.boolean.defaulting(false)),
                        ("unhandled_status", Field.integer.with { $0.between = 100...999 }),
                        ("forward_request_method", Field.boolean.defaulting(false)),
                        ("forward_request_uri", Field.boolean.defaulting(false)),
                        ("forward_request_headers", Field.boolean.defaulting(false)),
                        ("forward_request_body", Field.boolean.defaulting(false)),
                        ("is_proxy_integration", Field.boolean.defaulting(false)),
                        ("awsgateway_compatible", Field.boolean.defaulting(false)),
                        ("proxy_url", Typedefs.url),
                        ("skip_large_bodies", Field.boolean.defaulting(true)),
                        ("base64_encode_body", Field.boolean.defaulting(true)),
                        ("aws_imds_protocol_version", Field.string.isRequired.defaulting("v1").with { $0.oneOf = ["v1", "v2"].map(Value.string) }),
                        (
                            "empty_arrays_mode",
                            Field.string.isRequired.defaulting("legacy").with { $0.oneOf = ["legacy", "correct"].map(Value.string) }
                        ),
                    ]))
            )
        ],
        entityChecks: [
            .mutuallyRequired(["config.aws_key", "config.aws_secret"]),
            .custom(
                EntityCheck.Custom(fieldSources: ["config.proxy_url"]) { entity in
                    // Kong's `proxy_url:match("^([^:]+)://")`.
                    guard case .string(let url)? = entity["config"]?.objectValue?["proxy_url"],
                        let colon = url.firstIndex(of: ":"), colon > url.startIndex, url[colon...].hasPrefix("://")
                    else { return nil }
                    return url[..<colon] == "http" ? nil : "proxy_url scheme must be http"
                }),
        ])
}
