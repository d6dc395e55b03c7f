import CLibCrypto

/// A public key loaded by OpenSSL's libcrypto, for the jwt signatures swift-crypto (BoringSSL)
/// does not verify as Kong does: Ed448 (`EdDSA`), and RSA-PSS (`PS*`), whose salt length
/// OpenSSL reads from the signature (`RSA_PSS_SALTLEN_AUTO`, Kong's verify default), so tokens
/// signed with the longest salt (PyJWT, for one) verify as they do under Kong.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never changed after `init` and each verification
/// makes its own `EVP_MD_CTX`; OpenSSL allows concurrent verifications with one key.
final class OpenSSLPublicKey: @unchecked Sendable {
    /// The digests of the `PS*` algorithms.
    enum Digest {
        case sha256, sha384, sha512

        fileprivate var md: OpaquePointer? {
            switch self {
            case .sha256: return EVP_sha256()
            case .sha384: return EVP_sha384()
            case .sha512: return EVP_sha512()
            }
        }
    }

    private let key: OpaquePointer

    /// The key of a `PUBLIC KEY` PEM (SubjectPublicKeyInfo); nil when OpenSSL cannot read it.
    init?(pem: String) {
        let loaded: OpaquePointer? = Array(pem.utf8).withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        ERR_clear_error()
        guard let loaded else { return nil }
        key = loaded
    }

    deinit { EVP_PKEY_free(key) }

    /// An Ed448 key (`EdDSA` with a key of that curve).
    var isEd448: Bool { EVP_PKEY_get_base_id(key) == NID_ED448 }

    /// An RSA key (`PS*`).
    var isRSA: Bool { EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA }

    /// Whether `signature` is the key's RSA-PSS signature (MGF1 with the same digest, any salt
    /// length) of `input` hashed with `digest`.
    func verifiesPSS(_ signature: [UInt8], of input: [UInt8], digest: Digest) -> Bool {
        guard isRSA else { return false }
        return verify(signature, of: input, md: digest.md) { pctx in
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1
        }
    }

    /// Whether `signature` is the key's EdDSA signature of `input` (pure Ed448).
    func verifiesEdDSA(_ signature: [UInt8], of input: [UInt8]) -> Bool {
        guard isEd448 else { return false }
        return verify(signature, of: input, md: nil) { _ in true }
    }

    private func verify(
        _ signature: [UInt8], of input: [UInt8], md: OpaquePointer?, configure: (OpaquePointer?) -> Bool
    ) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(ctx)
            ERR_clear_error()
        }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, md, nil, key) == 1, configure(pctx) else { return false }
        return signature.withUnsafeBufferPointer { sig in
            input.withUnsafeBufferPointer { data in
                EVP_DigestVerify(ctx, sig.baseAddress, sig.count, data.baseAddress, data.count) == 1
            }
        }
    }
}
