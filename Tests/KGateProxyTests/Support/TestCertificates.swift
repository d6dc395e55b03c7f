import NIOSSL

/// A test CA and a server certificate it signed for `localhost` (P-256, valid for 100 years),
/// made with openssl for the TLS upstream tests.
enum TestCertificates {
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

    /// A TLS server context presenting the `localhost` certificate.
    static func serverContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serverPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverKeyPEM.utf8), format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }
}
