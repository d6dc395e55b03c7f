import Glibc

/// Which directories inotify must watch, and which entry names in each matter, for one config path.
///
/// inotify cannot usefully watch the file itself (a rename or delete-and-recreate replaces the
/// inode), so it watches the directory and filters by name. Symlinks are followed hop by hop:
///
/// - `/etc/kong/kong.yml` (a plain file) → `/etc/kong`: `kong.yml`.
/// - Kubernetes ConfigMap, `kong.yml -> ..data/kong.yml` and `..data -> ..2024_05_01_…` (replaced
///   by renaming `..data_tmp` over it) → `/etc/kong`: `kong.yml`, `..data`; `/etc/kong/..data`
///   (inotify resolves it to the current timestamped directory): `kong.yml`.
/// - `kong.yml -> /srv/conf/real.yml` → `/etc/kong`: `kong.yml`; `/srv/conf`: `real.yml`.
///
/// `..data` is always a name of interest in the first directory, so a ConfigMap that appears later
/// is noticed too. Symlinked directories in the middle of an absolute target are not followed (use
/// polling for such layouts); the plan is recomputed after every relevant event.
package struct WatchPlan: Equatable, Sendable {
    /// Directory → entry names whose changes matter.
    package var names: [String: Set<String>]

    /// The most symlink hops followed (the kernel allows 40; real layouts use one or two).
    package static let maximumHops = 8

    /// Computes the plan for `path`, following symlinks with `readLink` (nil: not a symlink).
    package init(path: String, readLink: (String) -> String? = WatchPlan.readLink) {
        var names: [String: Set<String>] = [:]
        var current = path
        for hop in 0...Self.maximumHops {
            let (directory, name) = Self.split(current)
            names[directory, default: []].insert(name)
            if hop == 0 { names[directory, default: []].insert("..data") }
            guard hop < Self.maximumHops, let target = readLink(current), !target.isEmpty else { break }
            if target.hasPrefix("/") {
                current = target
            } else {
                if let first = target.split(separator: "/").first, first != ".", first != ".." {
                    names[directory, default: []].insert(String(first))
                }
                current = (directory == "/" ? "" : directory) + "/" + target
            }
        }
        self.names = names
    }

    /// Splits a path into its directory and last component (`"kong.yml"` → `(".", "kong.yml")`).
    package static func split(_ path: String) -> (directory: String, name: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return (".", String(trimmed)) }
        let directory = trimmed[..<slash]
        return (directory.isEmpty ? "/" : String(directory), String(trimmed[trimmed.index(after: slash)...]))
    }

    /// `readlink(2)`; nil when `path` is not a symlink (or cannot be read).
    package static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { Glibc.readlink(path, $0.baseAddress!, Int(PATH_MAX)) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Makes `path` absolute against the current directory (so a later `chdir` cannot move it).
    package static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let base = String(cString: cwd)
        return (base == "/" ? "" : base) + "/" + path
    }
}
