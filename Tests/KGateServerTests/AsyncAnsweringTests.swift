import KGateHTTP
import KGateTestSupport
import Logging
import NIOPosix
import Testing

/// A listener whose answers are computed in a task (the Admin API's `POST /config`).
struct AsyncAnsweringTests {
    @Test func answersFromATask() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener = HTTPListener(
            name: "admin", addresses: [ListenerAddress(host: "127.0.0.1", port: 0)], group: group,
            logger: Logger(label: "test"),
            answering: .task { request in
                try? await Task.sleep(for: .milliseconds(20))
                return .json(.created, #"{"path":"\#(request.path)"}"#)
            })
        try await listener.bind()
        let port = try #require(listener.localAddresses.first?.port)
        let result = Result { try TestHTTPClient(port: port).request("POST", "/config", body: "{}") }
        try await group.shutdownGracefully()
        let response = try result.get()
        #expect(response.status == 201)
        #expect(response.body == #"{"path":"/config"}"#)
    }
}
