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

    /// A self-signed `localhost` certificate with an RSA 2048 key (the RSA half of a
    /// `cert`/`cert_alt` pair whose ECDSA half is ``serverPEM``).
    static let rsaPEM = """
-----BEGIN CERTIFICATE-----
MIIDITCCAgmgAwIBAgIUcN2w28QlasDF4sQ7jxeuKnhHMZQwDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMzA3MjcyOFoYDzIxMjYx
MDMwMDcyNzI4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQC/yraZsuDnso1gmBxT2eh7NEc7V/xoywGGX3zuYRNq
l+pMM16x20LeV7cu2LJc7AhHTLVwQWAFZuB6c+DQvG3QtM4dNgRifWoYix3dzTWz
Gwawz4tHHlLlQhzuLxn2rFE1RtIJstNJD/o9sSQN6qPha8DMwnLkyjfD0yeFTF5e
f9tcdm3AlebavKlJLHRRwNzU3lPvEiBTn9tbTYwWQPJ80GfooHSbVuly4tAx5B51
zJM2hBItmzuup4/6aFvb+bNibe3+4Xq+R+tTTHkRZKyUrFeqAoHT+Li0jQBJSxav
MTZbjGdDPHUO/A3+gW4LAGTQTnitVPvrYUxyRQUF1DlfAgMBAAGjaTBnMB0GA1Ud
DgQWBBSZA+DvanmvhBmNalNijfHhD1L4wzAfBgNVHSMEGDAWgBSZA+DvanmvhBmN
alNijfHhD1L4wzAPBgNVHRMBAf8EBTADAQH/MBQGA1UdEQQNMAuCCWxvY2FsaG9z
dDANBgkqhkiG9w0BAQsFAAOCAQEARWA0RBnPy9W1FzMTmAFdIcvWKc9XHtpx2ikb
Y1ygRHjTGDTab/6EhtAE3pV62wEmNRoT2Rle60syrWc/5BcnL9pwIUngBLTLuND7
E1rXBFXoerqPCJ8sYDzbN0OKtbEyYu4w2QZ2W6mfZ2AfEu5iMj+plBEf/D3b0wMh
pqAvfzzVlQAHRUikSn3+PB74XofLqMQLR1Oga1Pjr9tJmwLp72kcLn6ac6IbpgEm
yeHjDMFN+VsqhDVN1MnCHr4P/VF3Xg3aqRN1FlwdcGvg4T3hhfGa/wMYWNuxqZKD
2/irJM/YJbTcUkuW76VVuJdwEmC9aaibJ8kdiP+VJHRxYPTu6A==
-----END CERTIFICATE-----
"""
    static let rsaKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC/yraZsuDnso1g
