// swift-tools-version: 6.1
import PackageDescription

// The router benchmark (`make bench-router`), a package of its own so that it is never part of
// `swift test` or the main build.
//
// The root package exports no library product (only the `kgate` executable), so this package
// compiles the router's sources itself: `Sources/KGateRouter`, `KGateSchema`, `KGateRegex` and
// `CPCRE2` are symlinks to the root package's directories. Allocations are counted by
// `CMallocCounter`, a malloc interposer linked into the executable (ordo-one/benchmark 1.38.1
// needs ordo-one/swift-runtime-interposer on Linux with Swift 6.3, which is not available offline).
let package = Package(
    name: "RouterBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0")
    ],
    targets: [
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .target(name: "KGateRegex", dependencies: ["CPCRE2"]),
        .target(
            name: "KGateSchema",
            dependencies: ["KGateRegex", .product(name: "OrderedCollections", package: "swift-collections")]),
        .target(name: "KGateRouter", dependencies: ["KGateSchema", "KGateRegex"]),
        .target(name: "CMallocCounter"),
        .executableTarget(
            name: "RouterBench",
            dependencies: ["KGateRouter", "KGateSchema", "CMallocCounter"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
