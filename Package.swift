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
        // The command line (`kgate config parse`, `kgate version`, ...).
        .target(
            name: "KGateCLI",
            dependencies: [
                "KGateConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "kgate",
            dependencies: ["KGateCLI"]
        ),

        // Benchmarks (`make bench`): release builds only, never part of `make test`.
        .executableTarget(
            name: "kgate-bench-config",
            dependencies: ["KGateConfig"],
            path: "Benchmarks/ConfigBench"
        ),

        .testTarget(name: "KGateSchemaTests", dependencies: ["KGateSchema"]),
        .testTarget(
            name: "KGateConfigTests",
            dependencies: ["KGateConfig", "KGateSchema"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "KGateCLITests", dependencies: ["KGateCLI", "KGateConfig"]),
    ],
    swiftLanguageModes: [.v6]
)
