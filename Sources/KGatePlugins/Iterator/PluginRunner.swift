import Atomics
import KGateStore
import Logging

/// Runs Kong's plugin phases for the requests of one generation: the artifact the proxy gets
/// from `generation.artifact(for: PluginsBuilder.self)`.
///
/// Per request (see the module documentation for the full sequence):
/// 1. `var ctx = runner.makeContext(request)`; `runner.rewrite(&ctx)` (global configs);
/// 2. after routing, `ctx.setRoute(match)`; if `runner.needsRequestBody(ctx)`, read the body
///    and `ctx.request.attachBody(bytes)`; `runner.access(&ctx)`;
/// 3. if `ctx.exitResponse` is set, answer with it; else apply `ctx.request.changes` to the
///    upstream request;
/// 4. `runner.headerFilter(&ctx, status:headers:fromService:)` before sending the response
///    head, `runner.bodyFilter(&ctx, chunk:last:)` per chunk when `ctx` needs it, and
///    `runner.log(&ctx)` at the end.
public final class PluginRunner: Sendable {
    let iterator: PluginsIterator
    /// The configs that run for stream sessions (``logStream(_:route:service:)``).
    let streamIterator: PluginsIterator
    let registry: PluginRegistry
    /// The generation's entities (for contexts).
    public let database: PluginDatabase
    private let configured = ManagedAtomic<Bool>(false)

    init(
        iterator: PluginsIterator, streamIterator: PluginsIterator, registry: PluginRegistry, database: PluginDatabase
    ) {
        self.iterator = iterator
        self.streamIterator = streamIterator
        self.registry = registry
        self.database = database
    }

    /// Builds the runner of a page (what `PluginsBuilder` does).
    public convenience init(page: Page, registry: PluginRegistry, logger: Logger = Logger(label: "kgate.plugins")) throws {
        self.init(
            iterator: try PluginsIterator(page: page, registry: registry),
            streamIterator: try PluginsIterator(page: page, registry: registry, subsystem: .stream),
            registry: registry, database: PluginDatabase(page: page, logger: logger))
    }

    /// True when the generation has an enabled plugin; when false every phase is a no-op and
    /// the proxy may skip them all.
    public var hasPlugins: Bool { iterator.hasPlugins }

    /// Whether requests on this route have any plugin (a route-, service- or consumer-scoped
    /// config, or a global one). When false and ``needsRewrite`` is false, the proxy may skip
    /// the plugin phases for the request altogether.
    public func hasPlugins(route routeID: String) -> Bool {
        iterator.hasPlugins && !iterator.plan(route: routeID).steps.isEmpty
    }

    /// The configs that apply to requests on a route, in execution order, for a request whose
    /// consumer is `consumer` (nil: none identified): which config of each plugin wins by
    /// Kong's precedence. For diagnostics (`kgate route test`); nothing runs.
    public func configs(route routeID: String, consumer: String? = nil) -> [PluginScope] {
        guard iterator.hasPlugins else { return [] }
        return iterator.plan(route: routeID).steps.compactMap { $0.resolve(consumer: consumer)?.scope }
    }

    /// Whether a global config implements `certificate` (the proxy then runs it in TLS
    /// handshakes).
    public var needsCertificate: Bool { iterator.globals[.certificate] != nil }

    /// Whether a global config implements `rewrite` (the proxy then makes the context before
    /// routing).
    public var needsRewrite: Bool { iterator.globals[.rewrite] != nil }

    /// Whether a global config runs in the downstream phases of requests that never reached
    /// access (no route matched, early errors): the proxy then runs `headerFilter` and `log`
    /// for those too.
    public var hasGlobalDownstreamPlugins: Bool {
        !PluginPhases.downstream.isDisjoint(with: iterator.globalPhases)
    }

    /// A context for a new request of this generation.
    public func makeContext(_ request: consuming PluginRequest) -> PluginContext {
        PluginContext(request: request, database: database)
    }

    /// Kong's `configure` phase: gives each plugin its configs of this generation. Call once
    /// after the generation is flipped in; later calls do nothing.
    public func configure() {
        guard configured.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        for name in registry.names {
            // A row serving both subsystems has an instance in each: the HTTP one stands for it.
            var instances = iterator.instancesByName[name] ?? []
            let ids = Set(instances.map(\.scope.id))
            instances += (streamIterator.instancesByName[name] ?? []).filter { !ids.contains($0.scope.id) }
            registry.handlers[name]?.configure(instances)
        }
    }

