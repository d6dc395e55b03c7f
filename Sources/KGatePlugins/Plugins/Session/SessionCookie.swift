import Crypto
import CryptoExtras

/// lua-resty-session 4's cookie (cookie storage), byte for byte, so that kgate and Kong nodes
/// with the same `secret` read each other's sessions.
///
/// A cookie value is `b64url(header) + b64url(ciphertext)`: an 82-byte header (type 1, flags,
/// a random 32-byte sid, creation time, rolling offset, payload size, AES-GCM tag, idling
/// offset, a 16-byte HMAC-SHA256 of the rest) then the AES-256-GCM encrypted JSON data. Keys
/// come from `SHA-256(secret)` with HKDF-SHA256 (`encryption:<sid>` gives key and IV,
/// `authentication:<sid>` the MAC key); the remember cookie's encryption key uses PBKDF2 with
/// 10,000 rounds (the library's default `Medium` safety) instead.
struct SessionCookie: Sendable {
    /// The header's fields.
    struct Header: Sendable, Equatable {
        var flags: UInt16 = 0
        var sid: [UInt8]
        var creationTime: Int
        var rollingOffset: Int
        /// The length of the payload's base64url text.
        var dataSize: Int
        var tag: [UInt8]
        var idlingOffset: Int = 0

        static let size = 82
        static let encodedSize = 110
        /// Flags: session data stored elsewhere (never for cookies), deflated.
        static let storageFlag: UInt16 = 0x0001
        static let deflateFlag: UInt16 = 0x0010

        /// The bytes covered by the AES-GCM tag (type to data size).
        var authenticatedData: [UInt8] { Array(bytes(mac: [])[0..<47]) }

        /// The 82 bytes, with `mac` in its place (or the 66 bytes before it when empty).
        func bytes(mac: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [1]
            out.reserveCapacity(Self.size)
            Self.append(Int(flags), 2, to: &out)
            out += sid
            Self.append(creationTime, 5, to: &out)
            Self.append(rollingOffset, 4, to: &out)
            Self.append(dataSize, 3, to: &out)
            out += tag
            Self.append(idlingOffset, 3, to: &out)
            out += mac
            return out
        }

        static func append(_ value: Int, _ count: Int, to out: inout [UInt8]) {
            for i in 0..<count { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
        }

        static func read(_ bytes: ArraySlice<UInt8>) -> Int {
            bytes.reversed().reduce(0) { $0 << 8 | Int($1) }
        }
    }

    /// Which cookie of a session: they differ in timeouts and key derivation.
    enum Kind: Sendable { case session, remember }

    /// The key material of a secret (`ikm`), and its HKDF pseudo-random key (extracted once, as
    /// the library caches it).
    struct Secret: Sendable {
        let ikm: [UInt8]
        private let prk: HashedAuthenticationCode<SHA256>

        init(_ secret: String) {
            ikm = Array(SHA256.hash(data: Array(secret.utf8)))
            prk = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: ikm), salt: [UInt8]())
        }

        func encryptionKey(sid: [UInt8], kind: Kind) -> (key: SymmetricKey, iv: [UInt8]) {
            let salt = Array("encryption:".utf8) + sid
            let okm: [UInt8]
            switch kind {
            case .session:
                okm = expand(info: salt, count: 44)
            case .remember:
                let key = try? KDF.Insecure.PBKDF2.deriveKey(
                    from: ikm, salt: salt, using: .sha256, outputByteCount: 44, unsafeUncheckedRounds: 10_000)
                okm = key.map { $0.withUnsafeBytes { Array($0) } } ?? []
            }
            return (SymmetricKey(data: okm.prefix(32)), Array(okm.suffix(12)))
        }

        func mac(_ header: [UInt8], sid: [UInt8]) -> [UInt8] {
            let key = SymmetricKey(data: expand(info: Array("authentication:".utf8) + sid, count: 32))
            return Array(Array(HMAC<SHA256>.authenticationCode(for: header, using: key)).prefix(16))
        }

