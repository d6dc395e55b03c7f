import KGateHTTP
import KGateStore
import NIOHTTP1

/// An endpoint a plugin adds to the Admin API or the Status API (Kong's `api.lua` and
/// `status_api.lua` of a loaded plugin): prometheus's `/metrics`, proxy-cache's `/proxy-cache`.
public struct PluginAPIRoute: Sendable {
    /// What answers a request: its method (HEAD as GET), the decoded path parameters, and the
    /// live generation.
    public typealias Answer = @Sendable (_ method: HTTPMethod, _ params: [String: String], _ generation: Generation) -> HTTPResponse

    /// The path template (`/proxy-cache/:cache_key`).
    public var template: String
    /// The methods it defines.
    public var methods: [HTTPMethod]
    public var answer: Answer

    public init(_ template: String, methods: [HTTPMethod], answer: @escaping Answer) {
        self.template = template
        self.methods = methods
        self.answer = answer
    }
}
