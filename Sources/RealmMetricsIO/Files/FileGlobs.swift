#if canImport(Glibc)
import Glibc
#endif

extension FileTailer {
    /// The regular files that `globs` name now, sorted and without repeats: the files a tailer over
    /// these globs follows.
    public static func regularFiles(matching globs: [String]) -> [String] {
        var out = Set<String>()
        for pattern in globs {
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(pattern, 0, nil, &g) == 0 else { continue }
            for i in 0..<Int(g.gl_pathc) {
                guard let p = g.gl_pathv[i] else { continue }
                let path = String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
                var st = stat()
                if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { out.insert(path) }
            }
        }
        return out.sorted()
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
