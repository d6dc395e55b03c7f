// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "kgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kgate", targets: ["kgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.70.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.36.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // C libraries from the system (apt: libyaml-dev, libpcre2-dev).
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        // Response compression: nginx's gzip filter (zlib) and ngx_brotli's (brotli).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CBrotli",
            pkgConfig: "libbrotlienc",
            providers: [.apt(["libbrotli-dev"])]
        ),
        // LuaJIT, for the Lua code a config carries (pre-function, post-function): Kong runs it
        // in OpenResty's LuaJIT.
        .systemLibrary(
            name: "CLuaJIT",
            pkgConfig: "luajit",
            providers: [.apt(["libluajit-5.1-dev"])]
        ),
        // OpenSSL where Kong's behaviour is OpenSSL's and BoringSSL differs: jwt's Ed448 and RSA-PSS
        // verification (BoringSSL has no Ed448 and checks PSS salts of the digest's length only),
        // and `ssl_ciphers` strings (nginx reads them with OpenSSL).
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // The schema engine: values, field definitions, validators, entity checks. Pure Swift.
        .target(
            name: "KGateSchema",
            dependencies: [
                "KGateRegex",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        // PCRE2 (JIT) regexes in Kong's dialect, shared by validation and the router.
        .target(
            name: "KGateRegex",
            dependencies: ["CPCRE2"]
        ),
        // Declarative config: YAML/JSON reading, entity schemas, the loader (flatten), error renderings.
        .target(
            name: "KGateConfig",
            dependencies: [
                "CYAML",
                "KGateSchema",
                "KGateRegex",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Node settings: kong.conf, KONG_* environment variables, flags (sources apart from types).
        .target(name: "KGateSettings", dependencies: ["KGateConfig", "KGateSchema", "KGateRegex"]),
        // Watching the config file: inotify on its directory, with a polling fallback.
        .target(name: "KGateWatch"),
        // The double-paged config store: generations, the atomic flip, events, reloads.
        .target(
            name: "KGateStore",
            dependencies: [
                "KGateConfig",
                "KGateSchema",
                "KGateWatch",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Kong's router: route matching compiled per generation (pure: no NIO).
        .target(
            name: "KGateRouter",
            dependencies: ["KGateSchema", "KGateRegex"]
        ),
        // Kong's plugin model: phases, priorities, scopes (the plugins iterator) and the bundled plugins.
        .target(
            name: "KGateRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // .proto files read as lua-protobuf's protoc does, and messages encoded and decoded from
        // Lua-shaped values as its pb does (grpc-gateway and grpc-web transcoding).
        .target(
            name: "KGateProtobuf",
            dependencies: [
                "KGateSchema",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        // A LuaJIT state per thread, its stack as Swift sees it, and values both ways.
        .target(name: "KGateLua", dependencies: ["CLuaJIT", "KGateSchema"]),
        .target(
            name: "KGatePlugins",
            dependencies: [
                "KGateLua",
                "KGateProtobuf",
                "KGateRedis",
                "KGateStore",
                "KGateConfig",
                "KGateSchema",
                "KGateRouter",
                "KGateRegex",
                "CLibCrypto",
                // session's deflated data (lua-resty-session's compression).
                "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                // jwt's RSA (RS*) signatures.
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                // http-log's requests to log servers.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The data plane: proxy listeners, upstream pools, balancing, Kong's headers and errors.
        .target(
            name: "KGateProxy",
            dependencies: [
                "KGateConfig",
                "KGateSchema",
                "KGateHTTP",
                "KGatePlugins",
                "KGateStore",
                "KGateRouter",
                "KGateSettings",
                "CZlib",
                "CBrotli",
                // `ssl_ciphers` strings, read as nginx reads them.
                "CLibCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            // The data plane is confined to event loops; the dynamic exclusivity checks of its
            // class properties cost a measurable share of the per-request CPU. Debug builds
            // (and so the tests) keep them.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // A small buffered HTTP listener for the status and admin APIs (HTTP/1.1, and HTTP/2 on
        // `http2` addresses), and the HTTP version choice the proxy shares.
        .target(
            name: "KGateHTTP",
            dependencies: [
                "KGateSettings",
                "KGateStore",
                "KGateSchema",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Kong's Admin API in DB-less mode (read-only entities, POST /config, schemas).
        .target(
            name: "KGateAdmin",
            dependencies: [
                "KGateHTTP",
                "KGateStore",
                "KGateConfig",
                "KGateSchema",
                "KGateSettings",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        // The running node: listeners (status API), reload triggers, lifecycle.
        .target(
            name: "KGateServer",
            dependencies: [
                "KGateRouter",
                "KGateHTTP",
                "KGateAdmin",
                "KGateProxy",
                "KGatePlugins",
                "KGateRedis",
                "KGateStore",
                "KGateSettings",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "KGateWatch",
                "KGateConfig",
                "KGateSchema",
            ]
        ),
        // The command line (`kgate config parse`, `kgate start`, `kgate version`, ...).
        .target(
            name: "KGateCLI",
            dependencies: [
                "KGateConfig",
                "KGatePlugins",
                "KGateRouter",
                "KGateServer",
                "KGateSettings",
                "KGateStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "kgate",
            dependencies: ["KGateCLI"]
        ),

        // Benchmarks (`make bench`): release builds only, never part of `make test`.
        .executableTarget(
            name: "kgate-bench-config",
            dependencies: ["KGateConfig", "KGatePlugins"],
            path: "Benchmarks/ConfigBench"
        ),
        .executableTarget(
            name: "kgate-bench-reload",
            path: "Benchmarks/ReloadBench"
        ),
        // The floor of a SwiftNIO proxy (a byte relay), a reference of `make bench-proxy`.
        .executableTarget(
            name: "kgate-bench-relay",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/ProxyBench/Relay"
        ),

        // Helpers shared by the live tests (a blocking loopback HTTP client).
        .target(name: "KGateTestSupport", path: "Tests/KGateTestSupport"),
        .testTarget(name: "KGateSchemaTests", dependencies: ["KGateSchema"]),
        .testTarget(
            name: "KGateConfigTests",
            dependencies: ["KGateConfig", "KGateSchema"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "KGateCLITests", dependencies: ["KGateCLI", "KGateConfig", "KGateSchema", "KGateSettings", "KGateTestSupport"]),
        .testTarget(name: "KGateRouterTests", dependencies: ["KGateRouter", "KGateSchema"]),
        .testTarget(name: "KGateLuaTests", dependencies: ["KGateLua", "KGateSchema"]),
        .testTarget(
            name: "KGateProxyTests",
            dependencies: [
                "KGateProxy", "KGateHTTP", "KGatePlugins", "KGateStore", "KGateRouter", "KGateConfig", "KGateTestSupport",
                "CZlib", "CBrotli",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "KGateAdminTests",
            dependencies: [
                "KGateAdmin", "KGateHTTP", "KGateStore", "KGateConfig", "KGateSchema", "KGateTestSupport", "KGatePlugins",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KGateRedisTests",
            dependencies: [
                "KGateRedis", "KGateTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "KGatePluginsTests",
            dependencies: [
                "KGatePlugins", "KGateStore", "KGateConfig", "KGateSchema", "KGateRouter", "KGateRedis", "KGateTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Signing the tokens the jwt tests send.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "KGateSettingsTests", dependencies: ["KGateSettings"]),
        .testTarget(name: "KGateProtobufTests", dependencies: ["KGateProtobuf", "KGateSchema"]),
        .testTarget(name: "KGateWatchTests", dependencies: ["KGateWatch", "KGateTestSupport"]),
        .testTarget(
            name: "KGateStoreTests",
            dependencies: [
                "KGateStore", "KGateConfig", "KGateSchema",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .testTarget(
            name: "KGateServerTests",
            dependencies: [
                "KGateServer", "KGateHTTP", "KGateStore", "KGateSettings", "KGateTestSupport", "KGateConfig", "KGateSchema",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
