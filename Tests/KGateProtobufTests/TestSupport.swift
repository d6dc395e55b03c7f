import KGateSchema

@testable import KGateProtobuf

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh temporary directory.
func makeTempDir() -> String {
    var template = Array("/tmp/kgate-proto-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: path!)
}

/// Writes `text` to `dir/name`, creating subdirectories as needed.
func writeFile(_ dir: String, _ name: String, _ text: String) {
    var path = dir
    for component in name.split(separator: "/").dropLast() {
        path += "/" + component
        mkdir(path, 0o755)
    }
    let f = fopen(dir + "/" + name, "w")!
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

func varint(_ value: UInt64) -> [UInt8] {
    var v = value
    var out: [UInt8] = []
    while v >= 0x80 {
        out.append(UInt8(v & 0x7F) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
    return out
}

func varint(_ value: Int64) -> [UInt8] { varint(UInt64(bitPattern: value)) }

/// The error a throwing call produced, or nil.
func protoError<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch let error as ProtoError {
        return error.description
    } catch {
        return "unexpected error: \(error)"
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }.joined(separator: " ")
}

func bytes(_ hexText: String) -> [UInt8] {
    hexText.split(separator: " ").map { UInt8($0, radix: 16)! }
}
