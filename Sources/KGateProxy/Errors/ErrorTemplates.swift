import KGateSettings
import NIOCore

/// The custom error page templates (`error_template_*`), one per body format; nil keeps Kong's
/// built-in template (``ErrorBody``).
public struct ErrorTemplates: Sendable, Hashable {
    /// `error_template_html`.
    public var html: ErrorTemplate?
    /// `error_template_json`.
    public var json: ErrorTemplate?
    /// `error_template_xml`.
    public var xml: ErrorTemplate?
    /// `error_template_plain`.
    public var plain: ErrorTemplate?

    /// Creates the set; every template defaults to Kong's built-in one.
    public init(
        html: ErrorTemplate? = nil, json: ErrorTemplate? = nil, xml: ErrorTemplate? = nil, plain: ErrorTemplate? = nil
    ) {
        self.html = html
        self.json = json
        self.xml = xml
        self.plain = plain
    }

    /// The custom template of a body format (`get_error_template`: none for gRPC, nor for the
    /// `{"message":…}` table of gRPC clients over HTTP/1).
    func template(for format: ErrorFormat) -> ErrorTemplate? {
        switch format {
        case .html: html
        case .json: json
        case .xml: xml
        case .plain: plain
        case .grpc, .messageTable: nil
        }
    }
}

extension ErrorTemplate {
    /// The length of the body `write` produces.
    func renderedLength(message: String, requestID: String) -> Int {
        var length = 0
        for part in parts {
            switch part {
            case .text(let bytes): length += bytes.count
            case .message: length += message.utf8.count
            case .requestID: length += requestID.utf8.count
            }
        }
        return length
    }

    /// Writes the body: Kong's `string.format(template, message, request_id)`.
    func write(message: String, requestID: String, into out: inout ByteBuffer) {
        for part in parts {
            switch part {
            case .text(let bytes): out.writeBytes(bytes)
            case .message: out.writeString(message)
            case .requestID: out.writeString(requestID)
            }
        }
    }
}
