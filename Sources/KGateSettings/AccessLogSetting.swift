/// The nginx `log_format`s kgate writes access-log lines in.
public enum AccessLogFormat: String, Sendable, Equatable, CaseIterable {
    /// nginx's predefined format: `$remote_addr - $remote_user [$time_local] "$request" $status
    /// $body_bytes_sent "$http_referer" "$http_user_agent"`. The admin and status servers' format.
    case combined
    /// Kong's proxy format: `combined` then ` kong_request_id: "$kong_request_id"`.
    case kong = "kong_log_format"
    /// Kong's stream format: `$remote_addr [$time_local] $protocol $status $bytes_sent
    /// $bytes_received $session_time`.
    case basic
}

/// An access-log property (`proxy_access_log`, `admin_access_log`, `status_access_log`): a
/// file path, optionally followed by a format name, as Kong pastes it into nginx's
/// `access_log` directive. `off` is nil.
///
/// Kong appends `kong_log_format` to a proxy log given as a path alone; a second word makes the
/// value Kong's "custom" form, where nginx reads that word as the format name (or, with an
/// `=`, as a parameter of a log in the default `combined` format).
public struct AccessLogSetting: Sendable, Equatable, CustomStringConvertible {
    /// The file, relative to `prefix` unless absolute (`/dev/stdout` included).
    public var path: String
    /// The format the value names; nil: the server's default.
    public var format: AccessLogFormat?
    /// `buffer=`, `flush=` as written (kgate writes each event-loop tick's lines at its end).
    public var parameters: [String]

    public init(path: String, format: AccessLogFormat? = nil, parameters: [String] = []) {
        self.path = path
        self.format = format
        self.parameters = parameters
    }

    /// The value as written in kong.conf.
    public var description: String {
        ([path] + (format.map { [$0.rawValue] } ?? []) + parameters).joined(separator: " ")
    }

    /// The format lines are written in, given the server's default.
    public func format(default fallback: AccessLogFormat) -> AccessLogFormat { format ?? fallback }

    /// Parses a property value; nil for `off`.
    static func parse(_ value: String, property: String) throws(InvalidValue) -> AccessLogSetting? {
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let path = words.first else {
            throw InvalidValue(ValueSyntax.invalidValue(property, value, "expected a file path or 'off'"))
        }
        if path == "off", words.count == 1 { return nil }
        var setting = AccessLogSetting(path: path)
        for (index, word) in words.dropFirst().enumerated() {
            if let equals = word.firstIndex(of: "=") {
                let name = word[..<equals]
                guard name == "buffer" || name == "flush" else {
                    throw InvalidValue(ValueSyntax.invalidValue(
                        property, value, "kgate supports the access_log parameters buffer= and flush=, not '\(name)='"))
                }
                setting.parameters.append(word)
            } else if index == 0, let format = AccessLogFormat(rawValue: word) {
                setting.format = format
            } else {
                let known = AccessLogFormat.allCases.map(\.rawValue).joined(separator: ", ")
                throw InvalidValue(
                    ValueSyntax.invalidValue(property, value, "unknown log format '\(word)'; kgate knows \(known)"))
            }
        }
        return setting
    }
}