mBxT2eh7NEc7V/xoywGGX3zuYRNql+pMM16x20LeV7cu2LJc7AhHTLVwQWAFZuB6
c+DQvG3QtM4dNgRifWoYix3dzTWzGwawz4tHHlLlQhzuLxn2rFE1RtIJstNJD/o9
sSQN6qPha8DMwnLkyjfD0yeFTF5ef9tcdm3AlebavKlJLHRRwNzU3lPvEiBTn9tb
TYwWQPJ80GfooHSbVuly4tAx5B51zJM2hBItmzuup4/6aFvb+bNibe3+4Xq+R+tT
THkRZKyUrFeqAoHT+Li0jQBJSxavMTZbjGdDPHUO/A3+gW4LAGTQTnitVPvrYUxy
RQUF1DlfAgMBAAECggEAG/xddsIGVWjVfmHTyFyEsu2m8z7cgwIUX+IxHaumpKg0
NRhN2hAPitgrz7cpF6wNbTIBS7cOZttjKBsek/ba41hutw55x1FbmOc73XCjRFZO
PKCcRy1ilTd3dz4CQN9WHjsOTQH+GKwvLK9bfnhdn3gUswwwrbfgOT/nhWjmYE1w
tyWDmPqYWkId6Y2TTg9QxquIDNiOSCiPsH0md1dROBXiHEudKqHB0EH+J0tqXbdY
1IyttJbbeZrn3qdpnnzxKDSpn/RUHJSBjVQV8qjx5oGaKQRurBlT+Rf2xFWlfAAa
CR1NyM1b3tzMJgAQSYKoJ6WhRNEOHuQEVEGtYMIOmQKBgQD57tnT6saf3/zfgDWQ
jRQk5ulFX3Z52EDjsgD8IHJsUqWwb+8g3C969yo5oIV8TGRad4iMniJs3Y3Ipd+u
Rp5qdLikioE/pTipWFOMZodMK582MrzXFOsbXuluj/L3MZH7WdT0fqkWurH9744+
fDg1MdUgYctkux1LU0NxtRVVkwKBgQDEco7ZGxyUZtwo4V2OTUqVqh0+82PHOqVL
vnpycliIzdyY14utJsFffeUD3IYufFkHTg2+wqrkfO0WSUhzLJ4xNN4CJmWHjhSw
P/Dwjk3gEEu6QGelboCyOwEv5iVYcIrpRciA32wGi4Y9tNZEQyHEUT+vVrEaw4Xa
MMEfmsCshQKBgFMm8DndJnASaWNCmI+bIFSWro1yEUzAcfZPRpybfvYjGRT2aKya
FQHoMZgym7abA9hFZJzED9gAbiePaDfnLtVkN/omSpIOOie9Ry6y/diNus6hWsqE
HyRgE3HBWqh7SYJChONDMKZrPsSpar3HPjwUdD/tyWmeB0UEUrAF+y8ZAoGBAKKP
idXusX+8foL1u01+eDHRS9JD5lV/GjnLrdf293x9ngZ8l4D5iRtUOqcvXXoqPCHn
XUh2HqRlHGxMyD9GtMFTVkPBMlMyJ7yRrPfjSl4YHhJKKXqkLqtOWHUipdTBjLHs
pTa/q8zeuH9nncdvJgomkeSugG/9TE55+dYFYVthAoGATM1arnsjVZdFb6vdNYIp
q3Lys0cc7aH7rbG2wFqdsA0klup0Nsh1rsr+VN/fmFsnenOh5DArmfxYhEH9gBwC
dcaDUPucUil2mRL1z/dcuwdmdjRkv78Zc9Nc1Zs/+jTdD+Kyr0EAscfI2K+j4fZo
p8yG7eC1zGgiomNdRTk46v4=
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

    /// The root of the chain tests' certificates (`CN=kgate-chain-root`, P-256).
    static let chainRootPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBnTCCAUOgAwIBAgIUM9Ch3ZLP7ywTDx6aqNJwVNkNjYowCgYIKoZIzj0EAwIw
    GzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4tcm9vdDAgFw0yNjExMjEyMjEyNDBaGA8y
    MTI2MTAyODIyMTI0MFowGzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4tcm9vdDBZMBMG
    ByqGSM49AgEGCCqGSM49AwEHA0IABFcLrw85kV9E+UiMn0KDHDbPyJat3Jhw3mcH
    9E2hWOM6sWw56Z1iiBVYIDwd2xDFQaC375hWkjWLj1oHwkaE+oCjYzBhMB0GA1Ud
    DgQWBBSWk1Al3CalLY+7ZVH/evYYMrxTpjAfBgNVHSMEGDAWgBSWk1Al3CalLY+7
    ZVH/evYYMrxTpjAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggq
    hkjOPQQDAgNIADBFAiBrsZMoAUsAN634s/HM6OEhdADM/QxyzD4Tg1smhPibmwIh
    AKVrYKCfw4uC5syNdF1Q4yiO8+HQqGJz1QelB5yqENyn
    -----END CERTIFICATE-----
    """

    /// An intermediate CA under ``chainRootPEM`` (`CN=kgate-chain-int1`).
    static let chainIntermediatePEM = """
    -----BEGIN CERTIFICATE-----
    MIIBnTCCAUOgAwIBAgIUVv7NPoE3at+MYKu0SMWG02fhmrUwCgYIKoZIzj0EAwIw
    GzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4tcm9vdDAgFw0yNjExMjEyMjEyNDBaGA8y
    MTI2MTAyODIyMTI0MFowGzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4taW50MTBZMBMG
    ByqGSM49AgEGCCqGSM49AwEHA0IABDLQpLlhlhL9UvP+466/YuhbY5wNCX0QPCTu
    Crwhz7SnIRHwgTopyq4UtOJFnRJM3xQ6r5uwSkFbGkYYlzqUD6ujYzBhMA8GA1Ud
    EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBQGa1wMYg10RvCi
    0mt3ikw1aYDEQzAfBgNVHSMEGDAWgBSWk1Al3CalLY+7ZVH/evYYMrxTpjAKBggq
    hkjOPQQDAgNIADBFAiA3vaU9mX2HkfoGwsbeWc/Fo1tstc7/rMya5muz2gp7JAIh
    AJoF9YK8ZkOLAwoqfYje5o3g806XpWK0OEpufQuCd1w3
    -----END CERTIFICATE-----
    """

    /// An intermediate CA under ``chainIntermediatePEM`` (`CN=kgate-chain-int2`).
    static let chainSecondIntermediatePEM = """
    -----BEGIN CERTIFICATE-----
    MIIBnTCCAUOgAwIBAgIUZblXqWlGmdPs5hnyxdT84gGx/xMwCgYIKoZIzj0EAwIw
    GzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4taW50MTAgFw0yNjExMjEyMjEyNDBaGA8y
    MTI2MTAyODIyMTI0MFowGzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4taW50MjBZMBMG
    ByqGSM49AgEGCCqGSM49AwEHA0IABOQCg1pH1KcpXO0p3h3y62rAaEv5xsVPbdd1
    k79xP2lkwSpuuMKXxa87kulviL6hQMlShWz0+sxL5NV2LQx1YW+jYzBhMA8GA1Ud
    EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBTrFg7l4oK5mkiP
    vRNdc+PXWvwp/jAfBgNVHSMEGDAWgBQGa1wMYg10RvCi0mt3ikw1aYDEQzAKBggq
    hkjOPQQDAgNIADBFAiBzl2/AK99aJBoLLc9WCXqrKsU12y65B0jZflyBIAnLuwIh
    AJhQTQq+u40IzJZD3DzNqVsGEKAhQfgCG/vGgHRqOJat
    -----END CERTIFICATE-----
    """

    /// A `localhost` certificate signed by ``chainIntermediatePEM``, then that intermediate: a
    /// chain of three levels with its root.
    static let oneIntermediateChainPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBvzCCAWagAwIBAgIUZblXqWlGmdPs5hnyxdT84gGx/xQwCgYIKoZIzj0EAwIw
    GzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4taW50MTAgFw0yNjExMjEyMjEyNDBaGA8y
    MTI2MTAyODIyMTI0MFowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0C
    AQYIKoZIzj0DAQcDQgAEG1D9fOEI6StrKs7Ev7s4r8nI5S2zOQRxk/slowArkMdU
    L5Uz5Xndc3BdXxxxrv1JuokQqPvELM5fZ8UYvDtBD6OBjDCBiTAMBgNVHRMBAf8E
    AjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAUBgNVHREE
    DTALgglsb2NhbGhvc3QwHQYDVR0OBBYEFGQxFIl8dd7/fOxKL+zDZAOGnACLMB8G
    A1UdIwQYMBaAFAZrXAxiDXRG8KLSa3eKTDVpgMRDMAoGCCqGSM49BAMCA0cAMEQC
    IBt7XKzKSqrjFIaAlHpP+H+695L65x6gSElrwb/UsUXHAiAvsVvgnQxui9DIns4j
    u4SlyTPITNsXfTVGuyQfuGmkrw==
    -----END CERTIFICATE-----
    \(chainIntermediatePEM)
    """

    /// The key of ``oneIntermediateChainPEM``'s certificate.
    static let oneIntermediateKeyPEM = """
    -----BEGIN EC PRIVATE KEY-----
    MHcCAQEEIPeijx4kPGKp/OIV96QCjFXRUM3KK6t7Yox2FmByJ/lRoAoGCCqGSM49
    AwEHoUQDQgAEG1D9fOEI6StrKs7Ev7s4r8nI5S2zOQRxk/slowArkMdUL5Uz5Xnd
    c3BdXxxxrv1JuokQqPvELM5fZ8UYvDtBDw==
    -----END EC PRIVATE KEY-----
    """

    /// A `localhost` certificate signed by ``chainSecondIntermediatePEM``, then both
    /// intermediates: a chain of four levels with its root.
    static let twoIntermediatesChainPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBvzCCAWagAwIBAgIUaPkq7g9AO3++bQbk0UEoAL17RiAwCgYIKoZIzj0EAwIw
    GzEZMBcGA1UEAwwQa2dhdGUtY2hhaW4taW50MjAgFw0yNjExMjEyMjEyNDBaGA8y
    MTI2MTAyODIyMTI0MFowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0C
    AQYIKoZIzj0DAQcDQgAEXAKYWLkoii+CAViTIagPsSwfqGVjhoGs7CC/dIT1nDPz
    0drlSPP6FP7GIeA1PgTRSSXfMB7XrpTd7UPylmDV6qOBjDCBiTAMBgNVHRMBAf8E
    AjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAUBgNVHREE
    DTALgglsb2NhbGhvc3QwHQYDVR0OBBYEFG5EYOVoyHeTxvkIjfjl68qxOym6MB8G
    A1UdIwQYMBaAFOsWDuXigrmaSI+9E11z49da/Cn+MAoGCCqGSM49BAMCA0cAMEQC
    IDuunxkkJ08YNn7+6/UxaYnEYN5KkE3KJ5gWz99LJ60ZAiBuH0ZuBuMuh4Z6FIxX
    /LILTNJhAKfpucg2PuDEg/P8Iw==
    -----END CERTIFICATE-----
    \(chainSecondIntermediatePEM)
    \(chainIntermediatePEM)
    """

    /// The key of ``twoIntermediatesChainPEM``'s certificate.
    static let twoIntermediatesKeyPEM = """
    -----BEGIN EC PRIVATE KEY-----
    MHcCAQEEII7M0STTx9WeVjtjsAPXaHPNxRlDouasQywbwNByrYWsoAoGCCqGSM49
    AwEHoUQDQgAEXAKYWLkoii+CAViTIagPsSwfqGVjhoGs7CC/dIT1nDPz0drlSPP6
    FP7GIeA1PgTRSSXfMB7XrpTd7UPylmDV6g==
    -----END EC PRIVATE KEY-----
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
