/// A position in a configuration file: 1-based line and 1-based column.
///
/// Columns count Unicode scalars (characters as libyaml counts them), not bytes.
public struct SourceMark: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column number.
    public var column: Int

    /// Creates a mark from 1-based line and column numbers.
    @inlinable public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`, the form used in parser messages (`3:5`).
    public var description: String { "\(line):\(column)" }

    /// Orders marks by position in the file.
    @inlinable public static func < (a: SourceMark, b: SourceMark) -> Bool {
        a.line != b.line ? a.line < b.line : a.column < b.column
    }
}
