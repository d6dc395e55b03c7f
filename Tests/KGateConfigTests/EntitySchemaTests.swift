import KGateSchema
import Testing

@testable import KGateConfig

/// Structure of Kong's entity schemas as kgate writes them, and the behaviour of their checks.
struct EntitySchemaTests {
    let catalog = EntityCatalog()

    private func schema(_ name: String) -> Schema { catalog.schemas[name]! }

    private func names(_ s: Schema) -> [String] { s.fields.map(\.name) }

    private func entityErrors(_ s: Schema, _ input: Object) -> [String] {
        guard let node = s.validate(input)?["@entity"]?.node else { return [] }
        return node.entries.compactMap { $0.value.message }
    }

    // MARK: - Catalogue

    @Test func topologicalOrder() {
        #expect(
            catalog.order == [
                "workspaces", "ca_certificates", "certificates", "clustering_data_planes", "consumers", "key_sets",
                "keys", "parameters", "services", "routes", "filter_chains", "plugins", "snis", "upstreams",
                "targets", "vaults", "acls", "acme_storage", "basicauth_credentials", "hmacauth_credentials",
                "jwt_secrets", "keyauth_credentials", "oauth2_credentials", "oauth2_authorization_codes",
                "oauth2_tokens", "ratelimiting_metrics", "sessions", "session_metadatas",
            ])
        #expect(Set(catalog.order) == Set(catalog.schemas.keys))
        #expect(!catalog.order.contains("tags"))
    }

    @Test func pluginEntitiesFollowEnabledPlugins() {
        let small = EntityCatalog(enabledPlugins: ["key-auth", "cors", "my-custom"])
        #expect(small.order.filter { !EntitySchemas.coreEntities.contains($0) } == ["keyauth_credentials"])
        let plugins = small.schemas["plugins"]!
        #expect(Set(plugins.subschemas.keys) == ["key-auth", "cors", "my-custom"])
        #expect(plugins.subschemas["my-custom"]?.field(named: "protocols")?.defaultValue == Typedefs.protocols.defaultValue)
    }

    @Test func bundledPlugins() {
        #expect(BundledPlugins.names.count == 45)
        #expect(Set(BundledPlugins.names).count == 45)
        let noConsumer = BundledPlugins.all.filter(\.noConsumer).map(\.name).sorted()
        #expect(
            noConsumer == [
                "acl", "acme", "ai-request-transformer", "basic-auth", "bot-detection", "cors", "hmac-auth", "jwt",
                "key-auth", "ldap-auth", "oauth2", "post-function", "pre-function", "session", "standard-webhooks",
            ])
        #expect(BundledPlugins.all.filter { $0.noRoute || $0.noService }.map(\.name) == ["acme"])
        #expect(BundledPlugins.info("pre-function")?.priority == 1_000_000)
        #expect(BundledPlugins.info("post-function")?.priority == -1000)
        #expect(
            BundledPlugins.info("ip-restriction")?.protocols.defaultValue
                == ["http", "https", "tcp", "tls", "grpc", "grpcs"])
    }

    // MARK: - Keys

    @Test func keys() {
        let expected: [String: ([String], String?, [String]?, Bool)] = [
            "services": (["id"], "name", nil, true),
            "routes": (["id"], "name", nil, true),
            "consumers": (["id"], "username", nil, true),
            "plugins": (["id"], "instance_name", ["name", "route", "service", "consumer"], true),
            "upstreams": (["id"], "name", nil, true),
            "targets": (["id"], "target", ["upstream", "target"], true),
            "certificates": (["id"], nil, nil, true),
            "snis": (["id"], "name", nil, true),
            "ca_certificates": (["id"], nil, nil, false),
            "vaults": (["id"], "prefix", ["prefix"], true),
            "keys": (["id"], "name", ["kid", "set"], true),
            "key_sets": (["id"], "name", nil, true),
            "workspaces": (["id"], "name", ["name"], false),
            "parameters": (["key"], nil, ["key"], false),
            "filter_chains": (["id"], "name", ["route", "service"], true),
            "keyauth_credentials": (["id"], "key", ["key"], true),
            "basicauth_credentials": (["id"], "username", ["username"], true),
            "hmacauth_credentials": (["id"], "username", ["username"], true),
            "jwt_secrets": (["id"], "key", ["key"], true),
            "acls": (["id"], nil, ["consumer", "group"], true),
            "oauth2_credentials": (["id"], "client_id", ["client_id"], true),
            "oauth2_tokens": (["id"], "access_token", ["access_token"], true),
            "sessions": (["id"], "session_id", ["session_id"], false),
            "ratelimiting_metrics": (["identifier", "period", "period_date", "service_id", "route_id"], nil, nil, false),
        ]
        for (name, (pk, endpoint, cache, ws)) in expected {
            let s = schema(name)
            #expect(s.primaryKey == pk, "\(name)")
            #expect(s.endpointKey == endpoint, "\(name)")
            #expect(s.cacheKey == cache, "\(name)")
            #expect(s.workspaceable == ws, "\(name)")
        }
        #expect(schema("keyauth_credentials").ttl && schema("clustering_data_planes").ttl)
        #expect(!schema("sessions").dbExport && !schema("clustering_data_planes").dbExport)
        #expect(schema("key_sets").adminAPIName == "key-sets")
        #expect(schema("basicauth_credentials").adminAPINestedName == "basic-auth")
        #expect(schema("snis").field(named: "name")?.uniqueAcrossWorkspaces == true)
    }

    // MARK: - Fields and defaults

    @Test func serviceFields() {
        let s = schema("services")
        #expect(
            names(s) == [
                "id", "created_at", "updated_at", "name", "retries", "protocol", "host", "port", "path",
                "connect_timeout", "write_timeout", "read_timeout", "tags", "client_certificate", "tls_verify",
                "tls_verify_depth", "ca_certificates", "enabled",
            ])
        #expect(s.field(named: "retries")?.defaultValue == 5)
        #expect(s.field(named: "protocol")?.defaultValue == "http")
        #expect(s.field(named: "port")?.defaultValue == 80)
        #expect(s.field(named: "read_timeout")?.between == 1...2_147_483_646)
        #expect(s.field(named: "host")?.required == true)
        #expect(s.entityChecks.count == 5)
        #expect(s.shorthandFields.map(\.name) == ["url"])
    }

    @Test func routeFlavors() {
        let traditional = EntitySchemas.routes(flavor: .traditional)
        let compatible = EntitySchemas.routes(flavor: .traditionalCompatible)
        let expressions = EntitySchemas.routes(flavor: .expressions)
        #expect(traditional.field(named: "expression") == nil && compatible.field(named: "priority") == nil)
        #expect(names(expressions).suffix(2) == ["expression", "priority"])
        #expect(expressions.field(named: "priority")?.between == 0...70_368_744_177_663)
        #expect(traditional.entityChecks.count == 2 && compatible.entityChecks.count == 3)
        #expect(compatible.subschemaKey == "protocols")
        #expect(Set(compatible.subschemas.keys) == Set(Typedefs.protocolNames))
        #expect(compatible.subschemas["tls_passthrough"]?.name == "tcp")
        #expect(compatible.subschemas["http"]?.field(named: "sources") != nil)
        #expect(expressions.subschemas["http"]?.field(named: "sources") == nil)
        #expect(compatible.field(named: "protocols")?.defaultValue == ["http", "https"])
        #expect(compatible.field(named: "https_redirect_status_code")?.defaultValue == 426)
        #expect(compatible.field(named: "path_handling")?.defaultValue == "v0")
    }

    @Test func pluginSchema() {
        let s = schema("plugins")
        #expect(s.subschemaKey == "name")
        #expect(s.subschemaError == "plugin '%s' not enabled; add it to the 'plugins' configuration property")
        #expect(s.subschemas.count == 45)
        #expect(s.field(named: "config")?.abstract == true)
        let acme = s.subschemas["acme"]!
        #expect(acme.field(named: "consumer")?.eq == .null && acme.field(named: "route")?.eq == .null)
        let free = s.subschemas["file-log"]!.field(named: "config")!
        #expect(free.type == .record && free.record == nil && free.required)
        let given = EntitySchemas.plugins(
            enabled: ["x"], configSchemas: ["x": .record([("a", Field.string.defaulting("b"))])])
        #expect(given.subschemas["x"]?.field(path: "config.a")?.defaultValue == "b")
    }

    @Test func upstreamHealthcheckDefaults() {
        let h = schema("upstreams").field(named: "healthchecks")!
        #expect(h.required)
        #expect(h.defaultValue?["active"]?["unhealthy"]?["http_statuses"] == [429, 404, 500, 501, 502, 503, 504, 505])
        #expect(h.defaultValue?["threshold"] == nil)
        #expect(h.record?.field(path: "active.healthy.http_statuses")?.defaultValue == [200, 302])
        #expect(h.record?.field(path: "active.https_sni")?.required == false)
        #expect(h.record?.field(path: "active.https_verify_certificate")?.required == true)
        #expect(h.record?.field(path: "passive.unhealthy")?.required == true)
        #expect(h.record?.field(named: "threshold")?.between == 0...100)
        #expect(schema("upstreams").shorthandFields.map(\.name) == ["algorithm", "hash_on"])
    }

    // MARK: - Behaviour

    @Test func consumersNeedUsernameOrCustomID() {
        #expect(
            entityErrors(schema("consumers"), ["id": "4b1b701d-de2b-5588-9aa2-3b97061d9f52"])
                == ["at least one of these fields must be non-empty: 'custom_id', 'username'"])
    }

    @Test func serviceURLShorthand() {
        #expect(ServiceURL.expand("https://example.com") == ["protocol": "https", "host": "example.com", "port": 443, "path": .null])
        #expect(ServiceURL.expand("http://x/")["path"] == "/")
        #expect(ServiceURL.expand("example.com:443")["protocol"] == "example.com")
        #expect(ServiceURL.expand("//h:443/p") == ["protocol": "https", "host": "h", "port": 443, "path": "/p"])
        #expect(ServiceURL.expand("http://h:abc")["port"] == "abc")
    }

    @Test func serviceConditionals() {
        let errors = schema("services").validate(["protocol": "tcp", "host": "x.y", "port": 80, "path": "/"])
        #expect(errors?["path"]?.message == "value must be null")
        #expect(errors?["@entity"]?.node?[1]?.message == "failed conditional validation given value of field 'protocol'")
    }

    @Test func routeSubschemaRules() {
        let routes = schema("routes")
        #expect(
            entityErrors(routes, ["protocols": ["http"]])
                == ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"])
        #expect(
            routes.validate(["protocols": ["grpc"], "strip_path": true, "paths": ["/"]])?["strip_path"]?.message
                == "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'")
        #expect(
            routes.validate(["protocols": ["http"], "hosts": ["a"], "snis": ["a"]])?["@entity"]?.node?[1]?.message
                == "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'")
        let plugins = schema("plugins")
        #expect(
            plugins.validate(["name": "key-auth", "consumer": ["id": "4b1b701d-de2b-5588-9aa2-3b97061d9f52"]])?[
                "consumer"]?.message == "value must be null")
    }

    @Test func upstreamAndTargetNames() {
        let name = EntitySchemas.upstreamNameValidator
        #expect(name("example.com") == nil)
        #expect(name("1.2.3.4") == "Invalid name ('1.2.3.4'); no ip addresses allowed")
        #expect(name("example.com:80") == "Invalid name ('example.com:80'); no port allowed")
        #expect(name("bad name") == "Invalid name ('bad name'); must be a valid hostname")
        #expect(EntitySchemas.targetValidator("10.0.0.1:80") == nil)
        #expect(
            EntitySchemas.targetValidator("hostname:1.0")
                == "Invalid target ('hostname:1.0'); not a valid hostname or ip address")
    }

    @Test func routeATCRules() {
        let rule = { (route: Object) in EntitySchemas.validateATC(route, nil) }
        #expect(rule(["paths": ["/"]]) == nil)
        #expect(
            rule(["expression": "http.path == \"/\"", "paths": ["/"]])
                == "Router Expression failed validation: cannot set 'expression' with 'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously")
        #expect(
            rule(["expression": "x", "regex_priority": 1])
                == "Router Expression failed validation: cannot set 'regex_priority' with 'expression' simultaneously")
        #expect(rule(["hosts": ["a"], "priority": 0]) == nil)
        #expect(EntitySchemas.validateATC(["expression": "x"], { _ in "boom" }) == "Router Expression failed validation: boom")
    }

    @Test func basicAuthTransformation() {
        let t = schema("basicauth_credentials").transformations[0]
        #expect(t.input == ["password"] && t.needs == ["consumer.id"])
        let out = t.transform(["password": "secret", "consumer": ["id": "4b1b701d-de2b-5588-9aa2-3b97061d9f52"]])
        #expect(out["password"] == "5b6fa7495e0470557f4e20541cf187b707000e71")
    }

    @Test func oauth2SecretHash() {
        #expect(
            OAuth2Secret.hash("client-secret", salt: Array(0..<16))
                == "$pbkdf2-sha512$i=10000,l=32$AAECAwQFBgcICQoLDA0ODw$lcStuumzg0FlLixESilrQwtHp8+L0IPtIhwwd6EtGZc")
        #expect(EntitySchemas.redirectURIValidator("http://x/cb#f") == "fragment not allowed in 'http://x/cb#f'")
        #expect(EntitySchemas.redirectURIValidator("nope") == "cannot parse 'nope'")
    }

    // MARK: - Certificates and keys

    @Test func certificateParsing() {
        #expect(PEM.certificateError(Fixture.caCert) == nil)
        #expect(PEM.certificateError(Fixture.rsaCert) == nil)
        let broken = Fixture.caCert.replacingFirst("MIIBcTCC", with: "MIIBcTCD")
        #expect(
            PEM.certificateError(broken)
                == "invalid certificate: x509.new: error:688010A:asn1 encoding routines:asn1_item_embed_d2i:nested asn1 error:asn1/tasn_dec.c:349:")
        #expect(PEM.certificateError("foo")?.hasSuffix("asn1_d2i_read_bio:not enough data:asn1/a_d2i_fp.c:218:") == true)
        #expect(PEM.digest(Fixture.caCert) == "0a09a4eb14ee516194eff39eb987c7223de24982c8f9304724f73c5546679178")
        #expect(X509Info.load(Fixture.caCert)?.notAfter == 4_948_824_432)
    }

    @Test func keyParsingAndMatching() {
        for key in [Fixture.caKey, Fixture.leafKey, Fixture.leafPublic, Fixture.rsaKey, Fixture.caKeyNoPublic] {
            #expect(PEM.keyError(key) == nil)
        }
        #expect(PEM.keyError("nope")?.hasPrefix("invalid key: pkey.new:load_key: error:1E08010C:DECODER") == true)
        #expect(PEM.certificate(Fixture.caCert, matchesKey: Fixture.caKey) == true)
        #expect(PEM.certificate(Fixture.caCert, matchesKey: Fixture.caKeyNoPublic) == true)
        #expect(PEM.certificate(Fixture.leafCert, matchesKey: Fixture.leafPublic) == true)
        #expect(PEM.certificate(Fixture.rsaCert, matchesKey: Fixture.rsaKey) == true)
        #expect(PEM.certificate(Fixture.caCert, matchesKey: Fixture.leafKey) == false)
        #expect(PEM.sameKeyType(Fixture.caCert, Fixture.leafCert) == true)
        #expect(PEM.sameKeyType(Fixture.caCert, Fixture.rsaCert) == false)
    }

    @Test func certificateEntityChecks() {
        let s = schema("certificates")
        #expect(entityErrors(s, ["cert": .string(Fixture.caCert), "key": .string(Fixture.caKey)]).isEmpty)
        #expect(
            entityErrors(s, ["cert": .string(Fixture.caCert), "key": .string(Fixture.leafKey)])
                == ["certificate does not match key"])
        #expect(
            entityErrors(
                s,
                [
                    "cert": .string(Fixture.caCert), "key": .string(Fixture.caKey),
                    "cert_alt": .string(Fixture.leafCert), "key_alt": .string(Fixture.leafKey),
                ]).last?.hasPrefix("certificate and alternative certificate need to have different type") == true)
    }

    @Test func caCertificateChecks() {
        #expect(PEM.caCertificateError(Fixture.caCert, now: 1_800_000_000) == nil)
        #expect(
            PEM.caCertificateError(Fixture.leafCert, now: 1_800_000_000)
                == "certificate does not appear to be a CA because it is missing the \"CA\" basic constraint")
        #expect(
            PEM.caCertificateError(Fixture.caCert, now: 5_000_000_000)
                == "certificate expired, \"Not After\" time is in the past")
        #expect(
            PEM.caCertificateError(Fixture.caCert + "\n" + Fixture.rsaCert, now: 0)
                == "please submit only one certificate at a time")
        let digest = schema("ca_certificates").transformations[0].transform(["cert": .string(Fixture.caCert)])
        #expect(digest["cert_digest"] == "0a09a4eb14ee516194eff39eb987c7223de24982c8f9304724f73c5546679178")
    }

    @Test func keysEntity() {
        let pem = EntitySchemas.pemKeysValidator
        #expect(pem(["private_key": .string(Fixture.leafKey), "public_key": .string(Fixture.leafPublic)]) == nil)
        #expect(
            pem(["private_key": .string(Fixture.caKey), "public_key": .string(Fixture.leafPublic)])
                == "public key does not match private key")
        #expect(pem(["public_key": .string(Fixture.leafKey)]) == "could not load public key")
        let check = EntitySchemas.keysCheck
        #expect(check(["jwk": "{", "kid": "1"]) == "could not json decode jwk string")
        #expect(check(["jwk": "{\"kid\":\"2\"}", "kid": "1"]) == "kid in jwk.kid must be equal to keys.kid")
        #expect(check(["jwk": "{\"kid\": \"36\"}", "kid": "36"]) == "could not load JWK, likely not a valid key")
        #expect(check(["jwk": "{\"kid\":\"1\",\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "kid": "1"]) == nil)
        #expect(
            check(["jwk": "{\"kid\":\"1\",\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"ext\":true}", "kid": "1"])
                == "Validation error: ext: unknown field")
        #expect(check(["pem": [:]]) == "need to supply a PEM formatted public and/or private key.")
    }
}

