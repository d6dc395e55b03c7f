/// Minimal DER reading for what Kong asks OpenSSL about certificates and keys: structure,
/// the public key, `notAfter`, the CA basic constraint. Also PEM block splitting as
/// `PEM_read_bio` does it, and the error OpenSSL's `d2i_*_bio` fallback leaves behind.
enum DER {
    /// One TLV: identifier byte, where its content is, where it ends.
    struct Node {
        var tag: UInt8
        var content: Range<Int>
        var range: Range<Int>
        var constructed: Bool { tag & 0x20 != 0 }
    }

    /// Reads one definite-length TLV at `offset` within `limit`.
    static func node(_ bytes: [UInt8], at offset: Int, limit: Int? = nil) -> Node? {
        let end = limit ?? bytes.count
        var i = offset
        guard i < end else { return nil }
        let tag = bytes[i]
        i += 1
        if tag & 0x1F == 0x1F {
            // High tag number: base-128 continuation bytes.
            var count = 0
            while true {
                guard i < end, count < 4 else { return nil }
                let b = bytes[i]
                i += 1
                count += 1
                if b & 0x80 == 0 { break }
            }
        }
        guard i < end else { return nil }
        let first = bytes[i]
        i += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let n = Int(first & 0x7F)
            guard n >= 1, n <= 4, i + n <= end else { return nil }
            for _ in 0..<n {
                length = length << 8 | Int(bytes[i])
                i += 1
            }
        }
        guard length <= end - i else { return nil }
        return Node(tag: tag, content: i..<(i + length), range: offset..<(i + length))
    }

    /// The TLVs that exactly fill `range`, or nil when they do not.
    static func children(_ bytes: [UInt8], _ range: Range<Int>) -> [Node]? {
        var out: [Node] = []
        var i = range.lowerBound
        while i < range.upperBound {
            guard let n = node(bytes, at: i, limit: range.upperBound) else { return nil }
            out.append(n)
            i = n.range.upperBound
        }
        return out
    }

    /// Whether every constructed TLV below `node` parses (a structural sanity check).
    static func wellFormed(_ bytes: [UInt8], _ node: Node, depth: Int = 0) -> Bool {
        guard node.constructed else { return true }
        guard depth < 32, let kids = children(bytes, node.content) else { return false }
        return kids.allSatisfy { wellFormed(bytes, $0, depth: depth + 1) }
    }

    /// A SEQUENCE at the start of `bytes` whose children parse, and the children.
    static func sequence(_ bytes: [UInt8], _ node: Node?) -> [Node]? {
        guard let node, node.tag == 0x30 else { return nil }
        return children(bytes, node.content)
    }

    /// An INTEGER's magnitude bytes without leading zeros.
    static func integer(_ bytes: [UInt8], _ node: Node) -> [UInt8]? {
        guard node.tag == 0x02 else { return nil }
        return Array(bytes[node.content].drop(while: { $0 == 0 }))
    }

    // MARK: - OpenSSL's error for input that is neither a PEM block nor DER

    static let nestedError = "error:688010A:asn1 encoding routines:asn1_item_embed_d2i:nested asn1 error:asn1/tasn_dec.c:349:"
    static let notEnoughData = "error:680008E:asn1 encoding routines:asn1_d2i_read_bio:not enough data:asn1/a_d2i_fp.c:218:"
    static let headerTooLong = "error:680007B:asn1 encoding routines:ASN1_get_object:header too long:asn1/asn1_lib.c:105:"

    /// What `d2i_X509_bio` (the fallback after `PEM_read_bio_X509` fails) leaves as last error
    /// for `text`: the header is read first (`asn1_d2i_read_bio`), then the content is decoded.
    static func d2iError(_ text: [UInt8]) -> String {
        var i = 0
        guard i < text.count else { return headerTooLong }
        let tag = text[i]
        i += 1
        if tag & 0x1F == 0x1F {
            while true {
                guard i < text.count else { return headerTooLong }
                let b = text[i]
                i += 1
                if b & 0x80 == 0 { break }
            }
        }
        guard i < text.count else { return headerTooLong }
        let first = text[i]
        i += 1
        var length = 0
        if first == 0x80 {
            return nestedError
        } else if first > 0x80 {
            let n = Int(first & 0x7F)
            guard n <= 8 else { return nestedError }
            guard i + n <= text.count else { return headerTooLong }
            for _ in 0..<n {
                length = length &<< 8 | Int(text[i])
                i += 1
            }
        } else {
            length = Int(first)
        }
        if length < 0 || length > text.count - i { return notEnoughData }
        return nestedError
    }
}

/// One `-----BEGIN <name>-----` block.
struct PEMBlock {
    var name: String
    /// The decoded body; nil when the base64 is bad or the END line is missing.
    var der: [UInt8]?
    /// `Proc-Type: 4,ENCRYPTED` and similar headers (OpenSSL would ask for a passphrase).
    var encrypted: Bool

    /// The blocks of `text` in order, as `PEM_read_bio` walks them.
    static func all(in text: String) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            var l = Substring(line)
            while let last = l.last, last == " " || last == "\t" || last == "\r" { l = l.dropLast() }
            return l
        }[...]
        while let line = lines.popFirst() {
            guard line.hasPrefix("-----BEGIN "), line.hasSuffix("-----"), line.count > 16 else { continue }
            let name = String(line.dropFirst(11).dropLast(5))
            var body = ""
            var encrypted = false
            var ended = false
            while let inner = lines.popFirst() {
                if inner.hasPrefix("-----END ") {
                    ended = inner == "-----END \(name)-----"
                    break
                }
                if inner.contains(":") {
                    if inner.contains("ENCRYPTED") { encrypted = true }
                    continue
                }
                body += inner
            }
            blocks.append(PEMBlock(name: name, der: ended ? Base64.decode(body) : nil, encrypted: encrypted))
        }
        return blocks
    }
}

/// Strict standard base64 (whitespace ignored), as OpenSSL's PEM decoder accepts it.
public enum Base64 {
    /// The bytes; nil when the text is not base64 (`url`: the URL-safe alphabet, unpadded).
    public static func decode(_ text: String, url: Bool = false) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for c in text.utf8 {
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { continue }
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let v = value(c, url: url) else { return nil }
            values.append(v)
        }
        guard padding <= 2, values.count % 4 != 1 else { return nil }
        if !url, padding > 0, (values.count + padding) % 4 != 0 { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append(values[i + 2] << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }

    private static func value(_ c: UInt8, url: Bool) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+") where !url, UInt8(ascii: "-") where url: return 62
        case UInt8(ascii: "/") where !url, UInt8(ascii: "_") where url: return 63
        default: return nil
        }
    }
}
