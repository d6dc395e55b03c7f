#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Writes a message head straight into a `ByteBuffer`'s memory: one capacity check for the
/// whole head, then plain copies (a `ByteBuffer` write per header line costs more than the
/// copy itself). The caller reserves an upper bound of the head's size.
struct HeadWriter {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0

    init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress!
        capacity = memory.count
    }

    @inline(__always)
    private mutating func copy(_ source: UnsafeRawPointer, _ length: Int) {
        precondition(count + length <= capacity, "head larger than its reserved bound")
        memcpy(base + count, source, length)
        count += length
    }

    @inline(__always)
    mutating func write(_ s: StaticString) {
        copy(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount)
    }

    @inline(__always)
    mutating func write(_ s: String) {
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ copy(UnsafeRawPointer($0.baseAddress!), $0.count) }) {
            return done
        }
        for b in s.utf8 { write(byte: b) }
    }

    @inline(__always)
    mutating func write(_ s: Substring) {
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ copy(UnsafeRawPointer($0.baseAddress!), $0.count) }) {
            return done
        }
        for b in s.utf8 { write(byte: b) }
    }

    @inline(__always)
    mutating func write(byte: UInt8) {
        precondition(count < capacity, "head larger than its reserved bound")
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Bytes of `buffer` at `offset` (relative to its reader index).
    @inline(__always)
    mutating func write(_ buffer: ByteBuffer, offset: Int, length: Int) {
        buffer.withUnsafeReadableBytes { raw in copy(raw.baseAddress! + offset, length) }
    }

    /// A header line of `head` as received, without its line end; a line that had no colon
    /// gets one (`name: `), as nginx sends it.
    @inline(__always)
    mutating func line(of field: HeaderField, in head: borrowing MessageHead) {
        let start = Int(field.nameStart)
        write(head.buffer, offset: start, length: Int(field.valueStart) + Int(field.valueLength) - start)
        if field.isBare { write(": ") }
    }

    /// A non-negative decimal number.
    mutating func write(decimal n: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = max(n, 0)
        var i = 20
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                i -= 1
                d[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
            } while v > 0
            copy(UnsafeRawPointer(d.baseAddress! + i), 20 - i)
        }
    }

    /// `name: value\r\n`.
    @inline(__always)
    mutating func header(_ name: StaticString, _ value: String) {
        write(name)
        write(value)
        write("\r\n")
    }

    /// `name: value\r\n`.
    @inline(__always)
    mutating func header(_ name: StaticString, _ value: Substring) {
        write(name)
        write(value)
        write("\r\n")
    }

    /// A request id's 32 hex digits.
    @inline(__always)
    mutating func write(_ id: RequestID) {
        id.withHexDigits { copy(UnsafeRawPointer($0.baseAddress!), 32) }
    }

    /// The number of bytes `write(decimal:)` needs at most.
    static let decimalBound = 20
}

extension ByteBuffer {
    /// Writes at most `bound` bytes through a `HeadWriter`.
    mutating func writeHead(bound: Int, _ body: (inout HeadWriter) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory in
            var writer = HeadWriter(memory)
            body(&writer)
            return writer.count
        }
    }
}
