/// What a run follows, as the state file records it: the journal's location and filter, and the file
/// globs. A restart compares its own source set with the state's: a source the state does not know is
/// new, and its history must not be counted as if it had just happened.
public struct SourceSet: Codable, Sendable, Equatable {
    /// The journal's location and filter. Units, identifiers and journal files are kept sorted and
    /// without repeats, so the same filter given in another order compares equal.
    public struct JournalFilter: Codable, Sendable, Equatable {
        /// `local`, `directory` or `files`.
        public var location: String
        /// The directory (one) or the journal files; empty for the local journal.
        public var paths: [String]
        public var units: [String]
        public var identifiers: [String]

        public init(_ configuration: JournalSource.Configuration) {
            switch configuration.location {
            case .local: (location, paths) = ("local", [])
            case let .directory(d): (location, paths) = ("directory", [d])
            case let .files(f): (location, paths) = ("files", Array(Set(f)).sorted())
            }
            units = Array(Set(configuration.units)).sorted()
            identifiers = Array(Set(configuration.identifiers)).sorted()
        }

        /// The location as the start line names it.
        var locationText: String {
            switch location {
            case "directory": Journal.Location.directory(paths.joined()).text
            case "files": Journal.Location.files(paths).text
            default: Journal.Location.local.text
            }
        }
    }

    public var journal: JournalFilter?
    /// The `--file` globs, as given.
    public var globs: [String]

    public init(journal: JournalSource.Configuration?, globs: [String]) {
        self.journal = journal.map(JournalFilter.init)
        self.globs = globs
    }

    /// How this run's sources differ from those of a saved state.
    public struct Changes: Sendable, Equatable {
        /// The journal is followed and the state's journal position belongs to another location or
        /// filter (or the state followed no journal): the saved cursor and pids do not apply.
        public var journal = false
        /// What is new about the journal, for the start message (`identifier x`, `unit y`, a location);
        /// empty when `journal` is false.
        public var journalItems: [String] = []
        /// Globs of this run that the state does not have, in the order given.
        public var newGlobs: [String] = []

        public var isEmpty: Bool { !journal && newGlobs.isEmpty }
    }

    /// What is new in this source set (this run's) compared with `saved` (the state's). A state without a
    /// source set (written by an older version) is taken to have this run's sources: nothing is new.
    /// Sources the state has and this run does not are not changes (they are no longer read).
    public func changes(since saved: SourceSet?) -> Changes {
        guard let saved else { return Changes() }
        var changes = Changes()
        changes.newGlobs = globs.filter { !saved.globs.contains($0) }
        if let journal, journal != saved.journal {
            changes.journal = true
            let before = saved.journal
            if before?.location != journal.location || before?.paths != journal.paths { changes.journalItems.append(journal.locationText) }
            changes.journalItems += journal.units.filter { !(before?.units.contains($0) ?? false) }.map { "unit \($0)" }
            changes.journalItems += journal.identifiers.filter { !(before?.identifiers.contains($0) ?? false) }.map { "identifier \($0)" }
            if changes.journalItems.isEmpty {
                // Only narrowed (a unit or identifier fewer): still another filter than the saved position's.
                var filter = [journal.locationText]
                if !journal.units.isEmpty { filter.append("units \(journal.units.joined(separator: ", "))") }
                if !journal.identifiers.isEmpty { filter.append("identifiers \(journal.identifiers.joined(separator: ", "))") }
                changes.journalItems.append("journal filter now \(filter.joined(separator: ", "))")
            }
        }
        return changes
    }
}
