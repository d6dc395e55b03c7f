import OrderedCollections

/// One rpc of a loaded .proto file, as Kong's `each_method` hands it to the grpc plugins.
public struct ProtoMethod: Sendable {
    /// The package of the file that declares the service, "" if none.
    public var package: String
    /// The service name, unqualified.
    public var service: String
    /// The rpc name.
    public var name: String
    /// The request message: a full name with a leading dot (".pkg.Msg").
    public var inputType: String
    /// The response message: a full name with a leading dot.
    public var outputType: String
    public var clientStreaming: Bool
    public var serverStreaming: Bool
    /// The rpc's options as protoc.lua reads them: `option (google.api.http) = {...};` is stored
    /// under "google.api.http" (parentheses removed); a repeated option keeps its last value.
    public var options: [String: ProtoOptionValue]

    public init(
        package: String, service: String, name: String, inputType: String, outputType: String,
        clientStreaming: Bool, serverStreaming: Bool, options: [String: ProtoOptionValue]
    ) {
        self.package = package
        self.service = service
        self.name = name
        self.inputType = inputType
        self.outputType = outputType
        self.clientStreaming = clientStreaming
        self.serverStreaming = serverStreaming
        self.options = options
    }
}

/// An option constant as protoc.lua's `Lexer:constant` reads it.
public indirect enum ProtoOptionValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    /// A bare identifier (an enum value name, `inf`, `nan`, ...).
    case identifier(String)
    /// `{ key: value  key2 { ... } }`: a repeated key keeps its LAST value, at the position where
    /// the key was first seen. Extension keys keep their brackets (`"[ext.name]"`).
    case structure(OrderedDictionary<String, ProtoOptionValue>)
    case array([ProtoOptionValue])
}

/// A failure to load a .proto file, or to encode or decode a message.
public struct ProtoError: Error, CustomStringConvertible, Sendable {
    /// Parse errors read `"<file>:<line>:<column>: <message>"`.
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
