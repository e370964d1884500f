#if canImport(Glibc)
import Glibc
#endif

extension FileTailer {
    /// The regular files that `globs` name now, sorted and without repeats.
    public static func regularFiles(matching globs: [String]) -> [String] {
        expand(globs).paths
    }

    /// The files a tailer over `globs` follows at their names: the regular files they name, without
    /// rotated names of another of them (`w.log.1` beside `w.log`) and compressed ones.
    public static func followedFiles(matching globs: [String]) -> [String] {
        let all = expand(globs).paths
        return all.filter { !isCompressedName($0) && !isRotatedName($0, among: all) }
    }

    /// A glob that names exactly `path`: its `*`, `?`, `[` and `\` escaped.
    public static func literalGlob(_ path: String) -> String {
        var out = ""
        for c in path {
            if c == "*" || c == "?" || c == "[" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
