/// OpenResty's request-independent `ngx` functions (`ngx.re`, encodings, time) and the
/// `cjson` module, for ``LuaPDK``.
enum LuaNgxLibrary {
    static let functions: [(name: String, function: LuaPDK.Function)] = []
}