    // MARK: Non-collecting phases before routing

    /// TLS handshake: global configs implementing `certificate`.
    public func certificate(_ ctx: inout PluginContext) {
        runGlobals(.certificate, &ctx)
    }

    /// Before routing: global configs implementing `rewrite`. May set `ctx.exitResponse`.
    public func rewrite(_ ctx: inout PluginContext) {
        runGlobals(.rewrite, &ctx)
    }

    // MARK: Access (collecting)

    /// Whether the proxy must read the whole body before ``access(_:)`` for this request.
    public func needsRequestBody(_ ctx: PluginContext) -> Bool {
        guard let route = ctx.routeID else { return false }
        return needsRequestBody(
            route: route, hasContentLength: ctx.request.headers["content-length"].flatMap { Int($0) } != nil)
    }

    /// ``needsRequestBody(_:)`` from the route id and whether the request has a valid
    /// `Content-Length`.
    public func needsRequestBody(route: String, hasContentLength: Bool) -> Bool {
        guard iterator.hasPlugins else { return false }
        switch iterator.plan(route: route).bodyNeed {
        case .never: return false
        case .always, .alwaysWithSpooled: return true
        case .withoutContentLength:
            return !hasContentLength
        }
    }

    /// Whether a plugin on this route reads a body larger than `client_body_buffer_size`
    /// (``RequestBodyNeed/alwaysWithSpooled``): the proxy then attaches it with
    /// ``PluginRequest/attachBodyFile(size:bytes:)``.
    public func readsSpooledBody(route: String) -> Bool {
        iterator.hasPlugins && iterator.plan(route: route).bodyNeed == .alwaysWithSpooled
    }

    /// Kong's access phase: resolves each plugin's config in priority order (consumer-scoped
    /// configs once an auth plugin identified the consumer), records the plugins for the later
    /// phases, and runs their `access`. After an exit (``PluginContext/exitResponse``), later
    /// plugins are still collected but their `access` does not run. A throwing plugin answers
    /// 500 "An unexpected error occurred" as Kong's `kong.response.error` (the error page by the
    /// client's `Accept`, with the request id).
    public func access(_ ctx: inout PluginContext) {
        guard let routeID = ctx.routeID else { return }
        ctx.accessRan = true
        ctx.phase = .access
        guard iterator.hasPlugins else { return }
        let steps = iterator.plan(route: routeID).steps
        while ctx.accessStep < steps.count {
            let step = steps[ctx.accessStep]
            ctx.accessStep += 1
            let consumer = step.consumerTables == nil ? nil : ctx.consumerID
            guard let instance = step.resolve(consumer: consumer) else { continue }
            let phases = instance.phases
            if !phases.isDisjoint(with: .downstream) {
                ctx.collected.append(instance)
                ctx.collectedPhases.formUnion(phases)
            }
            guard phases.contains(.access), ctx.exitResponse == nil else { continue }
            call(instance, .access, &ctx)
            if ctx.isSuspended {
                // The plugin waits for I/O: the proxy resumes the phase with `resumeAccess`.
                ctx.suspendedPlugin = instance
                return
            }
        }
    }

    /// Continues an `access` phase a plugin suspended (``PluginContext/wait(for:then:)``):
    /// runs the plugin's continuation, then the plugins after it. It may suspend again
    /// (``PluginContext/isSuspended``).
    public func resumeAccess(_ ctx: inout PluginContext, _ resume: PluginSuspension.Resume) {
        guard let instance = ctx.suspendedPlugin else { return }
        ctx.suspendedPlugin = nil
        ctx.phase = .access
        ctx.currentPlugin = instance.name
        do {
            try resume(&ctx)
        } catch {
            report(error, instance, &ctx)
        }
        if ctx.isSuspended {
            ctx.suspendedPlugin = instance
            return
        }
        access(&ctx)
    }

    // MARK: Downstream phases

    /// Kong's `response` phase (buffered proxying): the whole upstream body is in
    /// `ctx.response.body`, after ``headerFilter(_:status:headers:fromService:)`` started the
    /// response.
    public func response(_ ctx: inout PluginContext) {
        runDownstream(.response, &ctx)
    }