/// Test PEMs generated with OpenSSL 3 (EC P-256 CA and leaf, RSA-1024 self-signed).
enum Fixture {
    static let caCert = """
        -----BEGIN CERTIFICATE-----
        MIIBcTCCARegAwIBAgIUJhldJM7JxMU1+N75klXki/zFVbMwCgYIKoZIzj0EAwIw
        DTELMAkGA1UEAwwCY2EwIBcNMjYxMTIxMDEyNzEyWhgPMjEyNjEwMjgwMTI3MTJa
        MA0xCzAJBgNVBAMMAmNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzehXBQH0
        yCTCiBlyQX0HZRctKfLwaoIKSFVWCHDVJyAid5QAXXOP4Wpk/hrdG4qZy0CNrIa6
        I07vvJtkUxSeiKNTMFEwHQYDVR0OBBYEFCXXJcdDLjxC8P9cyQb4WUtgYYpEMB8G
        A1UdIwQYMBaAFCXXJcdDLjxC8P9cyQb4WUtgYYpEMA8GA1UdEwEB/wQFMAMBAf8w
        CgYIKoZIzj0EAwIDSAAwRQIhAJYHnpAA2n0Ur+W4o2veF6ousmw3Yxak2mIoPcwA
        eM5FAiACJrRP9ErA7nRwscmysRshBH7G0tvSewDvhps+fsWVug==
        -----END CERTIFICATE-----
        """
    static let caKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUF7iYS/tUIk7nZo9
        8aWYROIEGOxUlcxWmtEPsBChf8ehRANCAATN6FcFAfTIJMKIGXJBfQdlFy0p8vBq
        ggpIVVYIcNUnICJ3lABdc4/hamT+Gt0bipnLQI2shrojTu+8m2RTFJ6I
        -----END PRIVATE KEY-----
        """
    static let caKeyNoPublic = """
        -----BEGIN EC PRIVATE KEY-----
        MDECAQEEIFBe4mEv7VCJO52aPfGlmETiBBjsVJXMVprRD7AQoX/HoAoGCCqGSM49
        AwEH
        -----END EC PRIVATE KEY-----
        """
    static let leafCert = """
        -----BEGIN CERTIFICATE-----
        MIIBGTCBvwIUW0rXzczxrvpYZqF2EvBspNHS9sEwCgYIKoZIzj0EAwIwDTELMAkG
        A1UEAwwCY2EwIBcNMjYxMTIxMDEyNzEyWhgPMjEyNjEwMjgwMTI3MTJaMA8xDTAL
        BgNVBAMMBGxlYWYwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAR1RIsxB7ISLarU
        S9vwFczOD6wcPKGpAJMVzkWJaIoyt3gb3hfn2eayYs714UjZ+xw9LP0qgV09VHJI
        /c/ezsK2MAoGCCqGSM49BAMCA0kAMEYCIQDqxGAjAT62kPsX7OuWMasIFOfuaiDQ
        p/Ac6fLdtCb5XQIhAND6O0hQ237tbIzFg0jlIc5KE7GaH8AX3yuoL87AcUKG
        -----END CERTIFICATE-----
        """
    static let leafKey = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEIHkH79o7Cm9AuVf+CoxVIs+o+17dgnT/VtMRraHI4AZdoAoGCCqGSM49
        AwEHoUQDQgAEdUSLMQeyEi2q1Evb8BXMzg+sHDyhqQCTFc5FiWiKMrd4G94X59nm
        smLO9eFI2fscPSz9KoFdPVRySP3P3s7Ctg==
        -----END EC PRIVATE KEY-----
        """
    static let leafPublic = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdUSLMQeyEi2q1Evb8BXMzg+sHDyh
        qQCTFc5FiWiKMrd4G94X59nmsmLO9eFI2fscPSz9KoFdPVRySP3P3s7Ctg==
        -----END PUBLIC KEY-----
        """
    static let rsaCert = """
        -----BEGIN CERTIFICATE-----
        MIIB9jCCAV+gAwIBAgIUN5fO3nyauKuNho0J/Gm+ewbge7YwDQYJKoZIhvcNAQEL
        BQAwDDEKMAgGA1UEAwwBcjAgFw0yNjExMjEwMTI3MTJaGA8yMTI2MTAyODAxMjcx
        MlowDDEKMAgGA1UEAwwBcjCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkCgYEAyv1E
        on4FJmCJnvBc5d/r9Gd8eGddzWBoBjfPD+L1tN0Qnr72KKg5+iRVzeNu1zUysa1g
        zy8SLVWJRewp+/B7qWbeQSPpv4eo8evnwDB7QO2tuxpNMVsMcocvFc1uts4O4Krj
        JkDADH1oxUyPBGSHBZlG8EH6vdzLBxu9c7tKdD0CAwEAAaNTMFEwHQYDVR0OBBYE
        FHCYMW0gHk1lc5LXVwhzj/LEigGlMB8GA1UdIwQYMBaAFHCYMW0gHk1lc5LXVwhz
        j/LEigGlMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADgYEAuLMN9U2W
        cOLXAiRHnJ4URlNvsHL4HPT9oS2H8BOCMyRhX3msjwFsDByCGP6iRXK+00KTbrUG
        SeiKjDx5EYytOfzfKCpWrEOQBCo4c7oR3fb/ktvSBe0OrcCwTiRDcSiJ90rdLofU
        gu4mAeMuKd9zxoWqOYc7SHvtf/suD5cZLXI=
        -----END CERTIFICATE-----
        """
    static let rsaKey = """
        -----BEGIN RSA PRIVATE KEY-----
        MIICXAIBAAKBgQDK/USifgUmYIme8Fzl3+v0Z3x4Z13NYGgGN88P4vW03RCevvYo
        qDn6JFXN427XNTKxrWDPLxItVYlF7Cn78HupZt5BI+m/h6jx6+fAMHtA7a27Gk0x
        Wwxyhy8VzW62zg7gquMmQMAMfWjFTI8EZIcFmUbwQfq93MsHG71zu0p0PQIDAQAB
        AoGAJur5/sF0kVAO8qcY2IXfAkPZDGidBmRGbXLDw0L7YsrDhfwMy+y8+OWAgfHp
        7V7oskIQfoiCzqhIolxODFymCJQCQCfF9u/qqMYn3vQAe7K2YTv6j281HxdbXTCD
        HiVbzFiseDiX8yi2O39EY9RxX0EAdgiVZOp+o2HP5pQDAk0CQQDw1S7BC+7HvCu7
        YjDYOJwkjSwpN6XKLEEDwd7du66sdY0JS2ycac6Vl78WHzzR3V6Ef78I2cEzQFNH
        jf6gYkxnAkEA18X00q1FG70VtpcZi2ki6t1ygzs/x3eGmycyveYd0eWSiWRdQ8Ko
        Pp9T44Q7sCPNId0yDr36sDFdX2AKpwcTuwJAUfJ4Qj/pNBWXW9+Bd1Fr8BQJXs0M
        oMqGJN0nFJP0T8KABxWfE2n9XXGRF9nxPAfzTWqaekx+LQ5KSCLM7Y4FKQJAfzAx
        4ym9rd8keG/S3+mGaplEUfTP4J0lHDnb4DJP65T+brxZeYK5t8glI9yjbm18EnUX
        d7cmmUtP9dNgFBrI1wJBAMr384XuPJx8l33Jq3kNeCtIBCIJqljiuBH2UTdGXu4g
        3/IIy8s2DVdiuq/IFF6pO22kKKSyI9RuI6wEJ77R5zE=
        -----END RSA PRIVATE KEY-----
        """
}
