import Foundation
import Testing

@testable import KGateSettings

/// PEM files named by properties: `nginx_http_proxy_ssl_trusted_certificate` (with
/// `nginx_http_proxy_ssl_verify`, Kong's injected nginx directives, as 06-ssl_spec and
/// 18-upstream_tls_spec set them, and their `nginx_proxy_` spellings for the proxy server block),
/// `ssl_cert` and `ssl_cert_key`.
@Suite struct PEMFileTests {
    static let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    /// A temporary prefix holding `certs/ca.crt`, removed after `body`.
    private func withPrefix<R>(_ content: String, _ body: (String) throws -> R) throws -> R {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("kgate-prefix-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: prefix + "/certs", withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: prefix + "/certs/ca.crt"))
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        return try body(prefix)
    }

    @Test func offAndNoneByDefault() throws {
        let s = try settings()
        #expect(!s.nginxProxySSLVerify && s.nginxProxySSLTrustedCertificate == nil)
    }

    @Test func relativeToThePrefixAsNginxReadsIt() throws {
        try withPrefix(Self.pem) { prefix in
            let s = try settings(
                "prefix = \(prefix)\nnginx_http_proxy_ssl_verify = on\n"
                    + "nginx_http_proxy_ssl_trusted_certificate = certs/ca.crt")
            #expect(s.nginxProxySSLVerify)
            #expect(s.nginxProxySSLTrustedCertificate == PEMFile(path: "certs/ca.crt", pem: Self.pem))
            #expect(s.redactedDictionary["nginx_http_proxy_ssl_trusted_certificate"] == "certs/ca.crt")
        }
    }

    @Test func theProxyBlockSpellingWins() throws {
        try withPrefix(Self.pem) { prefix in
            let s = try settings(
                "nginx_http_proxy_ssl_verify = on\nnginx_proxy_proxy_ssl_verify = off",
                env: ["KONG_NGINX_PROXY_PROXY_SSL_TRUSTED_CERTIFICATE": prefix + "/certs/ca.crt"])
            #expect(!s.nginxProxySSLVerify)
            #expect(s.nginxProxySSLTrustedCertificate?.pem == Self.pem)
        }
    }

    /// `06-ssl_spec.lua` sets `nginx_http_proxy_ssl_verify_depth = 5`; the proxy block's
    /// spelling wins, as for the other proxy_ssl directives.
    @Test func verifyDepth() throws {
        #expect(try settings("").nginxProxySSLVerifyDepth == 1)
        #expect(try settings("nginx_http_proxy_ssl_verify_depth = 5").nginxProxySSLVerifyDepth == 5)
        let both = try settings(
            "nginx_http_proxy_ssl_verify_depth = 5", env: ["KONG_NGINX_PROXY_PROXY_SSL_VERIFY_DEPTH": "0"])
        #expect(both.nginxProxySSLVerifyDepth == 0)
        #expect(problems("nginx_http_proxy_ssl_verify_depth = -1") == [
            "kong.conf:1: invalid value for 'nginx_http_proxy_ssl_verify_depth': '-1' (expected a non-negative integer)"
        ])
    }

    /// Kong's conf_loader refuses a `dns_hostsfile` that does not exist.
    @Test func dnsHostsfile() throws {
        #expect(try settings("").dnsHostsfile == "/etc/hosts")
        #expect(try settings("dns_hostsfile = /etc/hostname").dnsHostsfile == "/etc/hostname")
        #expect(problems("dns_hostsfile = /nonexistent/hosts") == [
            "kong.conf:1: invalid value for 'dns_hostsfile': '/nonexistent/hosts' (file does not exist)"
        ])
    }

    @Test func aFileWithoutCertificateIsAStartUpError() throws {
        try withPrefix("not a certificate") { prefix in
            #expect(problems("nginx_http_proxy_ssl_trusted_certificate = \(prefix)/certs/ca.crt") == [
                "kong.conf:1: invalid value for 'nginx_http_proxy_ssl_trusted_certificate': "
                    + "'\(prefix)/certs/ca.crt' (no PEM certificate in the file)"
            ])
        }
        #expect(problems("nginx_http_proxy_ssl_trusted_certificate = /nonexistent/ca.crt") == [
            "kong.conf:1: invalid value for 'nginx_http_proxy_ssl_trusted_certificate': '/nonexistent/ca.crt' "
                + "(no such file)"
        ])
    }

    static let key = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"

    @Test func sslCertificatesFromTheWorkingDirectoryOrAbsolute() throws {
        try withPrefix(Self.pem) { prefix in
            try Data(Self.key.utf8).write(to: URL(fileURLWithPath: prefix + "/certs/key.pem"))
            let s = try settings("ssl_cert = \(prefix)/certs/ca.crt\nssl_cert_key = \(prefix)/certs/key.pem")
            #expect(s.sslCert == [PEMFile(path: prefix + "/certs/ca.crt", pem: Self.pem)])
            #expect(s.sslCertKey.map(\.pem) == [Self.key])
            #expect(s.redactedDictionary["ssl_cert"] == prefix + "/certs/ca.crt")
            #expect(problems("ssl_cert = \(prefix)/certs/key.pem\nssl_cert_key = \(prefix)/certs/key.pem") == [
                "kong.conf:1: invalid entry for 'ssl_cert': '\(prefix)/certs/key.pem' (no PEM certificate in the file)"
            ])
        }
    }

    /// Kong's `conf_loader/parse.lua` messages.
    @Test func sslCertificatesComeInPairs() throws {
        try withPrefix(Self.pem) { prefix in
            let cert = prefix + "/certs/ca.crt"
            #expect(problems("ssl_cert = \(cert)") == ["kong.conf:1: ssl_cert_key must be specified"])
            #expect(problems("admin_ssl_cert = \(cert)") == ["kong.conf:1: admin_ssl_cert_key must be specified"])
            #expect(problems("status_ssl_cert = \(cert)") == ["kong.conf:1: status_ssl_cert_key must be specified"])
            #expect(problems(env: ["KONG_SSL_CERT": "\(cert), \(cert)", "KONG_SSL_CERT_KEY": "\(prefix)/certs/none"]) == [
                "KONG_SSL_CERT_KEY: invalid entry for 'ssl_cert_key': '\(prefix)/certs/none' (no such file)"
            ])
        }
    }

    /// `lua_ssl_trusted_certificate` (Kong's default `system`) lists `system`, files, and
    /// certificates given as PEM text or its base64; `conf_loader/parse.lua`'s message otherwise.
    @Test func luaTrustedCertificates() throws {
        let defaults = try settings("")
        #expect(defaults.luaSSLTrustedCertificate == .system && defaults.luaSSLVerifyDepth == 1)
        try withPrefix(Self.pem) { prefix in
            let file = prefix + "/certs/ca.crt"
            let encoded = Data(Self.pem.utf8).base64EncodedString()
            let s = try settings("lua_ssl_verify_depth = 3", env: ["KONG_LUA_SSL_TRUSTED_CERTIFICATE": "\(file), \(encoded)"])
            #expect(!s.luaSSLTrustedCertificate.includesSystem)
            #expect(s.luaSSLTrustedCertificate.certificates.map(\.pem) == [Self.pem, Self.pem])
            #expect(s.luaSSLVerifyDepth == 3)
            #expect(s.redactedDictionary["lua_ssl_trusted_certificate"] == "\(file), \(encoded)")
            let withSystem = try settings("lua_ssl_trusted_certificate = system,\(file)")
            #expect(withSystem.luaSSLTrustedCertificate == TrustedCertificates(
                includesSystem: true, certificates: [PEMFile(path: file, pem: Self.pem)]))
        }
        #expect(problems("lua_ssl_trusted_certificate = /no/such.crt") == [
            "kong.conf:1: lua_ssl_trusted_certificate: failed loading certificate from /no/such.crt"
        ])
        #expect(problems("lua_ssl_verify_depth = x") == [
            "kong.conf:1: invalid value for 'lua_ssl_verify_depth': 'x' (expected a non-negative integer)"
        ])
    }
}
