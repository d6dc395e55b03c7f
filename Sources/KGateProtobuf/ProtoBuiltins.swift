/// Minimal stand-ins (written for kgate) for the well-known .proto files a gRPC service commonly
/// imports; used only when an import is not found on disk. They declare the types' shapes
/// (names, field names and numbers), which is all encoding and decoding need.
enum ProtoBuiltins {
    static let files: [String: String] = [
        "google/protobuf/timestamp.proto": """
            syntax = "proto3";
            package google.protobuf;
            // Seconds and nanoseconds since the Unix epoch, UTC.
            message Timestamp {
              int64 seconds = 1;
              int32 nanos = 2;
            }
            """,
        "google/protobuf/duration.proto": """
            syntax = "proto3";
            package google.protobuf;
            // A signed span of time.
            message Duration {
              int64 seconds = 1;
              int32 nanos = 2;
            }
            """,
        "google/protobuf/empty.proto": """
            syntax = "proto3";
            package google.protobuf;
            // No fields.
            message Empty {}
            """,
        "google/protobuf/wrappers.proto": """
            syntax = "proto3";
            package google.protobuf;
            // Boxed scalars.
            message DoubleValue { double value = 1; }
            message FloatValue { float value = 1; }
            message Int64Value { int64 value = 1; }
            message UInt64Value { uint64 value = 1; }
            message Int32Value { int32 value = 1; }
            message UInt32Value { uint32 value = 1; }
            message BoolValue { bool value = 1; }
            message StringValue { string value = 1; }
            message BytesValue { bytes value = 1; }
            """,
        "google/protobuf/struct.proto": """
            syntax = "proto3";
            package google.protobuf;
            // JSON-like dynamic values.
            message Struct {
              map<string, Value> fields = 1;
            }
            message Value {
              oneof kind {
                NullValue null_value = 1;
                double number_value = 2;
                string string_value = 3;
                bool bool_value = 4;
                Struct struct_value = 5;
                ListValue list_value = 6;
              }
            }
            enum NullValue {
              NULL_VALUE = 0;
            }
            message ListValue {
              repeated Value values = 1;
            }
            """,
        "google/protobuf/any.proto": """
            syntax = "proto3";
            package google.protobuf;
            // A type URL and the serialized message.
            message Any {
              string type_url = 1;
              bytes value = 2;
            }
            """,
        "google/protobuf/field_mask.proto": """
            syntax = "proto3";
            package google.protobuf;
            // A set of field paths.
            message FieldMask {
              repeated string paths = 1;
            }
            """,
        "google/protobuf/descriptor.proto": """
            syntax = "proto2";
            package google.protobuf;
            // Only the option messages, as targets for `extend`.
            message FileOptions { extensions 1000 to max; }
            message MessageOptions { extensions 1000 to max; }
            message FieldOptions { extensions 1000 to max; }
            message OneofOptions { extensions 1000 to max; }
            message EnumOptions { extensions 1000 to max; }
            message EnumValueOptions { extensions 1000 to max; }
            message ServiceOptions { extensions 1000 to max; }
            message MethodOptions { extensions 1000 to max; }
            message ExtensionRangeOptions { extensions 1000 to max; }
            """,
        "google/api/http.proto": """
            syntax = "proto3";
            package google.api;
            // An HTTP binding of an rpc.
            message Http {
              repeated HttpRule rules = 1;
              bool fully_decode_reserved_expansion = 2;
            }
            message HttpRule {
              string selector = 1;
              oneof pattern {
                string get = 2;
                string put = 3;
                string post = 4;
                string delete = 5;
                string patch = 6;
                CustomHttpPattern custom = 8;
              }
              string body = 7;
              string response_body = 12;
              repeated HttpRule additional_bindings = 11;
            }
            message CustomHttpPattern {
              string kind = 1;
              string path = 2;
            }
            """,
        "google/api/annotations.proto": """
            syntax = "proto3";
            package google.api;
            import "google/api/http.proto";
            import "google/protobuf/descriptor.proto";
            // The `(google.api.http)` rpc option.
            extend google.protobuf.MethodOptions {
              HttpRule http = 72295728;
            }
            """,
    ]
}
