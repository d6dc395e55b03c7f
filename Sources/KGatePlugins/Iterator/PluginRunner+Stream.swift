extension PluginRunner {
    /// The plugins with configs that run for stream sessions.
    public var streamPluginNames: Set<String> { Set(streamIterator.instancesByName.keys) }

    /// Whether a stream session on this route runs any plugin's `log` (route-, service- or
    /// globally scoped configs whose `protocols` name a stream protocol).
    public func logsStreams(route routeID: String) -> Bool {
        streamIterator.hasPlugins && !streamIterator.plan(route: routeID).steps.isEmpty
    }

    /// Kong's stream `log` phase: runs the `log` of each stream-capable config that applies to
    /// the session's route (by Kong's precedence; streams have no consumer), in priority order,
    /// with a context whose ``PluginContext/session`` is the session.
    public func logStream(_ session: StreamSession, route routeID: String, service serviceID: String?, startTime: Double) {
        guard logsStreams(route: routeID) else { return }
        var request = PluginRequest(
            method: "", scheme: session.tls == nil ? "tcp" : "tls", host: "", port: session.serverPort ?? 0,
            rawPath: "", forwardedIP: session.clientIP, startTime: startTime)
        request.clientPort = session.clientPort
        var ctx = makeContext(request)
        ctx.setRoute(id: routeID, serviceID: serviceID)
        ctx.session = session
        ctx.response.status = session.status
        ctx.phase = .log
        for step in streamIterator.plan(route: routeID).steps {
            guard let instance = step.resolve(consumer: nil), instance.descriptor.streamPhases.contains(.log) else { continue }
            call(instance, .log, &ctx)
        }
    }
}
