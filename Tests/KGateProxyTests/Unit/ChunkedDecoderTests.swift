import NIOCore
import Testing

@testable import KGateProxy

@Suite("Chunked bodies")
struct ChunkedDecoderTests {
    private func feed(_ pieces: [String]) -> (result: ChunkedDecoder.Result, data: String) {
        var decoder = ChunkedDecoder()
        var data = ""
        var last = ChunkedDecoder.Result.needMore
        for piece in pieces {
            let bytes = Array(piece.utf8)
            last = bytes.withUnsafeBytes { raw in
                decoder.feed(raw) { range in data += String(decoding: raw[range], as: UTF8.self) }
            }
            if case .done = last { break }
            if case .error = last { break }
        }
        return (last, data)
    }

    @Test("whole bodies, extensions, trailers, bare LF")
    func valid() {
        #expect(feed(["5\r\nhello\r\n0\r\n\r\n"]).result == .done(consumed: 15))
        #expect(feed(["5\r\nhello\r\n0\r\n\r\n"]).data == "hello")
        #expect(feed(["3;ext=1\r\nabc\r\n0\r\nX-T: v\r\n\r\nNEXT"]).result == .done(consumed: 27))
        #expect(feed(["a\nhelloworld\n0\n\n"]).data == "helloworld")
        #expect(feed(["A\r\n0123456789\r\n0\r\n\r\n"]).data == "0123456789")
    }

    @Test("split anywhere")
    func split() {
        let body = "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
        for cut in 1..<body.utf8.count {
            let bytes = Array(body.utf8)
            let a = String(decoding: bytes[..<cut], as: UTF8.self)
            let b = String(decoding: bytes[cut...], as: UTF8.self)
            let (result, data) = feed([a, b])
            #expect(data == "wikipedia")
            if case .done = result {} else { Issue.record("not done at cut \(cut): \(result)") }
        }
    }

    @Test("malformed", arguments: ["x\r\n", "5\r\nhelloX\r\n", "\r\n", "1234567890123456\r\n", "5\rX"])
    func malformed(_ text: String) {
        #expect(feed([text]).result == .error)
    }

    @Test("body tracker: lengths and the next message")
    func tracker() {
        var t = BodyTracker(.length(5))
        let first = t.take(ByteBuffer(string: "abc"))
        #expect(first == 3)
        #expect(!t.isComplete)
        let second = t.take(ByteBuffer(string: "deGET /"))
        #expect(second == 2)
        #expect(t.isComplete)
        var c = BodyTracker(.chunked)
        let chunked = c.take(ByteBuffer(string: "1\r\na\r\n0\r\n\r\nGET"))
        #expect(chunked == 11)
        #expect(c.isComplete)
        #expect(BodyTracker(.none).isComplete)
        var u = BodyTracker(.untilClose)
        let all = u.take(ByteBuffer(string: "abc"))
        #expect(all == 3)
        let ended = u.closed()
        #expect(ended)
    }
}
