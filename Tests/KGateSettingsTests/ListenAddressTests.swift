import Testing

@testable import KGateSettings

/// The `*_listen` syntax: hosts, ports, flags, lists, `off`, and every refusal.
struct ListenAddressTests {
    static let valid: [(String, [ListenAddress])] = [
        ("off", []),
        ("  OFF  ", []),
        ("0.0.0.0:8000", [.init(host: "0.0.0.0", port: 8000)]),
        ("127.0.0.1:0", [.init(host: "127.0.0.1", port: 0)]),
        ("10.1.2.3:65535", [.init(host: "10.1.2.3", port: 65535)]),
        ("[::1]:8000", [.init(host: "::1", port: 8000)]),
        ("[::]:8000 ipv6only=on", [.init(host: "::", port: 8000, ipv6only: true)]),
        ("[2001:db8::10]:443 ssl", [.init(host: "2001:db8::10", port: 443, ssl: true)]),
        ("[::ffff:127.0.0.1]:80", [.init(host: "::ffff:127.0.0.1", port: 80)]),
        ("*:8000", [.init(host: "*", port: 8000)]),
        ("localhost:8000", [.init(host: "localhost", port: 8000)]),
        ("gw-1.example.test:8000", [.init(host: "gw-1.example.test", port: 8000)]),
        ("0.0.0.0:8443 ssl http2", [.init(host: "0.0.0.0", port: 8443, ssl: true, http2: true)]),
        ("0.0.0.0:8000 reuseport backlog=16384", [.init(host: "0.0.0.0", port: 8000, reuseport: true, backlog: 16384)]),
        ("0.0.0.0:8000\tbacklog=0", [.init(host: "0.0.0.0", port: 8000, backlog: 0)]),
        (
            "0.0.0.0:8000 proxy_protocol deferred bind ipv6only=off so_keepalive=on",
            [.init(host: "0.0.0.0", port: 8000, proxyProtocol: true, deferred: true, bind: true,
                   ipv6only: false, soKeepalive: "on")]
        ),
        ("0.0.0.0:8000 so_keepalive=30m::10", [.init(host: "0.0.0.0", port: 8000, soKeepalive: "30m::10")]),
        ("0.0.0.0:8000 so_keepalive=off", [.init(host: "0.0.0.0", port: 8000, soKeepalive: "off")]),
        (
            " 0.0.0.0:8000 , ,[::1]:8001 ssl ,",
            [.init(host: "0.0.0.0", port: 8000), .init(host: "::1", port: 8001, ssl: true)]
        ),
        ("127.0.0.1:8000, 127.0.0.2:8000", [.init(host: "127.0.0.1", port: 8000), .init(host: "127.0.0.2", port: 8000)]),
        ("127.0.0.1:0, 127.0.0.1:0", [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.1", port: 0)]),
    ]

    @Test(arguments: valid)
    func parses(_ text: String, _ expected: [ListenAddress]) throws {
        #expect(try ListenAddress.parseList(text, property: "proxy_listen") == expected)
    }

    @Test(arguments: [
        (ListenAddress(host: "::1", port: 8000, ssl: true, http2: true), "[::1]:8000 http2 ssl"),
        (ListenAddress(host: "0.0.0.0", port: 1, proxyProtocol: true, deferred: true, bind: true, reuseport: true,
                       backlog: 5, ipv6only: true, soKeepalive: "1:2:3"),
         "0.0.0.0:1 proxy_protocol deferred bind reuseport backlog=5 ipv6only=on so_keepalive=1:2:3"),
    ])
    func rendersInKongOrderAndRoundTrips(_ address: ListenAddress, _ text: String) throws {
        #expect(address.description == text)
        #expect(try ListenAddress.parseList(text, property: "x") == [address])
    }

    static let flagUsage =
        "accepted flags: ssl, http2, proxy_protocol, deferred, bind, reuseport, backlog=<n>, ipv6only=on|off, "
        + "so_keepalive=on|off|<idle>:<interval>:<count>"

    static let invalid: [FailureCase] = [
        FailureCase("", "invalid value for 'proxy_listen': '' (expected 'off' or <host>:<port> [flags], [...])"),
        FailureCase(" , ", "invalid value for 'proxy_listen': ' , ' (expected 'off' or <host>:<port> [flags], [...])"),
        FailureCase(
            "off, 0.0.0.0:8000",
            "invalid value for 'proxy_listen': 'off, 0.0.0.0:8000' ('off' cannot be combined with other entries)"),
        FailureCase(
            "0.0.0.0:8000, off",
            "invalid entry for 'proxy_listen': 'off' (missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)"),
        FailureCase(
            "0.0.0.0",
            "invalid entry for 'proxy_listen': '0.0.0.0' "
                + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)"),
        FailureCase(
            "8000",
            "invalid entry for 'proxy_listen': '8000' "
                + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)"),
        FailureCase(
            ":8000", "invalid entry for 'proxy_listen': ':8000' (missing host; expected <host>:<port>, e.g. 0.0.0.0:8000)"),
        FailureCase(
            "0.0.0.0:", "invalid entry for 'proxy_listen': '0.0.0.0:' (invalid port ''; expected an integer from 0 to 65535)"),
        FailureCase(
            "0.0.0.0:65536",
            "invalid entry for 'proxy_listen': '0.0.0.0:65536' (invalid port '65536'; expected an integer from 0 to 65535)"),
        FailureCase(
            "0.0.0.0:http",
            "invalid entry for 'proxy_listen': '0.0.0.0:http' (invalid port 'http'; expected an integer from 0 to 65535)"),
        FailureCase("300.0.0.1:80", "invalid entry for 'proxy_listen': '300.0.0.1:80' (invalid IPv4 address '300.0.0.1')"),
        FailureCase("1.2.3:80", "invalid entry for 'proxy_listen': '1.2.3:80' (invalid IPv4 address '1.2.3')"),
        FailureCase("bad_host!:80", "invalid entry for 'proxy_listen': 'bad_host!:80' (invalid host 'bad_host!')"),
        FailureCase(
            "::1:8000",
            "invalid entry for 'proxy_listen': '::1:8000' (IPv6 addresses must be written in brackets, e.g. [::1]:8000)"),
        FailureCase("[::1]", "invalid entry for 'proxy_listen': '[::1]' "
            + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)"),
        FailureCase("[::1:8000", "invalid entry for 'proxy_listen': '[::1:8000' (missing ']' after IPv6 address)"),
        FailureCase("[::g]:80", "invalid entry for 'proxy_listen': '[::g]:80' (invalid IPv6 address '::g')"),
        FailureCase("[1::2::3]:80", "invalid entry for 'proxy_listen': '[1::2::3]:80' (invalid IPv6 address '1::2::3')"),
        FailureCase("0.0.0.0:8000 sl", "invalid entry for 'proxy_listen': '0.0.0.0:8000 sl' (unknown flag 'sl'; \(flagUsage))"),
        FailureCase(
            "0.0.0.0:8000 ssl=on",
            "invalid entry for 'proxy_listen': '0.0.0.0:8000 ssl=on' (unknown flag 'ssl=on'; \(flagUsage))"),
        FailureCase(
            "0.0.0.0:8000 backlog",
            "invalid entry for 'proxy_listen': '0.0.0.0:8000 backlog' (unknown flag 'backlog'; \(flagUsage))"),
        FailureCase(
            "0.0.0.0:8000 backlog=lots",
            "invalid entry for 'proxy_listen': '0.0.0.0:8000 backlog=lots' "
                + "(invalid backlog 'lots'; expected backlog=<n> with n an integer, 0 or greater)"),
        FailureCase(
            "0.0.0.0:8000 ipv6only=yes",
            "invalid entry for 'proxy_listen': '0.0.0.0:8000 ipv6only=yes' "
                + "(invalid ipv6only 'yes'; expected ipv6only=on or ipv6only=off)"),
        FailureCase(
            "0.0.0.0:8000 so_keepalive=1:2",
            "invalid entry for 'proxy_listen': '0.0.0.0:8000 so_keepalive=1:2' "
                + "(invalid so_keepalive '1:2'; expected on, off or <idle>:<interval>:<count> (e.g. 30m::10))"),
        FailureCase(
            "0.0.0.0:8000, 0.0.0.0:8000 ssl",
            "invalid entry for 'proxy_listen': '0.0.0.0:8000 ssl' (duplicate address 0.0.0.0:8000)"),
        FailureCase(
            "0.0.0.0, [::1], 1.1.1.1:1",
            "invalid entry for 'proxy_listen': '0.0.0.0' "
                + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)",
            "invalid entry for 'proxy_listen': '[::1]' "
                + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)"),
    ]

    @Test(arguments: invalid)
    func refuses(_ c: FailureCase) {
        #expect(throws: InvalidValue(messages: c.messages)) {
            try ListenAddress.parseList(c.input, property: "proxy_listen")
        }
    }

