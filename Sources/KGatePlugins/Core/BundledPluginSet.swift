import KGateSchema

/// The bundled Kong plugins kgate implements.
public enum BundledPluginSet {
    /// One value of each, with default settings; `nodeID` is the node's `kong.node.get_id()`
    /// (request-termination's echo), a random UUID when nil; `luaEnabled` is false with
    /// `untrusted_lua = off`, `luaSandboxed` false with `untrusted_lua = on`; `configuration` is
    /// `kong.configuration` for Lua code; `viaEnabled` is whether `headers` turns `Via` on
    /// (`kong.configuration.enabled_headers`).
    public static func all(
        nodeID: String? = nil, luaEnabled: Bool = true, luaSandboxed: Bool = true, viaEnabled: Bool = true,
        configuration: Object? = nil
    ) -> [any Plugin] {
        let settings = LuaNodeSettings(configuration: configuration ?? Object())
        let lua: LuaCodeMode = !luaEnabled ? .off : luaSandboxed ? .sandbox : .on
        return [
            ServerlessFunctionPlugin<PreFunction>(mode: lua, nodeID: nodeID, settings: settings),
            ServerlessFunctionPlugin<PostFunction>(mode: lua, nodeID: nodeID, settings: settings),
            KeyAuthPlugin(),
            BasicAuthPlugin(),
            LDAPAuthPlugin(),
            JWTPlugin(),
            HMACAuthPlugin(),
            ACLPlugin(),
            IPRestrictionPlugin(),
            RateLimitingPlugin(),
            ResponseRateLimitingPlugin(),
            SessionPlugin(),
            RequestTerminationPlugin(nodeID: nodeID),
            CORSPlugin(),
            CorrelationIDPlugin(),
            RequestSizeLimitingPlugin(),
            RequestTransformerPlugin(luaEnabled: luaEnabled),
            ResponseTransformerPlugin(),
            BotDetectionPlugin(),
            RedirectPlugin(),
            AzureFunctionsPlugin(via: viaEnabled),
            AWSLambdaPlugin(via: viaEnabled),
            GRPCWebPlugin(),
            GRPCGatewayPlugin(),
            ProxyCachePlugin(),
            StandardWebhooksPlugin(),
            AIProxyPlugin(),
            AIRequestTransformerPlugin(),
            AIResponseTransformerPlugin(),
            AIPromptTemplatePlugin(),
            AIPromptDecoratorPlugin(),
            AIPromptGuardPlugin(),
            FileLogPlugin(luaMode: lua),
            HTTPLogPlugin(luaMode: lua),
            TCPLogPlugin(luaMode: lua),
            UDPLogPlugin(luaMode: lua),
            SyslogPlugin(luaMode: lua),
            LogglyPlugin(luaMode: lua),
            PrometheusPlugin(),
            DatadogPlugin(),
            StatsdPlugin(),
            OpenTelemetryPlugin(nodeID: nodeID, luaEnabled: luaEnabled),
            ZipkinPlugin(nodeID: nodeID),
        ]
    }

    /// Their config schemas by name, for `EntityCatalog(pluginConfigSchemas:)`.
    public static var configSchemas: [String: Schema] { PluginRegistry(all()).configSchemas }
}
