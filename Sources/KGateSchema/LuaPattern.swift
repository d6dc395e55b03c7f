/// Lua 5.1 patterns (`string.find` / `string.match`), the dialect of Kong's `match*` validators.
public enum LuaPattern {
    /// Whether `pattern` matches anywhere in `subject` (Lua's `subject:match(pattern) ~= nil`).
    public static func matches(_ subject: String, _ pattern: String) -> Bool {
        subject.contains(pattern)  // placeholder until the real matcher lands
    }
}