        private func expand(info: [UInt8], count: Int) -> [UInt8] {
            HKDF<SHA256>.expand(pseudoRandomKey: prk, info: info, outputByteCount: count).withUnsafeBytes { Array($0) }
        }
    }

    /// What the timeouts allow (0: no limit).
    struct Timeouts: Sendable {
        var idling: Int
        var rolling: Int
        var absolute: Int
    }

    /// Why a cookie is not a session (lua-resty-session's messages, for the debug log).
    struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        var description: String
    }

    var header: Header
    /// The decrypted JSON data.
    var data: [UInt8]
    /// The first cookie's payload text (re-sent by a touch).
    var initialChunk: String
    /// How many cookies the session spans.
    var chunks: Int

    // MARK: Reading

    /// Reads the cookie `name` (and its chunks `name2`...) of the `Cookie` fields as
    /// lua-resty-session's `open` does, timeouts first, then the MAC, then decryption.
    static func open(
        name: String, cookies: [String], secret: Secret, kind: Kind, timeouts: Timeouts, now: Int
    ) -> Result<SessionCookie, Failure> {
        guard let value = NginxCookie.value(name, in: cookies) else { return .failure(Failure(description: "missing session cookie")) }
        let text = Array(value.utf8)
        guard text.count >= Header.encodedSize else { return .failure(Failure(description: "invalid session header")) }
        guard let raw = Base64.decode(text[0..<Header.encodedSize], url: true), raw.count == Header.size else {
            return .failure(Failure(description: "unable to base64url decode session header"))
        }
        switch parseHeader(raw, kind: kind, timeouts: timeouts, now: now) {
        case .failure(let failure): return .failure(failure)
        case .success(let header):
            guard secret.mac(Array(raw[0..<66]), sid: header.sid) == Array(raw[66..<82]) else {
                return .failure(Failure(description: "invalid session message authentication code"))
            }
            let chunks: Int
            switch chunkCount(nameLength: name.utf8.count, dataSize: header.dataSize) {
            case .failure(let failure): return .failure(failure)
            case .success(let n): chunks = n
            }
            var payload: String
            let initialChunk: String
            if chunks == 1 {
                payload = String(decoding: text.suffix(header.dataSize), as: UTF8.self)
                initialChunk = payload
            } else {
                initialChunk = String(decoding: text[Header.encodedSize...], as: UTF8.self)
                payload = initialChunk
                for i in 2...chunks {
                    guard let part = NginxCookie.value(name + String(i), in: cookies) else {
                        return .failure(Failure(description: "missing session cookie chunk"))
                    }
                    payload += part
                }
            }
            guard payload.utf8.count == header.dataSize, let ciphertext = Base64.decode(Array(payload.utf8), url: true) else {
                return .failure(Failure(description: "invalid session payload"))
            }
            let (key, iv) = secret.encryptionKey(sid: header.sid, kind: kind)
            guard let nonce = try? AES.GCM.Nonce(data: iv),
                let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: header.tag),
                let plain = try? AES.GCM.open(box, using: key, authenticating: header.authenticatedData)
            else { return .failure(Failure(description: "unable to decrypt session data")) }
            var data = Array(plain)
            if header.flags & Header.deflateFlag != 0 {
                guard let inflated = RawDeflate.inflate(data) else {
                    return .failure(Failure(description: "unable to inflate session data"))
                }
                data = inflated
            }
            return .success(SessionCookie(header: header, data: data, initialChunk: initialChunk, chunks: chunks))
        }
    }

    /// The header checks of `open`, in lua-resty-session's order.
    private static func parseHeader(_ raw: [UInt8], kind: Kind, timeouts: Timeouts, now: Int) -> Result<Header, Failure> {
        func fail(_ text: String) -> Result<Header, Failure> { .failure(Failure(description: text)) }
        let remember = kind == .remember ? " remember" : ""
        guard raw[0] == 1 else { return fail("invalid session cookie type") }
        let flags = UInt16(Header.read(raw[1..<3]))
        guard flags & Header.storageFlag == 0 else { return fail("invalid session flags") }
        let creation = Header.read(raw[35..<40])
        guard now - creation <= 0xFFFF_FFFF else { return fail("session lifetime exceeded") }
        if timeouts.absolute != 0, now - creation > timeouts.absolute { return fail("session\(remember) absolute timeout exceeded") }
        let rolling = Header.read(raw[40..<44])
        if timeouts.rolling != 0, now - creation - rolling > timeouts.rolling { return fail("session\(remember) rolling timeout exceeded") }
        let idling = Header.read(raw[63..<66])
        if kind == .remember {
            guard idling == 0 else { return fail("invalid session idling offset") }
        } else if timeouts.idling != 0, now - creation - rolling - idling > timeouts.idling {
            return fail("session idling timeout exceeded")
        }
        return .success(
            Header(
                flags: flags, sid: Array(raw[3..<35]), creationTime: creation, rollingOffset: rolling,
                dataSize: Header.read(raw[44..<47]), tag: Array(raw[47..<63]), idlingOffset: idling))
    }

    /// How many cookies a payload spans (4 KiB each, at most 9 and 36 KiB).
    static func chunkCount(nameLength n: Int, dataSize: Int) -> Result<Int, Failure> {
        var need = n + 1 + Header.encodedSize + dataSize
        let limit = Failure(description: "cookie size limit exceeded")
        guard need <= 36864 else { return .failure(limit) }
        if need <= 4096 { return .success(1) }
        for i in 2...9 {
            need += n + 2
            guard need <= 36864 else { return .failure(limit) }
            if need <= 4096 * i { return .success(i) }
        }
        return .failure(limit)
    }

    // MARK: Writing

    /// lua-resty-session's default `compression_threshold` (bytes of JSON data).
    static let compressionThreshold = 1024

    /// A new cookie for `data`: a new sid, keeping `creationTime` (the rolling offset is the time
    /// since), the payload split into `name`, `name2`... Returns the cookie values by name.
    static func seal(
        _ data: [UInt8], name: String, secret: Secret, kind: Kind, creationTime: Int, now: Int
    ) -> Result<(cookie: SessionCookie, values: [(name: String, value: String)]), Failure> {
        var g = SystemRandomNumberGenerator()
        let sid = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        let (key, iv) = secret.encryptionKey(sid: sid, kind: kind)
        // lua-resty-session deflates data over `compression_threshold` (1 KiB, which Kong's
        // plugin leaves as it is) when that makes it smaller.
        var sealed = data
        var flags: UInt16 = 0
        if data.count > compressionThreshold, let deflated = RawDeflate.deflate(data), deflated.count < data.count {
            sealed = deflated
            flags |= Header.deflateFlag
        }
        var header = Header(
            flags: flags, sid: sid, creationTime: creationTime, rollingOffset: now - creationTime,
            dataSize: (sealed.count * 4 + 2) / 3, tag: [])
        guard let nonce = try? AES.GCM.Nonce(data: iv),
            let box = try? AES.GCM.seal(sealed, using: key, nonce: nonce, authenticating: header.authenticatedData)
        else { return .failure(Failure(description: "unable to encrypt session data")) }
        header.tag = Array(box.tag)
        let payload = Base64.encode(Array(box.ciphertext), url: true)
        let chunks: Int
        switch chunkCount(nameLength: name.utf8.count, dataSize: header.dataSize) {
        case .failure(let failure): return .failure(failure)
        case .success(let n): chunks = n
        }
        let head = encodedHeader(header, secret: secret)
        var values: [(name: String, value: String)] = []
        var rest = Substring(payload)
        let first = 4096 - Header.encodedSize - name.utf8.count - 1
        let initialChunk = chunks == 1 ? rest : rest.prefix(first)
        values.append((name, head + initialChunk))
        rest = rest.dropFirst(initialChunk.count)
        if chunks > 1 {
            for i in 2...chunks {
                let part = i == chunks ? rest : rest.prefix(4096 - name.utf8.count - 2)
                values.append((name + String(i), String(part)))
                rest = rest.dropFirst(part.count)
            }
        }
        let cookie = SessionCookie(header: header, data: data, initialChunk: String(initialChunk), chunks: chunks)
        return .success((cookie, values))
    }

    /// The header's 110 characters, with its MAC.
    static func encodedHeader(_ header: Header, secret: Secret) -> String {
        let unsigned = header.bytes(mac: [])
        return Base64.encode(header.bytes(mac: secret.mac(Array(unsigned[0..<66]), sid: header.sid)), url: true)
    }
}
