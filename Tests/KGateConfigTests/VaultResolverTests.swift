import KGateConfig
import KGateSchema
import Testing

/// `{vault://...}` references: Kong's `parse_reference` and its bundled env vault.
@Suite struct VaultResolverTests {
    @Test func referencesParseAsKong() throws {
        let simple = try VaultReferenceParts.parse("{vault://env/my-secret}").get()
        #expect(simple.name == "env" && simple.resource == "my-secret")
        #expect(simple.key == nil && simple.config.isEmpty && simple.version == nil)
        let full = try VaultReferenceParts.parse("{vault://aws/path/to/secret/field?prefix=APP_&x=%41#2}").get()
        #expect(full.name == "aws")
        #expect(full.resource == "path/to/secret")
        #expect(full.key == "field")
        #expect(full.config == ["prefix": "APP_", "x": "A"])
        #expect(full.version == 2)
        // A trailing slash makes the whole path the resource.
        #expect(try VaultReferenceParts.parse("{vault://env/dir/name/}").get().key == nil)
        for (bad, reason) in [
            ("{vault://env}", "reference url is missing path"),
            ("{vault://env/}", "reference url has empty path"),
            ("{vault:///x}", "reference url is missing host"),
            ("{vault://env/x#v2}", "reference url has invalid version"),
            ("vault://env/x", "not a reference"),
        ] {
            guard case .failure(let error) = VaultReferenceParts.parse(bad) else {
                Issue.record("\(bad) parsed")
                continue
            }
            #expect(error.description == "could not parse reference \(bad) (\(reason) [\(bad)])")
        }
    }

    @Test func theEnvVaultReadsTheEnvironment() throws {
        let vaults: [Object] = [
            ["prefix": "app-secrets", "name": "env", "config": ["prefix": "APP_"]],
            ["prefix": "remote", "name": "aws", "config": [:]],
        ]
        let resolver = VaultResolver(
            vaults: vaults,
            environment: [
                "MY_SECRET": "s3cret", "MY_SECRET_PREVIOUS": "old", "APP_DB": #"{"user": "u", "port": 5432}"#,
                "X_MY_SECRET": "prefixed", "NOT_JSON": "plain",
            ])
        #expect(try resolver.resolve("{vault://env/my-secret}") == "s3cret")
        #expect(try resolver.resolve("{vault://env/my-secret#2}") == "old")
        #expect(try resolver.resolve("{vault://env/my-secret?prefix=x_}") == "prefixed")
        #expect(try resolver.resolve("{vault://app-secrets/db/user}") == "u")
        #expect(try resolver.resolving("not a reference") == "not a reference")
        let failures = [
            ("{vault://env/missing}", "no value found"),
            ("{vault://nowhere/x}", "could not find vault (nowhere)"),
            ("{vault://remote/x}", "could not find vault (remote)"),
            ("{vault://app-secrets/db/password}", "could not get subfield value: subfield password not found in JSON secret"),
            ("{vault://app-secrets/db/port}",
             "could not get subfield value: unexpected number value in JSON secret for subfield port"),
            ("{vault://env/not-json/field}", "could not get subfield value: unable to json decode value"),
        ]
        for (reference, reason) in failures {
            #expect(throws: VaultResolutionError(reference: reference, reason: reason)) {
                try resolver.resolve(reference)
            }
        }
    }
}
