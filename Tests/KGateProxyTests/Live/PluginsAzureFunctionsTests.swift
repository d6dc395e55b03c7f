import Foundation
import Testing

@testable import KGatePlugins

/// Kong's azure-functions (35-azure-functions/01-access_spec): the function is called with the
/// client's method, query, headers and body and its answer is the client's; the route's service
/// is never called. The function is a test upstream: as Kong's spec points its calls at a mock
/// server, the plugin connects to it while naming `azure.example.test` port 80.
@Suite(.serialized)
struct PluginsAzureFunctionsTests {
    static func yaml(servicePort: Int) -> String {
        """
        _format_version: "3.0"
        services:
        - name: never-called
          url: http://127.0.0.1:\(servicePort)/request
          routes:
          - hosts: [azure2.test]
            plugins:
            - name: azure-functions
              config:
                https: false
                appname: azure
                hostdomain: example.test
                routeprefix: request
                functionname: test-func-name
                apikey: anything_but_an_API_key
                clientid: and_no_clientid
          - hosts: [body.test]
            plugins:
            - name: azure-functions
              config: {https: false, appname: azure, hostdomain: example.test, routeprefix: /echo-body/, functionname: /fn}
        """
    }

    @Test("the call carries the request; the answer is the function's, with Via")
    func callsTheFunction() async throws {
        try await withUpstreams(["function", "service"]) { ups in
            let plugin = AzureFunctionsPlugin(connectingTo: ("127.0.0.1", ups[0].port))
            try await withProxy(Self.yaml(servicePort: ups[1].port), extraPlugins: [plugin]) { proxy in
                let response = try await proxy.send(
                    "GET", "/and/then/some?hello=world", host: "azure2.test", headers: [("Just-A-Header", "just a value")])
                #expect(response.status == 200)
                let echoed = EchoedRequest(response)
                #expect(echoed.requestLine == "GET /request/test-func-name?hello=world")
                #expect(echoed.header("just-a-header") == "just a value")
                #expect(echoed.header("x-functions-key") == "anything_but_an_API_key")
                #expect(echoed.header("x-functions-clientid") == "and_no_clientid")
                #expect(echoed.header("Host") == "azure.example.test")
                #expect(response.header("Via") == "2 kong/\(PluginConstants.kongVersion)")
                #expect(response.header("X-Upstream") == "function")
                #expect(Int(response.header("Content-Length") ?? "") == response.body.count)

                let posted = try await proxy.send("POST", "/", host: "body.test", body: "I'll be back")
                #expect(posted.status == 200)
                #expect(posted.text == "I'll be back")
                #expect(posted.header("X-Echo-Request") == "POST /echo-body/fn")
                #expect(ups[1].requests.isEmpty)
            }
        }
    }

    @Test("without Via in the node's headers, none is added")
    func withoutVia() async throws {
        try await withUpstreams(["function"]) { ups in
            let plugin = AzureFunctionsPlugin(connectingTo: ("127.0.0.1", ups[0].port), via: false)
            try await withProxy(Self.yaml(servicePort: ups[0].port), extraPlugins: [plugin]) { proxy in
                let response = try await proxy.send("GET", "/", host: "azure2.test")
                #expect(response.status == 200)
                #expect(response.header("Via") == nil)
            }
        }
    }

    @Test("a function that cannot be reached: 500 An unexpected error occurred")
    func unreachable() async throws {
        let dead = try await UpstreamFailureTests.deadPort()
        let plugin = AzureFunctionsPlugin(connectingTo: ("127.0.0.1", dead))
        try await withProxy(Self.yaml(servicePort: dead), extraPlugins: [plugin]) { proxy in
            let response = try await proxy.send("GET", "/", host: "azure2.test", headers: [("Accept", "application/json")])
            #expect(response.status == 500)
            #expect(response.message == "An unexpected error occurred")
        }
    }
}
