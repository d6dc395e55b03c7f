import KGateSchema

/// The logging plugins: http-log, tcp-log, udp-log, file-log, syslog, loggly.
extension ObservabilitySchemas {
    /// `http-log`: a whole plugin subschema, for the check on its `config` record.
    static func httpLog(luaCode: Field) -> Schema {
        let headerName = Typedefs.headerName.with {
            $0.matchNone = [
                .init("^[Hh][Oo][Ss][Tt]$", "cannot contain 'Host' header"),
                // Kong's pattern, `[nn]` included: `Content-LeNgth` is let through.
                .init("^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][nn][Gg][Tt][Hh]$", "cannot contain 'Content-Length' header"),
                .init("^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Tt][Yy][Pp][Ee]$", "cannot contain 'Content-Type' header"),
            ]
        }
        let fields: [(String, Field)] =
            [
                ("http_endpoint", Typedefs.url.with {
                    $0.required = true
                    $0.encrypted = true
                    $0.referenceable = true
                }),
                ("method", Field.string.with {
                    $0.defaultValue = "POST"
                    $0.oneOf = oneOf(["POST", "PUT", "PATCH"])
                }),
                ("content_type", Field.string.with {
                    $0.defaultValue = "application/json"
                    $0.oneOf = oneOf(["application/json", "application/json; charset=utf-8"])
                }),
                ("timeout", Field.number.defaulting(10000)),
                ("keepalive", Field.number.defaulting(60000)),
            ] + formerQueueFields("http-log") + [
                ("headers", Field.map(keys: headerName, values: Field.string.with { $0.referenceable = true })),
                ("queue", Typedefs.queue),
                ("custom_fields_by_lua", luaCode),
            ]
        let config = Field.record(Schema.record(fields)).with { $0.customValidator = httpLogConfigCheck }
        return Schema(name: "http-log", primaryKey: [], fields: [("config", config)])
    }

    /// http-log's `config` check: no `Authorization` header with user info in the endpoint.
    static let httpLogConfigCheck: Field.Validator = { value in
        guard let endpoint = value["http_endpoint"]?.stringValue, ParsedURL(endpoint)?.userinfo != nil,
            case .object(let headers)? = value["headers"],
            headers.keys.contains(where: { $0.lowercased() == "authorization" })
        else { return nil }
        return "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"
    }

    /// `tcp-log`.
    static func tcpLog(luaCode: Field) -> Schema {
        Schema.record([
            ("host", Typedefs.host.isRequired),
            ("port", Typedefs.port.isRequired),
            ("timeout", Field.number.defaulting(10000)),
            ("keepalive", Field.number.defaulting(60000)),
            ("tls", Field.boolean.isRequired.defaulting(false)),
            ("tls_sni", Field.string),
            ("custom_fields_by_lua", luaCode),
        ])
    }

    /// `udp-log`.
    static func udpLog(luaCode: Field) -> Schema {
        Schema.record([
            ("host", Typedefs.host.isRequired),
            ("port", Typedefs.port.isRequired),
            ("timeout", Field.number.defaulting(10000)),
            ("custom_fields_by_lua", luaCode),
        ])
    }

    /// `file-log`.
    static func fileLog(luaCode: Field) -> Schema {
        Schema.record([
            ("path", Field.string.with {
                $0.required = true
                $0.match = #"^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$"#
                $0.err = "not a valid filename"
            }),
            ("reopen", Field.boolean.isRequired.defaulting(false)),
            ("custom_fields_by_lua", luaCode),
        ])
    }

    /// `syslog`.
    static func syslog(luaCode: Field) -> Schema {
        let severity = severity(required: true)
        let facilities = [
            "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "user", "uucp",
            "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]
        return Schema.record([
            ("log_level", severity),
            ("successful_severity", severity),
            ("client_errors_severity", severity),
            ("server_errors_severity", severity),
            ("custom_fields_by_lua", luaCode),
            ("facility", Field.string.with {
                $0.required = true
                $0.defaultValue = "user"
                $0.oneOf = oneOf(facilities)
            }),
        ])
    }

    /// `loggly`.
    static func loggly(luaCode: Field) -> Schema {
        let severity = severity(required: false)
        return Schema.record([
            ("host", Typedefs.host.defaulting("logs-01.loggly.com")),
            ("port", Typedefs.port.defaulting(514)),
            ("key", Field.string.with {
                $0.required = true
                $0.encrypted = true
                $0.referenceable = true
            }),
            ("tags", Field.set(of: .string).defaulting(["kong"])),
            ("log_level", severity),
            ("successful_severity", severity),
            ("client_errors_severity", severity),
            ("server_errors_severity", severity),
            ("timeout", Field.number.defaulting(10000)),
            ("custom_fields_by_lua", luaCode),
        ])
    }
}
