import KGateConfig
import KGateSchema
import KGateSettings
import KGateStore
import NIOSSL
import Synchronization

/// The certificates the proxy's TLS listeners present, for one generation: Kong's
/// `certificates` reached through `snis`, chosen by the client's SNI as Kong's
/// `runloop/certificate.lua` does: the exact name, then `*.` + the name without its first label
/// (names of three labels or more), then the name with its last label replaced by `*`, then an
/// SNI named `*`; with no SNI, or none of those, the default certificate (`ssl_cert`, else one
/// made at start-up).
///
/// Built with the plans in the inactive page. A certificate's contexts are made once and carried
/// over to later generations while the certificate's PEM stays the same.
final class ServerCertificates: Sendable {
    /// A TLS context per certificate, by SNI name (`*` included).
    private let byName: [String: Contexts]
    /// Contexts by certificate identity (for the next generation).
    let contexts: [Identity: Contexts]
    /// The default certificate's contexts (nil when they could not be made).
    let fallback: Contexts?
    /// The TLS versions and ciphers every context offers (`ssl_cipher_suite`...).
    let policy: ServerTLSPolicy

    /// A certificate's contexts: one whose ALPN offers `http/1.1`, and, when a listener is
    /// marked `http2`, one that offers `h2` first.
    struct Contexts: Sendable {
        let http1: NIOSSLContext
        let http2: NIOSSLContext?
        /// The contexts of the certificate's `cert_alt`, and whether its key is the ECDSA one of
        /// the pair: clients that accept ECDSA get the ECDSA certificate, the others the RSA one,
        /// as nginx chooses between two certificates.
        private(set) var alternate: (http1: NIOSSLContext, http2: NIOSSLContext?, isECDSA: Bool)?

        /// Makes the contexts presenting a certificate and key.
        init(chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource, offersHTTP2: Bool, policy: ServerTLSPolicy) throws {
            http1 = try ServerCertificates.makeContext(chain: chain, key: key, policy: policy)
            http2 =
                offersHTTP2
                ? try ServerCertificates.makeContext(chain: chain, key: key, protocols: ["h2", "http/1.1"], policy: policy) : nil
        }

        /// These contexts with `alternate`'s as the other certificate of the pair.
        func pairing(_ alternate: Contexts, alternateIsECDSA: Bool) -> Contexts {
            var paired = self
            paired.alternate = (alternate.http1, alternate.http2, alternateIsECDSA)
            return paired
        }

        func context(http2 wanted: Bool, clientAcceptsECDSA: Bool = false) -> NIOSSLContext {
            if let alternate, alternate.isECDSA == clientAcceptsECDSA {
                return wanted ? alternate.http2 ?? alternate.http1 : alternate.http1
            }
            return wanted ? http2 ?? http1 : http1
        }
    }

    /// What a context is made of.
    struct Identity: Hashable, Sendable {
        var certificate: String
        var key: String