    /// Starts the response and runs `header_filter`.
    ///
    /// - Parameters:
    ///   - status: the status to send.
    ///   - headers: for an upstream response (`fromService`), its headers, which header
    ///     changes made during access then override; for an exit or kgate's own error, the
    ///     headers of that response, which override those changes.
    /// - After the call, send `ctx.response.status` and `ctx.response.headers`.
    public func headerFilter(_ ctx: inout PluginContext, status: Int, headers: HTTPFields, fromService: Bool) {
        if fromService || ctx.response.pendingEdits.isEmpty {
            ctx.response.start(status: status, headers: headers, fromService: fromService)
        } else {
            ctx.response.start(status: status, headers: HTTPFields(), fromService: false)
            for field in headers { ctx.response.headers.remove(field.name) }
            for field in headers { ctx.response.headers.add(field.name, field.value) }
        }
        ctx.phase = .headerFilter
        for instance in downstream(.headerFilter, ctx) {
            call(instance, .headerFilter, &ctx)
            // `kong.response.exit` ends the phase (`ngx.exit(ngx.OK)` in the Lua handler).
            if ctx.headerFilterExit != nil { break }
        }
    }

    /// Whether ``headerFilter(_:status:headers:fromService:)`` has work for this request: a
    /// plugin runs `header_filter`, or a response header was set before the response existed.
    /// When false the proxy may send the response head as it is.
    public func needsHeaderFilter(_ ctx: PluginContext) -> Bool {
        !ctx.response.pendingEdits.isEmpty || runsHeaderFilter(ctx)
    }

    /// Whether a plugin of this request implements `header_filter`. When it is false and
    /// nothing reads the response later (``needsLog(_:)``, ``needsBodyFilter(_:)``), the
    /// proxy may apply ``PluginResponse/pendingEdits`` to the response head itself.
    public func runsHeaderFilter(_ ctx: PluginContext) -> Bool {
        ctx.accessRan ? ctx.collectedPhases.contains(.headerFilter) : iterator.globals[.headerFilter] != nil
    }

    /// Whether ``log(_:)`` has work for this request.
    public func needsLog(_ ctx: PluginContext) -> Bool {
        ctx.accessRan ? ctx.collectedPhases.contains(.log) : iterator.globals[.log] != nil
    }

    /// What the response phases have to do for a request.
    public struct ResponseWork: OptionSet, Sendable {
        /// The raw value.
        public let rawValue: UInt8
        /// Makes a set.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// A plugin runs `header_filter`.
        public static let headerFilter = ResponseWork(rawValue: 1)
        /// A plugin runs `body_filter`.
        public static let bodyFilter = ResponseWork(rawValue: 2)
        /// A plugin runs `log`.
        public static let log = ResponseWork(rawValue: 4)
        /// A plugin runs `response`: the upstream response is buffered whole (Kong's buffered
        /// proxying).
        public static let response = ResponseWork(rawValue: 8)
    }

    /// The response phases with work for this request: after access, those of the collected
    /// plugins; before (no route, early errors), those of the global configs. Header changes
    /// recorded before the response (``PluginResponse/pendingEdits``) are apart.
    ///
    /// The context is `inout` only so that a caller keeping it in a class's property passes it
    /// in place rather than as a copy.
    public func responseWork(_ ctx: inout PluginContext) -> ResponseWork {
        var work: ResponseWork = []
        if runsHeaderFilter(ctx) { work.insert(.headerFilter) }
        if needsBodyFilter(ctx) { work.insert(.bodyFilter) }
        if needsLog(ctx) { work.insert(.log) }
        if ctx.needsBufferedResponse { work.insert(.response) }
        return work
    }


    /// Whether ``bodyFilter(_:chunk:last:)`` has work for this request.
    public func needsBodyFilter(_ ctx: PluginContext) -> Bool {
        ctx.accessRan ? ctx.collectedPhases.contains(.bodyFilter) : iterator.globals[.bodyFilter] != nil
    }

