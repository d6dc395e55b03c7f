/// `ssl_cipher_suite`: Kong's named sets of TLS protocols and ciphers for client connections
/// (`kong/conf_loader/constants.lua`), or `custom` for `ssl_protocols` and `ssl_ciphers`.
public enum SSLCipherSuite: String, Sendable, CaseIterable {
    /// TLSv1.3 only.
    case modern
    /// TLSv1.2 and TLSv1.3 with Mozilla's intermediate ciphers (the default).
    case intermediate
    /// TLSv1 to TLSv1.3 with Mozilla's old ciphers.
    case old
    /// TLSv1.2 with FIPS ciphers.
    case fips
    /// `ssl_protocols` and `ssl_ciphers` as given.
    case custom
}

/// A TLS version as nginx's `ssl_protocols` names it.
public enum TLSProtocolVersion: String, Sendable, CaseIterable, Comparable {
    case tlsv1 = "TLSv1"
    case tlsv1_1 = "TLSv1.1"
    case tlsv1_2 = "TLSv1.2"
    case tlsv1_3 = "TLSv1.3"

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Parses nginx's space-separated list (`TLSv1.2 TLSv1.3`).
    static func parseList(_ text: String, property: String) throws(InvalidValue) -> [TLSProtocolVersion] {
        var versions: [TLSProtocolVersion] = []
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
            guard let version = TLSProtocolVersion(rawValue: String(token)) else {
                let expected = allCases.map(\.rawValue).joined(separator: ", ")
                throw InvalidValue(
                    ValueSyntax.invalidValue(property, text, "'\(token)' is not a TLS version kgate offers (\(expected))"))
            }
            if !versions.contains(version) { versions.append(version) }
        }
        guard !versions.isEmpty else { throw InvalidValue(ValueSyntax.invalidValue(property, text, "expected TLS versions")) }
        return versions.sorted()
    }
}

/// What client TLS connections to kgate's listeners may negotiate: the versions and the
/// TLSv1.2-and-older ciphers (an OpenSSL cipher string; TLSv1.3's are all allowed, as with
/// nginx), from `ssl_cipher_suite`, or `ssl_protocols` and `ssl_ciphers` with `custom`.
public struct ServerTLSPolicy: Sendable, Hashable {
    /// The lowest version offered.
    public var minimum: TLSProtocolVersion
    /// The highest version offered.
    public var maximum: TLSProtocolVersion
    /// The cipher string; nil: the TLS library's defaults (nginx's when `ssl_ciphers` is unset).
    public var ciphers: String?

    /// A policy.
    public init(minimum: TLSProtocolVersion, maximum: TLSProtocolVersion, ciphers: String?) {
        self.minimum = minimum
        self.maximum = maximum
        self.ciphers = ciphers
    }

    /// Kong's default, `intermediate`.
    public static let intermediate = ServerTLSPolicy(suite: .intermediate, protocols: [.tlsv1_2, .tlsv1_3], ciphers: nil)

    /// The policy of a suite; `protocols` and `ciphers` (`ssl_protocols`, `ssl_ciphers`) count
    /// only for `custom`.
    public init(suite: SSLCipherSuite, protocols: [TLSProtocolVersion], ciphers: String?) {
        switch suite {
        case .modern: self.init(minimum: .tlsv1_3, maximum: .tlsv1_3, ciphers: nil)
        case .intermediate: self.init(minimum: .tlsv1_2, maximum: .tlsv1_3, ciphers: Self.intermediateCiphers)
        case .old: self.init(minimum: .tlsv1, maximum: .tlsv1_3, ciphers: Self.oldCiphers)
        case .fips: self.init(minimum: .tlsv1_2, maximum: .tlsv1_2, ciphers: Self.kongFIPSCiphers)
        case .custom:
            self.init(minimum: protocols.min() ?? .tlsv1_2, maximum: protocols.max() ?? .tlsv1_3, ciphers: ciphers)
        }
    }

    /// The suite's cipher string as Kong sets `ssl_ciphers` (nil for `modern` and for `custom`
    /// without `ssl_ciphers`).
    public static func ciphers(of suite: SSLCipherSuite, custom: String?) -> String? {
        ServerTLSPolicy(suite: suite, protocols: [], ciphers: custom).ciphers
    }

    /// Kong's `fips` cipher string.
    static let kongFIPSCiphers = "TLSv1.2+FIPS:kRSA+FIPS:!eNULL:!aNULL"

    /// Mozilla's intermediate list, as Kong's `intermediate` suite (the DHE ones have no
    /// counterpart in the TLS library kgate serves with and are left out of what it offers).
    static let intermediateCiphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Mozilla's old list, as Kong's `old` suite.
    static let oldCiphers = [
        intermediateCiphers, "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-RSA-AES256-SHA", "DHE-RSA-AES128-SHA256", "DHE-RSA-AES256-SHA256", "AES128-GCM-SHA256",
        "AES256-GCM-SHA384", "AES128-SHA256", "AES256-SHA256", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA",
    ].joined(separator: ":")
}
