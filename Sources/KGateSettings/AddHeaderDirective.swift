/// One nginx `add_header` directive, as Kong injects `nginx_http_add_header`,
/// `nginx_proxy_add_header` and `nginx_location_add_header` (`add_header <value>;`) into the
/// http block, the proxy server block and its `location /`.
public struct AddHeaderDirective: Sendable, Hashable {
    /// The header name, sent as written.
    public var name: String
    /// The value; nginx adds no header for an empty one.
    public var value: String
    /// `always`: added whatever the status, not only to 200, 201, 204, 206, 301, 302, 303, 304,
    /// 307 and 308.
    public var always: Bool

    /// Makes a directive.
    public init(name: String, value: String, always: Bool = false) {
        self.name = name
        self.value = value
        self.always = always
    }

    /// Whether nginx's headers filter adds it to a response of this status.
    public func applies(toStatus status: Int) -> Bool {
        always || Self.statuses.contains(status)
    }

    /// The statuses `add_header` without `always` is for (nginx's headers filter).
    static let statuses: Set<Int> = [200, 201, 204, 206, 301, 302, 303, 304, 307, 308]

    /// The directive's arguments as kong.conf spells them.
    var text: String {
        [name, NginxArguments.quoted(value)].joined(separator: " ") + (always ? " always" : "")
    }

    /// Parses a property's value: the arguments of one `add_header`, or of several joined by
    /// `;` whose later ones start with `add_header` (Kong writes the value into the nginx
    /// configuration as it is). Empty: none. Refused as nginx would refuse it (argument count,
    /// a third argument other than `always`), and for what kgate cannot honour: another
    /// directive, or a value with nginx variables (`$name`), which kgate does not evaluate.
    static func parseList(_ text: String, property: String) throws(InvalidValue) -> [AddHeaderDirective] {
        func refuse(_ detail: String) -> InvalidValue {
            InvalidValue(ValueSyntax.invalidValue(property, text, detail))
        }
        guard !text.isEmpty else { return [] }
        let statements: [[String]]
        switch NginxArguments.statements(text) {
        case .success(let s): statements = s
        case .failure(let failure): throw refuse(failure.detail)
        }
        var directives: [AddHeaderDirective] = []
        for (index, statement) in statements.enumerated() {
            var arguments = statement[...]
            if index > 0 {
                guard arguments.first == "add_header" else {
                    throw refuse("kgate only reads add_header directives here, not \"\(arguments.first ?? "")\"")
                }
                arguments = arguments.dropFirst()
            }
            guard arguments.count == 2 || arguments.count == 3 else {
                throw refuse("invalid number of arguments in \"add_header\" directive")
            }
            let name = arguments[arguments.startIndex]
            let value = arguments[arguments.startIndex + 1]
            if arguments.count == 3, arguments.last != "always" {
                throw refuse("invalid parameter \"\(arguments.last!)\"")
            }
            guard ValueSyntax.isHeaderName(name) else {
                throw refuse("\"\(name)\" is not a header name")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw refuse("a header value cannot hold CR, LF or NUL")
            }
            guard !value.contains("$") else {
                throw refuse("kgate does not evaluate nginx variables in add_header values")
            }
            directives.append(AddHeaderDirective(name: name, value: value, always: arguments.count == 3))
        }
        return directives
    }
}

/// nginx's configuration tokenizer (`ngx_conf_read_token`) for directive arguments given in a
/// kong.conf value: arguments separated by whitespace, statements by `;`, `"` and `'` quoting,
/// `\` escaping the next character, `#` starting a comment.
enum NginxArguments {
    /// Why a text is not a list of statements, in nginx's words.
    struct Failure: Error {
        var detail: String
    }

    /// The statements of a text (the last needs no `;`, which Kong adds).
    static func statements(_ text: String) -> Result<[[String]], Failure> {
        var statements: [[String]] = []
        var words: [String] = []
        var bytes = Array(text.utf8)[...]
        while let c = bytes.first {
            switch c {
            case 0x20, 0x09, 0x0D, 0x0A:
                bytes = bytes.dropFirst()
            case UInt8(ascii: ";"):
                guard !words.isEmpty else { return .failure(Failure(detail: "unexpected \";\"")) }
                statements.append(words)
                words = []
                bytes = bytes.dropFirst()
            case UInt8(ascii: "{"), UInt8(ascii: "}"):
                return .failure(Failure(detail: "unexpected \"\(Character(Unicode.Scalar(c)))\""))
            case UInt8(ascii: "#"):
                bytes = bytes.drop(while: { $0 != 0x0A })
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                switch quotedWord(&bytes, quote: c) {
                case .success(let word): words.append(word)
                case .failure(let failure): return .failure(failure)
                }
            default:
                words.append(bareWord(&bytes))
            }
        }
        if !words.isEmpty { statements.append(words) }
        return .success(statements)
    }

    /// A word in quotes, from its opening quote; a closing quote must end the word.
    private static func quotedWord(_ bytes: inout ArraySlice<UInt8>, quote: UInt8) -> Result<String, Failure> {
        var out: [UInt8] = []
        var rest = bytes.dropFirst()
        while let c = rest.first {
            rest = rest.dropFirst()
            if c == UInt8(ascii: "\\"), let next = rest.first {
                rest = rest.dropFirst()
                out += unescaped(next)
            } else if c == quote {
                if let after = rest.first, ![0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: ";")].contains(after) {
                    return .failure(Failure(detail: "unexpected \"\(Character(Unicode.Scalar(after)))\""))
                }
                bytes = rest
                return .success(String(decoding: out, as: UTF8.self))
            } else {
                out.append(c)
            }
        }
        return .failure(Failure(detail: "unexpected end of value, expecting a closing quote"))
    }

    /// A word without quotes: up to whitespace, `;`, `{` or `}`.
    private static func bareWord(_ bytes: inout ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        while let c = bytes.first, ![0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: ";"), UInt8(ascii: "{"), UInt8(ascii: "}")].contains(c) {
            bytes = bytes.dropFirst()
            if c == UInt8(ascii: "\\"), let next = bytes.first {
                bytes = bytes.dropFirst()
                out += unescaped(next)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What `\` and a character stand for in nginx's configuration.
    private static func unescaped(_ c: UInt8) -> [UInt8] {
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"): return [c]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "n"): return [0x0A]
        default: return [UInt8(ascii: "\\"), c]
        }
    }

    /// A word as nginx reads it back: in double quotes when it holds whitespace, quotes, `;`,
    /// braces or `#`, or is empty.
    static func quoted(_ word: String) -> String {
        let special: Set<Character> = [" ", "\t", "\"", "'", ";", "{", "}", "#", "\\"]
        guard word.isEmpty || word.contains(where: special.contains) else { return word }
        var out = "\""
        for c in word {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }
}
