import Foundation
import Logging
import Testing

@testable import KGateServer

@Suite("The error log file in nginx's format")
struct ErrorLogFileTests {
    /// Runs `body` with a new directory, removed afterwards.
    private func inTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "kgate-errorlog-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    @Test("lines are appended as nginx writes them, creating the directories on the way")
    func lines() throws {
        try inTemporaryDirectory { dir in
            let path = dir + "/prefix/logs/error.log"
            let file = try ErrorLogFile(path: path)
            var logger = Logger(label: "kgate") { _ in ErrorLogHandler(file: file, level: .info) }
            logger[metadataKey: "node"] = "n1"
            logger.error("upstream failed", metadata: ["b": "2", "a": "1"])
            logger.warning("careful")
            logger.debug("not written below info")
            logger.critical("down")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            let pid = getpid()
            let stamp = #/\d{4}/\d\d/\d\d \d\d:\d\d:\d\d /#
            #expect(lines[0].prefixMatch(of: stamp) != nil)
            #expect(lines[0].hasSuffix(" [error] \(pid)#0: upstream failed, a: 1, b: 2, node: n1"))
            #expect(lines[1].hasSuffix(" [warn] \(pid)#0: careful, node: n1"))
            #expect(lines[2].hasSuffix(" [crit] \(pid)#0: down, node: n1"))
        }
    }

    @Test("a file emptied by someone else is written from its new start")
    func truncated() throws {
        try inTemporaryDirectory { dir in
            let path = dir + "/error.log"
            let file = try ErrorLogFile(path: path)
            file.write(level: .notice, message: String(repeating: "x", count: 200), metadata: [:])
            try "".write(toFile: path, atomically: false, encoding: .utf8)
            file.write(level: .notice, message: "after", metadata: [:])
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.hasSuffix("[notice] \(getpid())#0: after\n"))
            #expect(!text.contains("x"))
            #expect(text.utf8.first != 0)
        }
    }

    @Test("reopen: after log rotation moved the file, lines go to a new file at the path")
    func reopen() throws {
        try inTemporaryDirectory { dir in
            let path = dir + "/error.log"
            let file = try ErrorLogFile(path: path)
            file.write(level: .notice, message: "before", metadata: [:])
            try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
            file.write(level: .notice, message: "still the old file", metadata: [:])
            try file.reopen()
            file.write(level: .notice, message: "after", metadata: [:])
            let old = try String(contentsOfFile: path + ".1", encoding: .utf8)
            #expect(old.contains("before") && old.contains("still the old file") && !old.contains("after"))
            #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("#0: after\n"))
        }
    }

    @Test("a path that cannot be opened is a clear error")
    func unopenable() throws {
        try inTemporaryDirectory { dir in
            try "".write(toFile: dir + "/file", atomically: false, encoding: .utf8)
            #expect(throws: ErrorLogFileError.self) { try ErrorLogFile(path: dir + "/file/error.log") }
            do throws(ErrorLogFileError) {
                _ = try ErrorLogFile(path: dir + "/file/error.log")
            } catch {
                #expect(error.description == "could not open the error log \(dir)/file/error.log: Not a directory")
            }
        }
    }

    @Test("swift-log levels are nginx's level names")
    func levels() {
        #expect(ErrorLogFile.nginxLevel(.trace) == "debug")
        #expect(ErrorLogFile.nginxLevel(.info) == "info")
        #expect(ErrorLogFile.nginxLevel(.notice) == "notice")
        #expect(ErrorLogFile.nginxLevel(.warning) == "warn")
        #expect(ErrorLogFile.nginxLevel(.critical) == "crit")
    }
}
