import Testing
@testable import KGateSchema

/// Kong's `spec/01-unit/18-tools_uri_spec.lua`, plus router and migration helpers.
@Suite struct PathNormalizerTests {
    /// (input, expected) without merging slashes (Kong's default in that spec).
    static let noMerge: [(String, String)] = [
        // no normalization necessary
        ("", ""), ("/", "/"), ("/a", "/a"), ("/a/", "/a/"), ("/a/b/c", "/a/b/c"), ("/a/b/c/", "/a/b/c/"),
        // reserved characters stay encoded
        ("/a%2Fb%2Fc/", "/a%2Fb%2Fc/"),
        ("/%20%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D",
         "/ %21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D"),
        // upper-cased triplets
        ("/a%2fb%2fc/", "/a%2Fb%2Fc/"), ("/f%6f%6f", "/foo"),
        // unreserved decoded
        ("/%6B%6f%6e%67", "/kong"), ("/%2E", "/"),
        // dot segments
        ("//", "//"), ("/./", "/"), ("/.", "/"), ("/..", "/"), ("/../", "/"), ("/////", "/////"),
        ("/./.././../", "/"), ("/a/b/c/./../../g", "/a/g"), ("mid/content=5/../6", "mid/6"),
        // issue #2366
        ("/endel%C3%B8st", "/endeløst"),
        // more
        ("/a/./b", "/a/b"), ("/a/../b", "/b"), ("/a/b/..", "/a/"), ("/a/%2e%2E/b", "/b"), ("/a/.b/..c", "/a/.b/..c"),
        ("/%252e", "/%252e"), ("/a//../b", "/a/b"), (".", ""), ("..", ""), ("./a", "a"), ("../a", "a"),
    ]

    @Test(arguments: noMerge)
    func normalizeWithoutMerging(_ c: (String, String)) {
        #expect(PathNormalizer.normalize(c.0, mergeSlashes: false) == c.1)
    }

    static let merge: [(String, String)] = [
        ("//", "/"), ("/////", "/"), ("/a//b//", "/a/b/"), ("/a//../b", "/b"), ("/a/b", "/a/b"), ("//a", "/a"),
    ]

    @Test(arguments: merge)
    func normalizeMergingSlashes(_ c: (String, String)) {
        #expect(PathNormalizer.normalize(c.0) == c.1)
    }

    @Test func complexURIWithBytesOutsideUTF8() {
        let input = "/%C3%A4/a/%2e./a%2E//a/%2e/./a/../a/%2e%2E/%5f%99%af%2f%2F"
        let expected: [UInt8] = Array("/ä/a./a/_".utf8) + [0x99, 0xAF] + Array("%2F%2F".utf8)
        #expect(PathNormalizer.normalize(bytes: Array(input.utf8), mergeSlashes: true) == expected)
    }

    @Test func escape() {
        let safe = "/!#$%&'()*+,/:;=?@[]ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
        #expect(PathNormalizer.escape(safe) == safe)
        #expect(PathNormalizer.escape("/a b/c d") == "/a%20b/c%20d")
        #expect(PathNormalizer.escape("/a😀") == "/a%F0%9F%98%80")
        #expect(PathNormalizer.escape("/endeløst") == "/endel%C3%B8st")
    }

    @Test(arguments: [
        ("/foo?x=1", "/foo"), ("/a//b/../c?q", "/a/c"), ("?x", "?x"), ("/", "/"), ("/%7e?", "/~"),
    ])
    func routingPath(_ c: (String, String)) {
        #expect(PathNormalizer.routingPath(c.0) == c.1)
    }

    @Test(arguments: [("", ""), (".", ""), ("..", ""), ("./a", "a"), ("../a", "a"), (".../a", ".../a"), ("a/..", "a/..")])
    func sanitizeURIPostfix(_ c: (String, String)) {
        #expect(PathNormalizer.sanitizeURIPostfix(c.0) == c.1)
    }

    /// (pre-3.0 path, migrated, changed).
    static let migrations: [(String, String, Bool)] = [
        ("/", "/", false),
        ("/foo/bar", "/foo/bar", false),
        ("/foo//bar", "/foo/bar", true),
        ("/foo/./bar/../baz", "/foo/baz", true),
        ("/%7Efoo", "/~foo", true),
        ("/foo%2Fbar", "/foo%2Fbar", false),
        ("/foo%2fbar", "/foo%2Fbar", true),
        ("/foo\n", "/foo\n", false),
        ("/users/\\d+", "~/users/\\d+", true),
        ("/users/(?<id>[^/]+)", "~/users/(?<id>[^/]+)", true),
        ("/a b", "~/a b", true),
        ("/x$%2e%2D%41%2f", "~/x$\\.\\-A%2F", true),
        ("^/foo%5C", "~^/foo\\\\", true),
    ]

    @Test(arguments: migrations)
    func migrateLegacyPath(_ c: (String, String, Bool)) {
        let r = PathNormalizer.migrateLegacyPath(c.0)
        #expect(r.path == c.1)
        #expect(r.changed == c.2)
    }

    /// nginx's `$uri`, what `hash_on: path` hashes (03-consistent-hashing_spec "hashing on
    /// #path uses the normalized path").
    @Test func nginxURI() {
        #expect(PathNormalizer.nginxURI("/root/../%2e/root///././%2F.subdir/../.subdir/./%28%29") == "/root/.subdir/()")
        #expect(PathNormalizer.nginxURI("/a/%21") == "/a/!")
        // Decoded once: an escaped percent stays a percent.
        #expect(PathNormalizer.nginxURI("/a/%2541") == "/a/%41")
    }
}
