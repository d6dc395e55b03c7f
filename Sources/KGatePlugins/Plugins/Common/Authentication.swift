import KGateSchema

/// What Kong's auth plugins share: setting the consumer with its upstream headers, and the
/// anonymous fallback.
enum Authentication {
    /// Kong's `set_consumer`: authenticates and sets (or clears) `X-Consumer-ID`,
    /// `X-Consumer-Custom-ID`, `X-Consumer-Username`, `X-Credential-Identifier` and
    /// `X-Anonymous-Consumer` on the upstream request.
    static func setConsumer(
        _ ctx: inout PluginContext, consumer: ConsumerEntity?, credential: CredentialEntity?,
        credentialIdentifier: String?
    ) {
        typealias H = PluginConstants.Headers
        ctx.authenticate(consumer: consumer, credential: credential)
        func put(_ name: String, _ value: String?) {
            if let value { ctx.request.setHeader(name, value) } else { ctx.request.clearHeader(name) }
        }
        put(H.consumerID, consumer?.id)
        put(H.consumerCustomID, consumer?.customID)
        put(H.consumerUsername, consumer?.username)
        put(H.credentialIdentifier, credentialIdentifier)
        if credential != nil {
            ctx.request.clearHeader(H.anonymous)
        } else {
            ctx.request.setHeader(H.anonymous, "true")
        }
    }

    /// Kong's two flows of an auth plugin's `access`: with `anonymous` ("logical OR" with other
    /// auth plugins), a request another plugin authenticated passes, and a failed
    /// authentication continues as the anonymous consumer; without it ("logical AND"), a
    /// failure is answered by `refuse`. `authenticate` returns nil on success, else the failure.
    static func run<Failure>(
        _ ctx: inout PluginContext, anonymous: String?, authenticate: (inout PluginContext) -> Failure?,
        refuse: (Failure, inout PluginContext) throws(PluginContext.InvalidExitStatus) -> Void
    ) throws(PluginContext.InvalidExitStatus) {
        if let anonymous {
            if ctx.credential != nil { return }
            if authenticate(&ctx) != nil { try setAnonymous(&ctx, anonymous: anonymous) }
        } else if let failure = authenticate(&ctx) {
            try refuse(failure, &ctx)
        }
    }

    /// Authenticates as the configured anonymous consumer (id or username); answers 500 when
    /// it does not exist, as Kong does.
    static func setAnonymous(_ ctx: inout PluginContext, anonymous: String) throws(PluginContext.InvalidExitStatus) {
        guard let consumer = ctx.db.consumer(idOrUsername: anonymous) else {
            let message = "anonymous consumer \(anonymous) is configured but doesn't exist"
            ctx.logger.error("\(message)")
            try ctx.error(500, message: message)
            return
        }
        setConsumer(&ctx, consumer: consumer, credential: nil, credentialIdentifier: nil)
    }

    /// A 401 with `WWW-Authenticate`.
    static func unauthorized(
        _ ctx: inout PluginContext, _ message: String, wwwAuthenticate: String
    ) throws(PluginContext.InvalidExitStatus) {
        try ctx.error(401, message: message, headers: ["WWW-Authenticate": wwwAuthenticate])
    }
}