        /// The certificate chain and the key as the TLS library takes them.
        func tlsSources() throws -> (chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource) {
            (
                try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) },
                .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
            )
        }
    }

    /// No certificate: everything gets the default one.
    static let empty = ServerCertificates(
        byName: [:], contexts: [:], fallback: defaultContexts(.intermediate), policy: .intermediate)

    private init(byName: [String: Contexts], contexts: [Identity: Contexts], fallback: Contexts?, policy: ServerTLSPolicy) {
        self.byName = byName
        self.contexts = contexts
        self.fallback = fallback
        self.policy = policy
    }

    /// The default certificate's contexts per policy, each made once (a node has one policy;
    /// tests use several).
    private static let defaults = Mutex<[ServerTLSPolicy: Result<Contexts, any Error>]>([:])

    /// The default certificate's contexts under `policy`, or why they cannot be made (a cipher
    /// string the TLS library rejects, as nginx refuses to start on it).
    static func defaultContextsResult(_ policy: ServerTLSPolicy) -> Result<Contexts, any Error> {
        defaults.withLock { made in
            if let contexts = made[policy] { return contexts }
            let contexts = Result<Contexts, any Error> {
                let identity: Identity
                do {
                    identity = try DefaultCertificate.identity.get()
                } catch {
                    throw ServerCertificateError(source: "kong-default", underlying: error)
                }
                return try makeContexts(identity, offersHTTP2: true, policy: policy, source: "kong-default")
            }
            made[policy] = contexts
            return contexts
        }
    }

    /// The default certificate's contexts under `policy` (nil when they cannot be made).
    static func defaultContexts(_ policy: ServerTLSPolicy) -> Contexts? {
        try? defaultContextsResult(policy).get()
    }

    /// The default certificate's HTTP/1.1 context.
    static func defaultContext(_ policy: ServerTLSPolicy = .intermediate) -> NIOSSLContext? {
        defaultContexts(policy)?.http1
    }

    /// The certificates of a page; a certificate that cannot be loaded fails the build.
    ///
    /// - Parameters:
    ///   - vault: resolves `{vault://...}` references in `cert` and `key`.
    ///   - defaultCertificate: `ssl_cert` and `ssl_cert_key`, presented when no SNI matches
    ///     (nil: the certificate made at start-up).
    ///   - offersHTTP2: a listener is marked `http2` (each certificate gets an `h2` context).
    ///   - policy: the TLS versions and ciphers offered (`ssl_cipher_suite`...).
    convenience init(
        page: Page, vault: VaultResolver, previous: ServerCertificates?, defaultCertificate: Identity? = nil,
        offersHTTP2: Bool = false, policy: ServerTLSPolicy = .intermediate
    ) throws {
        var contexts: [Identity: Contexts] = [:]
        let reusable = previous?.policy == policy ? previous?.contexts ?? [:] : [:]
        func context(_ identity: Identity, _ source: @autoclosure () -> String) throws -> Contexts {
            if let existing = contexts[identity] ?? reusable[identity], !offersHTTP2 || existing.http2 != nil {
                contexts[identity] = existing
                return existing
            }
            let made = try Self.makeContexts(identity, offersHTTP2: offersHTTP2, policy: policy, source: source())
            contexts[identity] = made
            return made
        }
        var byCertificate: [String: Contexts] = [:]
        for (id, row) in page["certificates"]?.rows ?? [:] {
            guard let identity = try Self.identity(ofCertificate: row, id: id, vault: vault) else { continue }
            var contexts = try context(identity, "certificate \(id)")
            if let alternate = try Self.identity(ofCertificate: row, id: id, vault: vault, alternate: true),
                let isECDSA = PEM.hasECKey(alternate.certificate)
            {
                contexts = contexts.pairing(try context(alternate, "certificate \(id) (cert_alt)"), alternateIsECDSA: isECDSA)
            }
            byCertificate[id] = contexts
        }
        var byName: [String: Contexts] = [:]
        for (_, row) in page["snis"]?.rows ?? [:] {
            guard let name = row["name"]?.stringValue, let certificate = EntityTable.keyString(row["certificate"]),
                let context = byCertificate[certificate]
            else { continue }
            byName[name.lowercased()] = context
        }
        let fallback = try defaultCertificate.map { try context($0, "ssl_cert") } ?? Self.defaultContextsResult(policy).get()
        self.init(byName: byName, contexts: contexts, fallback: fallback, policy: policy)
    }

    /// A `certificates` row's PEM certificate and key (`cert_alt` and `key_alt` with
    /// `alternate`), their `{vault://...}` references resolved; nil when it lacks either.
    static func identity(ofCertificate row: Object, id: String, vault: VaultResolver, alternate: Bool = false) throws -> Identity? {
        guard let cert = row[alternate ? "cert_alt" : "cert"]?.stringValue, let key = row[alternate ? "key_alt" : "key"]?.stringValue
        else { return nil }
        do {
            return Identity(certificate: try vault.resolving(cert), key: try vault.resolving(key))
        } catch {
            throw ServerCertificateError(source: "certificate \(id)", underlying: error)
        }
    }

    /// A server context presenting a PEM certificate and key; `source` names them in the error
    /// when the TLS library refuses them (`certificate <id>`, `ssl_cert`).
    static func makeContext(
        _ identity: Identity, policy: ServerTLSPolicy = .intermediate, source: @autoclosure () -> String
    ) throws -> NIOSSLContext {
        try makeContexts(identity, offersHTTP2: false, policy: policy, source: source()).http1
    }

    static func makeContexts(
        _ identity: Identity, offersHTTP2: Bool, policy: ServerTLSPolicy, source: @autoclosure () -> String
    ) throws -> Contexts {
        do {
            let (chain, key) = try identity.tlsSources()
            return try Contexts(chain: chain, key: key, offersHTTP2: offersHTTP2, policy: policy)
        } catch let error as UnusableCipherList {
            // The settings' fault, not the certificate's.
            throw error
        } catch {
            throw ServerCertificateError(source: source(), underlying: error)
        }
    }

    /// The context to present for a client's SNI; `http2`: on a listener marked `http2`;
    /// `clientAcceptsECDSA`: the ClientHello offers ECDSA (``ClientHelloPeek``), which picks a
    /// certificate's ECDSA one when it has a `cert_alt`.
    func context(serverName: String?, http2: Bool = false, clientAcceptsECDSA: Bool = false) -> NIOSSLContext? {
        guard let name = serverName?.lowercased(), !name.isEmpty, !byName.isEmpty else { return fallback?.context(http2: http2) }
        for candidate in Self.candidates(name) {
            if let contexts = byName[candidate] { return contexts.context(http2: http2, clientAcceptsECDSA: clientAcceptsECDSA) }
        }
        return fallback?.context(http2: http2)
    }

    /// The names Kong looks up for an SNI, in order (`produce_wild_snis` plus `*`).
    static func candidates(_ name: String) -> [String] {
        var names = [name]
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if !name.contains("*") {
            if labels.count >= 3 { names.append("*." + labels.dropFirst().joined(separator: ".")) }
            if labels.count >= 2 { names.append(labels.dropLast().joined(separator: ".") + ".*") }
        }
        names.append("*")
        return names
    }

    static func makeContext(
        chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource, protocols: [String] = ["http/1.1"],
        policy: ServerTLSPolicy
    ) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        configuration.minimumTLSVersion = policy.minimum.nioSSL
        configuration.maximumTLSVersion = policy.maximum.nioSSL
        if let ciphers = policy.ciphers { configuration.cipherSuiteValues = try CipherListCheck.ciphers(ciphers) }
        configuration.applicationProtocols = protocols
        return try NIOSSLContext(configuration: CloseNotify.applied(to: configuration))
    }
}

/// A certificate (an entity, or `ssl_cert`) whose PEM the TLS library refused.
struct ServerCertificateError: Error, CustomStringConvertible {
    /// `certificate <id>` or `ssl_cert`.
    let source: String
    let underlying: any Error
    var description: String { "\(source) cannot be used for TLS: \(underlying)" }
}

extension TLSProtocolVersion {
    /// The TLS library's name for the version.
    var nioSSL: TLSVersion {
        switch self {
        case .tlsv1: return .tlsv1
        case .tlsv1_1: return .tlsv11
        case .tlsv1_2: return .tlsv12
        case .tlsv1_3: return .tlsv13
        }
    }
}
