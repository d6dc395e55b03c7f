import KGateSchema

/// Why a declarative config was refused: Kong's error table plus what kgate knows of the source.
///
/// `fields` is Kong's `err_t`: for text that does not parse it is `{error = "failed parsing
/// declarative configuration: ..."}`; for invalid content it is the validation/flatten tree whose
/// array indexes are 1-based (`ErrorKey.index`). `document` is the parsed input (nil when the text
/// did not parse) so renderers can find the source position of every error.
public struct DeclarativeError: Error, Sendable {
    public var fields: ErrorNode
    public var document: SourceDocument?
    public var fileName: String?
    /// Position of a syntax error, when the text did not parse.
    public var syntaxMark: SourceMark?
    /// For reference and uniqueness errors: the input with the ids Kong generates before it checks
    /// them (`generate_ids` changes Kong's input in place), which `flattened_errors` shows as
    /// `entity.id` and `entity_id`. Nil for validation errors, found before any id is made.
    public var inputWithIDs: Object?

    public init(fields: ErrorNode, document: SourceDocument?, fileName: String?, syntaxMark: SourceMark? = nil) {
        self.fields = fields
        self.document = document
        self.fileName = fileName
        self.syntaxMark = syntaxMark
    }
}
