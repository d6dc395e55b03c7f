import NIOSSL

/// A test CA and a server certificate it signed for `localhost` (P-256, valid for 100 years),
/// made with openssl for the TLS upstream tests.
enum TestCertificates {
    /// A PEM indented to sit under a `cert: |` or `key: |` of an entity in a list of kong.yml.
    static func indentedForYAML(_ pem: String) -> String {
        pem.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
    }

    /// An entry of kong.yml's top-level `certificates` list: its id, cert and key (further
    /// fields of the entry, such as `snis`, may follow it indented by two spaces).
    static func certificateEntryYAML(id: String, cert: String, key: String) -> String {
        "- id: \(id)\n  cert: |\n\(indentedForYAML(cert))\n  key: |\n\(indentedForYAML(key))"
    }

    static let caPEM = """
-----BEGIN CERTIFICATE-----
MIIBiDCCAS2gAwIBAgIURPLFrW2hbJHPAoEHG1L+lBlMBtQwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNa2dhdGUgdGVzdCBDQTAgFw0yNjExMjEwMzExMzlaGA8yMTI2
MTAyODAzMTEzOVowGDEWMBQGA1UEAwwNa2dhdGUgdGVzdCBDQTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABKjW5Sz+6yMPE/SVgG9Gx90NeENC7h00ink4RPKJqjNR
gNjNPtBxY4y4jwYaTLtfvM9ofH+Fh5En9gaLma+MMIujUzBRMB0GA1UdDgQWBBRA
k9nxwjzc8XibsiNRqKYyPgWe4zAfBgNVHSMEGDAWgBRAk9nxwjzc8XibsiNRqKYy
PgWe4zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDEhaF4YtqN
qUvx3qmHQQL6X7XYuJtxvF76SMaGY6IazgIhAKCYx4G0VeAlj0zkOF5F6zaWlWtV
QVSJfiGyZypLi3vi
-----END CERTIFICATE-----
"""

    static let serverPEM = """
-----BEGIN CERTIFICATE-----
MIIBtjCCAV2gAwIBAgIUQOY2reUpZpetj1TxHJGfW/SGUU8wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNa2dhdGUgdGVzdCBDQTAgFw0yNjExMjEwMzExMzlaGA8yMTI2
MTAyODAzMTEzOVowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAE5l0s2giv4VZ5vMYSKiF3hreUtcIKEucLWLQVxkKlXozERXe2
P9aUIFPrVPHpS6aUc5nNh4BtOvw62VW6qywCqKOBhjCBgzAUBgNVHREEDTALggls
b2NhbGhvc3QwCQYDVR0TBAIwADALBgNVHQ8EBAMCB4AwEwYDVR0lBAwwCgYIKwYB
BQUHAwEwHQYDVR0OBBYEFFn72qKaUTCVZrZQMugcU+HRwvjmMB8GA1UdIwQYMBaA
FECT2fHCPNzxeJuyI1GopjI+BZ7jMAoGCCqGSM49BAMCA0cAMEQCIGh7XCWa9yYZ
yN9IU0um6IxNQXL77dN8jUNDha5WWVMbAiBE4uCRyM9+ifcQq1Yn2WgMO/u/wVXx
pSPT7iZTR08TNA==
-----END CERTIFICATE-----
"""

