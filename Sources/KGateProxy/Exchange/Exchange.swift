import KGatePlugins
import KGateStore
import NIOCore
import NIOHTTP1

/// The state of one request on a client connection, reset in place for the next one.
///
/// Every client connection holds one for its whole life, idle or not: what few requests use
/// (plugins' rewrites, buffered responses, routing's own answers, failures) is `@OutOfLine`.
struct Exchange {
    // Request.
    var facts = RequestFacts()
    var requestID = RequestID.zero
    var start = NIODeadline.uptimeNanoseconds(0)
    var requestHasBody = false
    var requestEndReceived = false
    var bodyBytes = 0

    // Routing.
    /// Kept until the request ends: everything below comes from it.
    var generation: Generation?
    var plan: ServicePlan?
    /// A response routing decided that is given only after the plugins' access phase
    /// (no service for the route: 503).
    @OutOfLine var afterAccess: LocalResponse?
    var upstreamTarget = ""
    /// The client's `Host` when `preserve_host` is on.
    var preservedHost: String?
    var forwarding: ForwardingValues?
    /// Kong's `Kong-Route-*` / `Kong-Service-*` response headers (`allow_debug_header` and a
    /// `Kong-Debug` request header): set once a route matched, so every later response has them.
    @OutOfLine var debugHeaders: RouteDebugHeaders?
    /// The route's `request_buffering`: the body is read whole before the first try.
    var buffersRequest = true
    /// The route's `response_buffering`: a chunked upstream body is re-chunked per read burst.
    var buffersResponse = true

    // Plugins.
    /// The generation's plugin phases, when it has plugins.
    var runner: PluginRunner?
    /// The request's plugin context, made when a plugin runs for it. It lives in storage the
    /// connection keeps from one request to the next (``PluginContextBox``), read and changed
    /// through its address: a context is about a kilobyte, the exchange is reset whole after
    /// every request, and an accessor that copied it would retain each of its values.
    var plugins: PluginContext? {
        unsafeAddress { UnsafePointer(pluginsBox?.slot ?? PluginContextBox.empty) }
        unsafeMutableAddress {
            if pluginsBox == nil { pluginsBox = PluginContextBox() }
            return pluginsBox!.slot
        }
    }
    /// Where ``plugins`` lives, once a request needed it.
    var pluginsBox: PluginContextBox?
    /// The context holds the request's spans (``PluginContext/trace``).
    var traced = false
    /// What the response phases have to do (decided after access).
    var pluginWork: PluginRunner.ResponseWork = []
    /// The request head plugins rewrote (headers or body changed), sent upstream instead of
    /// the client's, with its facts.
    @OutOfLine var rewrittenRequest: (head: MessageHead, facts: RequestFacts)?
    /// Fields plugins appended to the client's (the head is otherwise the client's).
    @OutOfLine var addedFields: ArraySlice<HTTPFields.Field>?
    /// The method plugins set.
    var rewrittenMethod: HTTPMethod?
    /// Response body chunks go through `body_filter`.
    var filtersBody = false
    /// Buffered proxying (a plugin runs `response`): the upstream head, and its body so far.
    @OutOfLine var bufferedHead: MessageHead?
    var bufferedBody: [UInt8] = []
    /// A plugin's `kong.response.exit` in `header_filter`: its body replaces the upstream's,
    /// which is read and dropped.
    @OutOfLine var bodyReplacement: BodyReplacement?
    /// The body's compression stream (nginx's gzip or brotli filter).
    var compressor: ResponseCompressor?

    // Upstream.
    var upstream: UpstreamConnection?
    /// The target of the current try (for the error log).
    /// The balancer's state for this request, when its balancer keeps some.
    var lease: BalancerLease?
    var peerIP: IPBytes?
    var peerPort = 0
    var hostHeader = ""
    var reused = false
    var tries = 0
    var staleRetries = 0
    @OutOfLine var lastError: ProxyError?
    var bodyForwarded = false
    /// The body sent so far is kept (`replayableBody`) and may be sent to the next target.
    var bodyReplayable = false
    /// The first try waits for the whole body (`request_buffering`, see `dispatch()`).
    var awaitingBody = false
    /// The buffered body, once it outgrew `client_body_buffer_size`, and how much of it the
    /// current try has sent.
    var spool: RequestBodySpool?
    var spoolSent = 0
    /// The whole body was read before the first try: it is sent again whole on a retry, as
    /// nginx resends a buffered body.
    var bodyHeldWhole = false
    var requestEndSent = false
    var continueSent = false
    var upstreamStart = NIODeadline.uptimeNanoseconds(0)

    // Response.
    var responseHeadSent = false
    var responseStatus = 0
    var keepAlive = false
    var framing = DownstreamFraming.none
    /// A generated response was fully written.
    var responseFinished = false

    // Access log.
    /// The client output's byte count when the request began, and the response head's size:
    /// what was written since, less the head, is `$body_bytes_sent`.
    var outputMark = 0
    var headBytes = 0
    /// The first line of a head refused before it parsed (`$request`).
    @OutOfLine var refusedLine: ByteBuffer?

    // Log phase (only when a plugin logs: ``ProxyHandler/logsForPlugins``).
    /// The response head as sent, and the status the upstream answered.
    var sentHead = ByteBuffer()
    var upstreamStatus = 0
    /// When the upstream's response head arrived.
    var upstreamHeadAt = NIODeadline.uptimeNanoseconds(0)
    /// The tries so far (Kong's `balancer_data.tries`).
    @OutOfLine var triesForLog: [ServedExchange.Try]?

    /// Ready for the next request: every field as new, the plugin context's box kept (empty).
    mutating func reset() {
        let box = pluginsBox
        box?.slot.pointee = nil
        self = Exchange()
        pluginsBox = box
    }

    /// Milliseconds between two instants.
    func milliseconds(since from: NIODeadline, to: NIODeadline) -> Int {
        to.milliseconds(since: from)
    }
}

/// The body of a `header_filter` exit, until it is sent in place of the upstream's.
enum BodyReplacement {
    /// To send (once, as the whole body).
    case pending([UInt8])
    /// Sent: the rest of the upstream body is dropped.
    case sent
}

/// The storage of ``Exchange/plugins``, one per connection: a slot at a fixed address, so
/// that the context is read and changed in place. Only the connection's event loop touches it.
final class PluginContextBox {
    let slot: UnsafeMutablePointer<PluginContext?>

    init() {
        slot = .allocate(capacity: 1)
        slot.initialize(to: nil)
    }

    deinit {
        slot.deinitialize(count: 1)
        slot.deallocate()
    }

    /// The address read when an exchange has no box: always nil, never written (only the
    /// mutable accessor writes, and it makes a box first).
    nonisolated(unsafe) static let empty: UnsafeMutablePointer<PluginContext?> = {
        let slot = UnsafeMutablePointer<PluginContext?>.allocate(capacity: 1)
        slot.initialize(to: nil)
        return slot
    }()
}
