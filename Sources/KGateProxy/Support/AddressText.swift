import KGateSchema
import NIOCore

extension SocketAddress {
    /// The IP of an IPv4 or IPv6 socket address as it is (an IPv4-mapped IPv6 address stays
    /// IPv6, as nginx prints it), without making its text; nil for a Unix socket.
    var ip: IPAddress? {
        switch self {
        case .v4(let a):
            return .v4(UInt32(bigEndian: a.address.sin_addr.s_addr))
        case .v6(let a):
            var value: UInt128 = 0
            withUnsafeBytes(of: a.address.sin6_addr) { for b in $0 { value = value << 8 | UInt128(b) } }
            return .v6(value)
        case .unixDomainSocket:
            return nil
        }
    }
}
