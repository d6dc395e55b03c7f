import KGateRedis
import NIOCore
import Testing

/// RESP2 replies read from bytes as they arrive.
struct RESPValueTests {
    private func read(_ text: String) throws -> (RESPValue?, rest: Int) {
        var buffer = ByteBuffer(string: text)
        let value = try RESPValue.read(from: &buffer)
        return (value, buffer.readableBytes)
    }

    @Test func readsEachReplyType() throws {
        #expect(try read("+OK\r\n").0 == .simpleString("OK"))
        #expect(try read("-WRONGPASS invalid username-password pair\r\n").0 == .error("WRONGPASS invalid username-password pair"))
        #expect(try read(":-42\r\n").0 == .integer(-42))
        #expect(try read("$5\r\nhe\r\no\r\n").0 == .bulkString(Array("he\r\no".utf8)))
        #expect(try read("$0\r\n\r\n").0 == .bulkString([]))
        #expect(try read("$-1\r\n").0 == .bulkString(nil))
        #expect(try read("*-1\r\n").0 == .array(nil))
        #expect(try read("*3\r\n:1\r\n*1\r\n+a\r\n$1\r\nb\r\n").0 == .array([.integer(1), .array([.simpleString("a")]), .bulkString([98])]))
        #expect(RESPValue.bulkString(Array("17".utf8)).integer == 17)
        #expect(RESPValue.bulkString(nil).isNull)
    }

    @Test func waitsForTheRestWithoutConsuming() throws {
        for partial in ["", "+O", "+OK\r", ":12", "$5\r\nhel", "$5\r\nhello\r", "*2\r\n:1\r\n", "*2\r\n:1\r\n$3\r\nab"] {
            let (value, rest) = try read(partial)
            #expect(value == nil, "\(partial)")
            #expect(rest == partial.utf8.count, "\(partial)")
        }
        // Two replies in one read: one at a time.
        var buffer = ByteBuffer(string: ":1\r\n+PONG\r\n")
        #expect(try RESPValue.read(from: &buffer) == .integer(1))
        #expect(try RESPValue.read(from: &buffer) == .simpleString("PONG"))
        #expect(try RESPValue.read(from: &buffer) == nil)
    }

    @Test func refusesWhatIsNotRESP() {
        for bad in ["?x\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "+OK\rX", "$x\r\n"] {
            #expect(throws: RESPProtocolError.self, "\(bad)") { try read(bad) }
        }
    }

    @Test func writesCommandsAsArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RedisCommand("SET", "k", "héllo").write(into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nhéllo\r\n")
    }
}
