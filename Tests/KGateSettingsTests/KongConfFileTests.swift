import Testing

@testable import KGateSettings

/// kong.conf syntax: comments, escapes, whitespace, continuations, line numbers, unknown names.
struct KongConfFileTests {
    /// One-line files and the value the property gets.
    @Test(arguments: [
        ("log_level = debug", "debug"),
        ("log_level=debug", "debug"),
        ("   log_level   =   debug   ", "debug"),
        ("\tlog_level\t=\tdebug\t", "debug"),
        ("log_level = debug # verbose please", "debug"),
        ("log_level = debug#no space before the comment", "debug"),
        ("log_level = debug\r", "debug"),
        ("admin_token = a\\#b", "a#b"),
        ("admin_token = a\\#b # comment", "a#b"),
        ("admin_token = \\#\\#", "##"),
        ("admin_token = a=b=c", "a=b=c"),
        ("admin_token = two words", "two words"),
        ("admin_token = ", ""),
        ("admin_token =", ""),
        ("admin_token = # only a comment", ""),
        ("admin_token = \"quoted\"", "\"quoted\""),
    ])
    func values(_ line: String, _ value: String) throws {
        let file = try KongConfFile(parsing: line)
        #expect(file.assignments.map(\.value) == [value])
    }

    @Test func commentsBlankLinesAndLineNumbers() throws {
        let text = """
            # -----------------------
            # Kong configuration file
            # -----------------------

              # indented comment
            #log_level = debug
            log_level = info      # a trailing comment

            database = off
            """
        let file = try KongConfFile(parsing: text, path: "/etc/kong/kong.conf")
        #expect(
            file.assignments == [
                .init(property: "log_level", value: "info", source: .file(path: "/etc/kong/kong.conf", line: 7)),
                .init(property: "database", value: "off", source: .file(path: "/etc/kong/kong.conf", line: 9)),
            ])
        #expect(try NodeSettings.resolve(file: file, environment: [:], flags: [:]).logLevel == .info)
    }

    @Test func crlfLineEndings() throws {
        let file = try KongConfFile(parsing: "log_level = warn\r\n\r\nprefix = /tmp/x\r\n")
        #expect(file.assignments.map(\.value) == ["warn", "/tmp/x"])
        #expect(file.assignments.map(\.source) == [.file(path: "kong.conf", line: 1), .file(path: "kong.conf", line: 3)])
    }

    @Test func continuationLines() throws {
        let file = try KongConfFile(parsing: "trusted_ips = 10.0.0.1,\\\n  10.0.0.2\nlog_level = crit\n")
        #expect(file.assignments.map(\.value) == ["10.0.0.1,  10.0.0.2", "crit"])
        #expect(file.assignments.map(\.source) == [.file(path: "kong.conf", line: 1), .file(path: "kong.conf", line: 3)])
        #expect(try settings("trusted_ips = 10.0.0.1,\\\n  10.0.0.2").trustedIPs == ["10.0.0.1", "10.0.0.2"])
    }

    @Test func lastAssignmentWins() throws {
        #expect(try settings("log_level = debug\nlog_level = error").logLevel == .error)
    }

    @Test func emptyFile() throws {
        #expect(try KongConfFile(parsing: "").assignments.isEmpty)
        #expect(try settings("\n\n# nothing\n") == NodeSettings())
    }

    /// Kong properties without effect are accepted and listed, including free-form nginx directives.
    @Test func kongPropertiesWithoutEffectAreListed() throws {
        let file = try KongConfFile(
            parsing: """
                mem_cache_size = 256m
                pg_host = db.internal
                nginx_http_gzip_buffers = 16 8k
                nginx_proxy_proxy_buffering = off
                vault_env_prefix = SECRET_
                log_level = info
                """)
        #expect(file.assignments.map(\.property) == ["log_level"])
        #expect(
            file.ignored.map(\.property) == [
                "mem_cache_size", "pg_host", "nginx_http_gzip_buffers", "nginx_proxy_proxy_buffering",
                "vault_env_prefix",
            ])
    }

    /// The nginx directives kgate honours, in Kong's spellings (sizes and nginx times).
    @Test func nginxHTTPDirectives() throws {
        let s = try settings("""
            nginx_http_client_max_body_size = 20m
            client_body_buffer_size = 16k
            nginx_http_client_header_timeout = 1m30s
            nginx_http_client_body_timeout = 500ms
            nginx_http_keepalive_timeout = 5
            nginx_http_keepalive_requests = 100
            """)
        #expect(s.nginxHttpClientMaxBodySize.bytes == 20 << 20)
        #expect(s.nginxHttpClientBodyBufferSize.bytes == 16 << 10)
        #expect(s.nginxHttpClientHeaderTimeout.milliseconds == 90_000)
        #expect(s.nginxHttpClientBodyTimeout.milliseconds == 500)
        #expect(s.nginxHttpKeepaliveTimeout.milliseconds == 5_000)
        #expect(s.nginxHttpKeepaliveRequests == 100)
        #expect(throws: (any Error).self) { try settings("nginx_http_client_body_timeout = 5 s") }
        #expect(throws: (any Error).self) { try settings("nginx_http_client_max_body_size = big") }
        #expect(s.nginxHttpCharset == "UTF-8")
        #expect(try settings("nginx_http_charset = off").nginxHttpCharset == nil)
        #expect(try settings("nginx_http_charset = koi8-r").nginxHttpCharset == "koi8-r")
        #expect(throws: (any Error).self) { try settings("nginx_http_charset = utf-8; x") }
    }

    /// `large_client_header_buffers` in Kong's two spellings: the server-level one wins.
    @Test func largeClientHeaderBuffers() throws {
        #expect(try settings("").nginxHttpLargeClientHeaderBuffers == .nginxDefault)
        let http = try settings("nginx_http_large_client_header_buffers = 8 16k").nginxHttpLargeClientHeaderBuffers
        #expect((http.count, http.size, http.total) == (8, 16 << 10, 128 << 10))
        let both = try settings("""
            nginx_proxy_large_client_header_buffers = 2  64k
            nginx_http_large_client_header_buffers = 8 16k
            """)
        #expect(both.nginxHttpLargeClientHeaderBuffers.size == 64 << 10)
        #expect(both.nginxHttpLargeClientHeaderBuffers.count == 2)
        for bad in ["8k", "0 8k", "4 0", "4 256", "4 8k 2", "four 8k", "-1 8k"] {
            #expect(throws: (any Error).self, "\(bad)") { try settings("nginx_http_large_client_header_buffers = \(bad)") }
        }
    }

    static let syntaxErrors: [FailureCase] = [
        FailureCase("log_level debug", "kong.conf:1: expected 'property = value', found no '='"),
        FailureCase("[section]", "kong.conf:1: expected 'property = value', found no '='"),
        FailureCase(" = debug", "kong.conf:1: missing property name before '='"),
        FailureCase("proxy_lisen = 0.0.0.0:8000", "kong.conf:1: unknown property 'proxy_lisen' (did you mean 'proxy_listen'?)"),
        FailureCase("LOG_LEVEL = debug", "kong.conf:1: unknown property 'LOG_LEVEL' (did you mean 'log_level'?)"),
        FailureCase("declarative_config_wath = on",
            "kong.conf:1: unknown property 'declarative_config_wath' (did you mean 'declarative_config_watch'?)"),
        FailureCase("frobnicate = yes", "kong.conf:1: unknown property 'frobnicate'"),
        FailureCase("nginx_http_ = 1", "kong.conf:1: unknown property 'nginx_http_'"),
        FailureCase(
            "log_level = debug\nbogus = 1\n\n# comment\nalso bogus\nrouter_flavor = fast",
            "kong.conf:2: unknown property 'bogus'",
            "kong.conf:5: expected 'property = value', found no '='",
            "kong.conf:6: invalid value for 'router_flavor': 'fast' "
                + "(expected one of: traditional, traditional_compatible, expressions)"),
    ]

    @Test(arguments: syntaxErrors)
    func refusesBadSyntax(_ c: FailureCase) {
        #expect(problems(c.input) == c.messages)
    }

    /// `KongConfFile(parsing:)` alone reports syntax and unknown names (values are checked when resolving).
    @Test func parsingThrowsEveryProblemWithItsLine() {
        #expect(throws: SettingsError.self) { try KongConfFile(parsing: "a = 1") }
        do {
            _ = try KongConfFile(parsing: "a = 1\nlog_level = nonsense\nb\n", path: "my.conf")
            Issue.record("expected an error")
        } catch {
            #expect(error.messages == ["my.conf:1: unknown property 'a'", "my.conf:3: expected 'property = value', found no '='"])
            #expect(error.problems.map(\.property) == ["a", nil])
        }
    }

    /// A syntax error never echoes the line (it could hold a secret).
    @Test func syntaxErrorsDoNotEchoValues() {
        #expect(problems("admin_token: hunter2").allSatisfy { !$0.contains("hunter2") })
    }
}
