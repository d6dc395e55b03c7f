import NIOCore

extension SocketAddress {
    /// The address as text (`$remote_addr`): IPv4 formatted in place (at most 15 bytes, a
    /// small string: no allocation); IPv6 through SwiftNIO (`inet_ntop`, which formats
    /// with `sprintf`). Empty for Unix sockets.
    var addressText: String {
        guard case .v4(let v4) = self else { return ipAddress ?? "" }
        let octets = UInt32(bigEndian: v4.address.sin_addr.s_addr)
        return String(unsafeUninitializedCapacity: 15) { out in
            var n = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = Int((octets >> UInt32(shift)) & 0xFF)
                if octet >= 100 { out[n] = UInt8(ascii: "0") + UInt8(octet / 100); n += 1 }
                if octet >= 10 { out[n] = UInt8(ascii: "0") + UInt8(octet / 10 % 10); n += 1 }
                out[n] = UInt8(ascii: "0") + UInt8(octet % 10)
                n += 1
                if shift > 0 { out[n] = UInt8(ascii: "."); n += 1 }
            }
            return n
        }
    }
}
