/// What plugins changed of how the request reaches its service (Kong's `kong.service`:
/// `set_target`, `set_upstream`, `set_retries`, `set_timeouts`), applied by the proxy after
/// `access`.
public struct ServiceOverride: Sendable, Hashable {
    /// `http` or `https` instead of the service's protocol (`set_scheme`).
    public var scheme: String?
    /// The host to reach instead of the service's: an `upstreams` entity's name (its balancer),
    /// an IP address or a name to resolve.
    public var host: String?
    /// The port to reach (with ``host``; nil keeps the service's).
    public var port: Int?
    /// The upstream `Host` header (`set_target` sets nginx's `$upstream_host` to its host).
    public var upstreamHost: String?
    /// `retries` instead of the service's.
    public var retries: Int?
    /// Connect, write and read timeouts in milliseconds instead of the service's.
    public var timeouts: Timeouts?

    /// The three timeouts of `set_timeouts`, in milliseconds.
    public struct Timeouts: Sendable, Hashable {
        public var connect: Int
        public var write: Int
        public var read: Int

        /// The timeouts, in milliseconds.
        public init(connect: Int, write: Int, read: Int) {
            self.connect = connect
            self.write = write
            self.read = read
        }
    }

    /// Nothing changed.
    public init() {}

    /// Whether nothing changed.
    public var isEmpty: Bool {
        scheme == nil && host == nil && port == nil && retries == nil && timeouts == nil && upstreamHost == nil
    }
}
