import Foundation
import NIOSSL
import Testing

@testable import KGateProxy

@Suite("OpenSSL's reason for an upstream certificate that did not verify")
struct CertificateVerifyErrorTests {
    private func certificate(_ pem: String) throws -> NIOSSLCertificate {
        try #require(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)).first)
    }

    @Test("where chain building stopped: the upstream's own certificate, a CA, a self-signed one")
    func missingIssuer() throws {
        let leaf = try certificate(TestCertificates.serverPEM)
        #expect(CertificateVerifyError.classify(leaf, verifiedAbove: 0) == .firstUnverifiable)
        let intermediate = try certificate(TestCertificates.chainIntermediatePEM)
        #expect(CertificateVerifyError.classify(intermediate, verifiedAbove: 0) == .issuerUnknown)
        let root = try certificate(TestCertificates.chainRootPEM)
        #expect(CertificateVerifyError.classify(root, verifiedAbove: 0) == .selfSigned)
        // Below a verified issuer the reason is not a missing issuer: not told.
        #expect(CertificateVerifyError.classify(leaf, verifiedAbove: 1) == nil)
    }

    @Test("validity is checked first, at the moment of the handshake")
    func validity() throws {
        let leaf = try certificate(TestCertificates.serverPEM)
        #expect(CertificateVerifyError.classify(leaf, verifiedAbove: 0, now: Date(timeIntervalSince1970: 0)) == .notYetValid)
        let farFuture = Date(timeIntervalSince1970: 4_102_444_800 * 10)
        #expect(CertificateVerifyError.classify(leaf, verifiedAbove: 1, now: farFuture) == .expired)
    }

    @Test("printed as nginx prints OpenSSL's verify result")
    func text() {
        #expect("\(CertificateVerifyError.firstUnverifiable)" == "21:unable to verify the first certificate")
        #expect("\(CertificateVerifyError.selfSigned)" == "18:self-signed certificate")
        #expect("\(CertificateVerifyError.chainTooLong)" == "22:certificate chain too long")
    }
}