    static let serverKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxvqwAe3Mj5+ICR7t
hrwOJ7MV8vnGOBp6dnmqlGhtMymhRANCAATmXSzaCK/hVnm8xhIqIXeGt5S1wgoS
5wtYtBXGQqVejMRFd7Y/1pQgU+tU8elLppRzmc2HgG06/DrZVbqrLAKo
-----END PRIVATE KEY-----
"""

    /// A self-signed `localhost` certificate with a P-521 key, as Kong's `kong_spec.crt` (the
    /// certificate of Kong's mock upstream on its TLS port).
    static let p521PEM = """
-----BEGIN CERTIFICATE-----
MIICHDCCAX6gAwIBAgIUd0TGZN2N421a0G0VLr1XZQi3B5UwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMTEyMTY0NFoYDzIxMjYxMDI4
MTIxNjQ0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwgZswEAYHKoZIzj0CAQYFK4EE
ACMDgYYABAE8624X7uKvGA5YxuIc5y/wzoFi1AMI04+EyHjnA4vY4oBwAoii8Q+3
ekYB0CZKwfvhFeZUPUlAhx800XqFJsQxfwEqmaGppFAT9oSKKBU1St0Fq2GFnNVF
oeX2DZLyUpvgXXRQ1R9K154pqaAfpqVknxUXXC/pJUCW9oDzwKBv19BU3aNpMGcw
HQYDVR0OBBYEFF4B1T+O2ZCTO71jTrbZQ7Yw9D+3MB8GA1UdIwQYMBaAFF4B1T+O
2ZCTO71jTrbZQ7Yw9D+3MA8GA1UdEwEB/wQFMAMBAf8wFAYDVR0RBA0wC4IJbG9j
YWxob3N0MAoGCCqGSM49BAMCA4GLADCBhwJBdCcNHDfUyUofqAR+DDl1jIuSxq/q
MBpapGZS9rDw3pMn/6JE0sUjeTr2rdLX3eyrWIDm6OQ3AFPDV2suqPy+1xECQgFL
7H5C5NG5QYEJE+/4mIG8RHQohWe9UA6vSKlsNoTGW33ZVbKQz2eW0sAHan5kO82c
gzwHTG8Iqbb2d3yFMiHRdQ==
-----END CERTIFICATE-----
"""

    static let p521KeyPEM = """
-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIAbcxkufP8Lp+ahjxE
pNYuQFlg6J7qaavfJV1qHb84DbxCuaZ9pIkh0+G+IFzXtVSWbXhgiO99ciAXou69
FlVVN3GhgYkDgYYABAE8624X7uKvGA5YxuIc5y/wzoFi1AMI04+EyHjnA4vY4oBw
Aoii8Q+3ekYB0CZKwfvhFeZUPUlAhx800XqFJsQxfwEqmaGppFAT9oSKKBU1St0F
q2GFnNVFoeX2DZLyUpvgXXRQ1R9K154pqaAfpqVknxUXXC/pJUCW9oDzwKBv19BU
3Q==
-----END PRIVATE KEY-----
"""

    /// A self-signed client certificate (`CN=kgate-client`, P-256) an mTLS upstream trusts.
    static let clientPEM = """
-----BEGIN CERTIFICATE-----
MIIBhjCCASugAwIBAgIUJ9z/VC4gA7ZhcpUYCqyxeI4CVcAwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMa2dhdGUtY2xpZW50MCAXDTI2MTEyMTEyMjY0MFoYDzIxMjYx
MDI4MTIyNjQwWjAXMRUwEwYDVQQDDAxrZ2F0ZS1jbGllbnQwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASRL/0IEU06qRNTgbyCTuOdDSWK7WEUFCNXCbzY4CJ9wk28
WrGTvWP43ZQw8muWAx1KJw1RN2MDJ0Iks9yIljsUo1MwUTAdBgNVHQ4EFgQUIqoV
gYxyReAYHOGGpB+Q/k/3E6AwHwYDVR0jBBgwFoAUIqoVgYxyReAYHOGGpB+Q/k/3
E6AwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA7eqKTDV21hwp
lAHf1oZEHbeyhXbYDnTZNlU0Gl/vcVgCIQDEfJa5YJ9MYyItxqhhTj6nv/92w5O2
yjxKp45DVhTnvw==
-----END CERTIFICATE-----
"""

    static let clientKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBfUywWxKhfAzK02d
3Uyco3EGHN/6eTyc1/Lo3M+ojV+hRANCAASRL/0IEU06qRNTgbyCTuOdDSWK7WEU
FCNXCbzY4CJ9wk28WrGTvWP43ZQw8muWAx1KJw1RN2MDJ0Iks9yIljsU
-----END PRIVATE KEY-----
"""

    /// A self-signed client certificate (`CN=kgate-other`, P-256) no test upstream trusts.
    static let otherClientPEM = """
-----BEGIN CERTIFICATE-----
MIIBgjCCASmgAwIBAgIUWjqHrGdBK2eToIyT1PtT0vM1G0EwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLa2dhdGUtb3RoZXIwIBcNMjYxMTIxMTIyNjQwWhgPMjEyNjEw
MjgxMjI2NDBaMBYxFDASBgNVBAMMC2tnYXRlLW90aGVyMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAE/bP5XGknWVV41S7+1lx5XSAAJaDjebtn8FtOc5vQIPmyfmny
NuTKR9TJNojPaXLHTXxKuEzYvw0WYjD27fCSKaNTMFEwHQYDVR0OBBYEFA6vv+OM
BOJSxM5i80d10Fh6SpuFMB8GA1UdIwQYMBaAFA6vv+OMBOJSxM5i80d10Fh6SpuF
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIfJdtsItGAW5/LNynm
jxNzIOpfuRRbr6bvaxn8NocbWQIhALPeyFJMy3ZwZl4Y2XTRZZxed4xEUpYi0WbH
H4sypDzg
-----END CERTIFICATE-----
"""

    static let otherClientKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUIT2mlUB/FosJgtJ
w25M2mCNa6Yy3Cz97xEkAU22/6WhRANCAAT9s/lcaSdZVXjVLv7WXHldIAAloON5
u2fwW05zm9Ag+bJ+afI25MpH1Mk2iM9pcsdNfEq4TNi/DRZiMPbt8JIp
-----END PRIVATE KEY-----
"""

    /// A TLS server context presenting the `localhost` certificate (the CA-signed P-256 one
    /// unless told otherwise); with `requiringClient`, the handshake needs a client certificate
    /// that this PEM is.
    /// - Parameter onHandshake: told the SNI of each handshake (nil when the client sent none).
    static func serverContext(
        certificate: String = serverPEM, key: String = serverKeyPEM, requiringClient client: String? = nil,
        onHandshake: (@Sendable (String?) -> Void)? = nil
    ) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        if let onHandshake {
            configuration.sslContextCallback = { values, promise in
                onHandshake(values.serverHostname)
                promise.succeed(.noChanges)
            }
        }
        if let client {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(client.utf8)))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
