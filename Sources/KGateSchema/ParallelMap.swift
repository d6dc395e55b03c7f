import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Maps large arrays on all cores (config loads validate and process thousands of independent
/// entities); small arrays are mapped inline.
enum ParallelMap {
    /// Below this many elements the work is not worth splitting.
    static let threshold = 128

    static let cores: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()

    /// `items.map(transform)`, in order, split into one chunk per core when large.
    static func map<T: Sendable, U: Sendable>(_ items: [T], _ transform: @Sendable (T) -> U) -> [U] {
        guard items.count >= threshold, cores > 1 else { return items.map(transform) }
        let chunks = cores
        let slots = Slots<[U]>(count: chunks)
        let size = (items.count + chunks - 1) / chunks
        items.withUnsafeBufferPointer { buffer in
            let shared = UnsafeSendableBuffer(buffer: buffer)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = chunk * size
                let end = min(items.count, start + size)
                guard start < end else { return slots.set(chunk, []) }
                slots.set(chunk, shared.buffer[start..<end].map(transform))
            }
        }
        return slots.values.flatMap { $0 ?? [] }
    }
}

/// One result slot per chunk.
///
/// `@unchecked Sendable`: each slot is written by exactly one `concurrentPerform` iteration, and
/// read only after `concurrentPerform` returned, which orders those writes before the reads.
private final class Slots<T>: @unchecked Sendable {
    var values: [T?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { values[index] = value }
}

/// A read-only view of an array's storage shared with the chunk workers.
///
/// `@unchecked Sendable`: the array is neither mutated nor freed while `concurrentPerform`
/// runs (the buffer pointer is only used inside `withUnsafeBufferPointer`), and elements are Sendable.
private struct UnsafeSendableBuffer<T: Sendable>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<T>
}
