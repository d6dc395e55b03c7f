// swift-tools-version: 6.2
import PackageDescription

// The proxy benchmark's gateway (`make bench-proxy`), a package of its own so that it is never
// part of `swift test` or the main build, and builds whatever state other modules' tests are in.
//
// The root package exports no library product (only the `kgate` executable), so this package
// compiles the proxy's sources and those it depends on itself: every directory under `Sources`
// except `ProxyBenchServer` is a symlink to the root package's. `ProxyBenchServer` serves a
// kong.yml the way `kgate start` will (run.sh prefers `kgate start` once it serves the proxy).
let package = Package(
    name: "ProxyBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.70.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
    ],
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .target(name: "KGateRegex", dependencies: ["CPCRE2"]),
        .target(
            name: "KGateSchema",
            dependencies: ["KGateRegex", .product(name: "OrderedCollections", package: "swift-collections")]),
        .target(
            name: "KGateConfig",
            dependencies: [
                "CYAML", "KGateSchema", "KGateRegex",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]),
        .target(name: "KGateSettings"),
        .target(name: "KGateWatch"),
        .target(
            name: "KGateStore",
            dependencies: [
                "KGateConfig", "KGateSchema", "KGateWatch",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "KGateRouter", dependencies: ["KGateSchema", "KGateRegex"]),
        .target(
            name: "KGateProxy",
            dependencies: [
                "KGateStore", "KGateRouter", "KGateSettings",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "ProxyBenchServer",
            dependencies: [
                "KGateProxy", "KGateStore", "KGateConfig", "KGateSettings",
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