    /// Through each source the message names the source and the property.
    @Test func sourcesOfListenErrors() {
        #expect(problems("admin_listen = 127.0.0.1") == [
            "kong.conf:1: invalid entry for 'admin_listen': '127.0.0.1' "
                + "(missing port; expected <host>:<port>, e.g. 0.0.0.0:8000 or [::1]:8000)",
        ])
        #expect(problems(env: ["KONG_STATUS_LISTEN": "127.0.0.1:x"]) == [
            "KONG_STATUS_LISTEN: invalid entry for 'status_listen': '127.0.0.1:x' "
                + "(invalid port 'x'; expected an integer from 0 to 65535)",
        ])
        #expect(problems(flags: ["proxy-listen": "0.0.0.0:1 tls"]) == [
            "--proxy-listen: invalid entry for 'proxy_listen': '0.0.0.0:1 tls' (unknown flag 'tls'; \(Self.flagUsage))",
        ])
    }

    /// `stream_listen` (off by default) takes `udp` but not the HTTP-only flags, and its TCP
    /// entries may not share a port with the other listeners.
    @Test func streamListen() throws {
        #expect(try settings("").streamListen.isEmpty)
        let s = try settings("stream_listen = 127.0.0.1:9000 ssl reuseport, 127.0.0.1:9001 udp, 127.0.0.1:8000 udp")
        #expect(s.streamListen.map(\.description) == ["127.0.0.1:9000 ssl reuseport", "127.0.0.1:9001 udp", "127.0.0.1:8000 udp"])
        #expect(s.redactedDictionary["stream_listen"] == "127.0.0.1:9000 ssl reuseport, 127.0.0.1:9001 udp, 127.0.0.1:8000 udp")
        #expect(problems("stream_listen = 127.0.0.1:9000 http2") == [
            "kong.conf:1: invalid entry for 'stream_listen': '127.0.0.1:9000 http2' (unknown flag 'http2'; "
                + "accepted flags: \(ListenAddress.streamFlagUsage))"
        ])
        #expect(problems("proxy_listen = 127.0.0.1:9000 udp").count == 1)
        #expect(problems("stream_listen = 0.0.0.0:8000") == [
            "kong.conf:1: invalid entry for 'stream_listen': '0.0.0.0:8000' (0.0.0.0:8000 is also used by 'proxy_listen' "
                + "entry '0.0.0.0:8000 reuseport backlog=16384')"
        ])
    }

    /// Listeners of different properties on one port and overlapping hosts are refused.
    @Test func conflictsBetweenProperties() {
        #expect(problems("admin_listen = 127.0.0.1:8000") == [
            "kong.conf:1: invalid entry for 'admin_listen': '127.0.0.1:8000' "
                + "(127.0.0.1:8000 is also used by 'proxy_listen' entry '0.0.0.0:8000 reuseport backlog=16384')",
        ])
        #expect(problems(env: ["KONG_PROXY_LISTEN": "127.0.0.1:8007"]) == [
            "KONG_PROXY_LISTEN: invalid entry for 'status_listen': '127.0.0.1:8007 reuseport backlog=16384' "
                + "(127.0.0.1:8007 is also used by 'proxy_listen' entry '127.0.0.1:8007')",
        ])
        #expect(problems("admin_listen = [::]:8000") == [])
        #expect(problems("admin_listen = 127.0.0.1:0\nstatus_listen = 127.0.0.1:0\nproxy_listen = 127.0.0.1:0") == [])
        #expect(problems("proxy_listen = 127.0.0.1:9000\nadmin_listen = 127.0.0.2:9000") == [])
    }
}