    /// Runs `body_filter` on one chunk of the response body (`last` on the final one).
    public func bodyFilter(_ ctx: inout PluginContext, chunk: inout [UInt8], last: Bool) {
        ctx.phase = .bodyFilter
        for instance in downstream(.bodyFilter, ctx) {
            ctx.currentPlugin = instance.name
            do {
                try instance.bodyFilter(&ctx, chunk: &chunk, last: last)
            } catch {
                report(error, instance, &ctx)
            }
        }
    }

    /// Kong's `log` phase, after the response was sent (or the exchange failed).
    public func log(_ ctx: inout PluginContext) {
        runDownstream(.log, &ctx)
    }

    // MARK: Running

    private func runGlobals(_ phase: PluginPhase, _ ctx: inout PluginContext) {
        guard let list = iterator.globals[phase] else { return }
        ctx.phase = phase
        for instance in list {
            if phase == .rewrite, ctx.exitResponse != nil { break }
            call(instance, phase, &ctx)
        }
    }

    private func runDownstream(_ phase: PluginPhase, _ ctx: inout PluginContext) {
        ctx.phase = phase
        for instance in downstream(phase, ctx) { call(instance, phase, &ctx) }
    }

    /// The plugins of a downstream phase: those collected by access, or the global configs
    /// when access never ran (no route matched, an early error).
    private func downstream(_ phase: PluginPhase, _ ctx: PluginContext) -> DownstreamPlugins {
        if ctx.accessRan {
            let bit = PluginPhases(phase)
            return DownstreamPlugins(list: ctx.collectedPhases.contains(bit) ? ctx.collected : [], phase: bit)
        }
        return DownstreamPlugins(list: ContiguousArray(iterator.globals[phase] ?? []), phase: [])
    }

    @inline(__always)
    func call(_ instance: any AnyPluginInstance, _ phase: PluginPhase, _ ctx: inout PluginContext) {
        ctx.currentPlugin = instance.name
        let span = ctx.trace != nil ? ctx.trace!.startPlugin(phase, instance.name) : nil
        do {
            try instance.run(phase, &ctx)
        } catch {
            if let span { ctx.trace!.fail(span, "\(error)") }
            report(error, instance, &ctx)
        }
        if let span { ctx.trace!.finish(span) }
    }

    private func report(_ error: any Error, _ instance: any AnyPluginInstance, _ ctx: inout PluginContext) {
        ctx.failed = true
        database.logger.error(
            "plugin failed",
            metadata: [
                "plugin": .string(instance.descriptor.name), "plugin.id": .string(instance.scope.id),
                "phase": .string(ctx.phase.rawValue), "error": .string("\(error)"),
            ])
        if ctx.phase == .access || ctx.phase == .rewrite {
            // Kong's runloop keeps the failure as a delayed response that it flushes with
            // `kong.response.error`: the templated error page, not a bare JSON table.
            ctx.clearExit()
            ctx.answer(500, body: .kongError(message: "An unexpected error occurred"))
        }
    }
}

/// The plugins of a list that implement a phase (no filtering when `phase` is empty).
struct DownstreamPlugins: Sequence {
    let list: ContiguousArray<any AnyPluginInstance>
    let phase: PluginPhases

    func makeIterator() -> Iterator { Iterator(list: list, phase: phase) }

    struct Iterator: IteratorProtocol {
        let list: ContiguousArray<any AnyPluginInstance>
        let phase: PluginPhases
        var index = 0

        mutating func next() -> (any AnyPluginInstance)? {
            while index < list.count {
                let item = list[index]
                index += 1
                if phase.isEmpty || item.phases.contains(phase) { return item }
            }
            return nil
        }
    }
}

/// Builds each generation's `PluginRunner` (register it on the `ConfigStore`).
public struct PluginsBuilder: GenerationArtifactBuilder {
    /// The node's plugins.
    public let registry: PluginRegistry
    /// The logger plugins log with.
    public let logger: Logger

    /// Makes the builder.
    public init(registry: PluginRegistry, logger: Logger = Logger(label: "kgate.plugins")) {
        self.registry = registry
        self.logger = logger
    }

    /// Builds the runner; fails on a plugin the registry does not have, so a plugin kgate does
    /// not run (an auth plugin, say) is never silently skipped.
    public func build(page: Page, previous: Generation?) throws -> PluginRunner {
        try PluginRunner(page: page, registry: registry, logger: logger)
    }
}
