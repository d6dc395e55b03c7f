import KGatePlugins
import NIOCore
import NIOSSL
import NIOTLS

/// TLS on `proxy_listen` addresses marked `ssl`: the client's SNI is read from its ClientHello
/// first, the certificate is chosen by it from the current generation's `snis`
/// (``ServerCertificates``), then the TLS handler takes over the connection in front of the
/// proxy handler, which learns the SNI for routing (`snis` on routes) and plugins, and the
/// negotiated version and cipher for the log serializer (``ServerHelloReader``).
enum TLSTermination {
    /// Adds the SNI reader to a new connection's pipeline (before the proxy handler, or the
    /// HTTP version selector of an `http2` listener, which ALPN offers `h2` to).
    static func install(
        on channel: any Channel, http2: Bool = false, environment: ProxyEnvironment, facts: any ClientConnectionFacts
    ) throws {
        let peek = ClientHelloPeek()
        let sni = ByteToMessageHandler(SNIHandler { result in
            let name: String?
            if case .hostname(let hostname) = result { name = hostname } else { name = nil }
            facts.serverName = name
            let (_, plans) = environment.currentPlans()
            if let runner = plans.activePlugins, runner.needsCertificate {
                // Kong's `certificate` phase: global configs, with the addresses and the SNI.
                let peer = channel.remoteAddress?.ipAddress ?? ""
                var ctx = runner.makeContext(
                    PluginRequest(
                        method: "", scheme: "https", host: name ?? "", port: channel.localAddress?.port ?? 0,
                        rawPath: "/", forwardedIP: peer, serverName: name))
                runner.certificate(&ctx)
            }
            let context = plans.certificates.context(serverName: name, http2: http2, clientAcceptsECDSA: peek.acceptsECDSA)
            guard let context else { return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
            return channel.eventLoop.makeCompletedFuture {
                let operations = channel.pipeline.syncOperations
                let reader = try operations.context(name: Self.readerName).handler
                try operations.addHandler(NIOSSLServerHandler(context: context), position: .after(reader))
                try operations.addHandler(ServerHelloReader { facts.clientTLS = $0 }, position: .first)
            }
        })
        try channel.pipeline.syncOperations.addHandler(peek)
        try channel.pipeline.syncOperations.addHandler(sni, name: Self.readerName)
    }

    static let readerName = "kgate.sni"
}
