import Glibc
import KGateWatch
import Testing

@Suite struct WatchPlanTests {
    @Test(arguments: [
        ("/etc/kong/kong.yml", "/etc/kong", "kong.yml"),
        ("/kong.yml", "/", "kong.yml"),
        ("kong.yml", ".", "kong.yml"),
        ("conf/kong.yml", "conf", "kong.yml"),
    ])
    func splitsPaths(path: String, directory: String, name: String) {
        #expect(WatchPlan.split(path) == (directory, name))
    }

    @Test func aPlainFileWatchesItsDirectory() {
        let plan = WatchPlan(path: "/etc/kong/kong.yml") { _ in nil }
        #expect(plan.names == ["/etc/kong": ["kong.yml", "..data"]])
    }

    @Test func aConfigMapWatchesTheDataSymlinkAndTheCurrentDataDirectory() {
        let links = ["/etc/kong/kong.yml": "..data/kong.yml"]
        let plan = WatchPlan(path: "/etc/kong/kong.yml") { links[$0] }
        #expect(plan.names == [
            "/etc/kong": ["kong.yml", "..data"],
            "/etc/kong/..data": ["kong.yml"],
        ])
    }

    @Test func anAbsoluteSymlinkAlsoWatchesTheTargetDirectory() {
        let links = ["/etc/kong/kong.yml": "/srv/conf/real.yml", "/srv/conf/real.yml": "v2/real.yml"]
        let plan = WatchPlan(path: "/etc/kong/kong.yml") { links[$0] }
        #expect(plan.names == [
            "/etc/kong": ["kong.yml", "..data"],
            "/srv/conf": ["real.yml", "v2"],
            "/srv/conf/v2": ["real.yml"],
        ])
    }

    @Test func aSymlinkLoopIsBounded() {
        let links = ["/c/a": "b", "/c/b": "a"]
        let plan = WatchPlan(path: "/c/a") { links[$0] }
        #expect(plan.names == ["/c": ["a", "b", "..data"]])
    }

    @Test func relativePathsBecomeAbsolute() {
        #expect(WatchPlan.absolute("/x/kong.yml") == "/x/kong.yml")
        #expect(WatchPlan.absolute("kong.yml").hasPrefix("/"))
        #expect(WatchPlan.absolute("kong.yml").hasSuffix("/kong.yml"))
    }
}

@Suite struct FileReaderTests {
    @Test func readsARegularFileThroughASymlink() async throws {
        try await TemporaryDirectory.with { directory in
            let text = String(repeating: "0123456789abcdef", count: 10_000)  // several read chunks
            directory.write("real.yml", text)
            directory.symlink("kong.yml", to: "real.yml")
            #expect(FileReader.read(directory.path("kong.yml")) == .content(Array(text.utf8)))
            directory.write("empty.yml", "")
            #expect(FileReader.read(directory.path("empty.yml")) == .content([]))
        }
    }

    @Test func missingDirectoriesAndFIFOsAreUnreadableWithoutBlocking() async throws {
        try await TemporaryDirectory.with { directory in
            guard case .unreadable(let missing) = FileReader.read(directory.path("nope.yml")) else {
                Issue.record("missing file read")
                return
            }
            #expect(missing.contains("No such file or directory"))
            directory.makeDirectory("dir.yml")
            #expect(FileReader.read(directory.path("dir.yml")) == .unreadable(
                reason: "cannot read \(directory.path("dir.yml")): not a regular file"))
            #expect(mkfifo(directory.path("fifo.yml"), 0o644) == 0)
            #expect(FileReader.read(directory.path("fifo.yml")) == .unreadable(
                reason: "cannot read \(directory.path("fifo.yml")): not a regular file"))
        }
    }
}
