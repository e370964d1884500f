import RealmMetricsCore

/// Says when the journal filter, or one value of it, matches no entry in the whole journal (a misspelt
/// unit or identifier would otherwise give zeros that look true), and when entries arrive after all.
///
/// - The filter as a whole (warning key `journal-filter`): checked after the first read. When no entry
///   in the journal matches it, the warning names the values no entry has at all; it ends as soon as an
///   entry is read.
/// - Each value on its own (key `journal-filter:FIELD=value`) when the filter has several, except those
///   in `alternatives` (values of which a host has only some, such as the default units): checked once
///   the filter as a whole matches. A value no entry has is a warning until an entry has it (checked
///   again by ``recheckValues()`` when entries were read since the last check).
///
/// The journal is searched with a handle of its own (``JournalSource/hasEntries(_:)``); a search that
/// fails raises no warning. Use on the thread that owns `source`.
final class JournalFilterCheck {
    static let key = "journal-filter"

    let source: JournalSource
    let alternatives: Set<JournalSource.Match>
    let warn: (_ key: String, _ message: String) -> Void
    let clear: (_ key: String, _ recovery: String) -> Void
    private var started = false
    private var filterUnmatched = false
    private var unmatchedValues: Set<JournalSource.Match> = []
    private var entriesAtLastCheck: Int64 = 0

    init(source: JournalSource, alternatives: Set<JournalSource.Match>, warn: @escaping (String, String) -> Void, clear: @escaping (String, String) -> Void) {
        self.source = source
        self.alternatives = alternatives
        self.warn = warn
        self.clear = clear
    }

    private var configuration: JournalSource.Configuration { source.configuration }

    /// After each read of the journal: the first time, checks the filter; later, ends its warning once
    /// entries were read.
    func afterRead() {
        if !started {
            started = true
            checkFilter(entriesRead: source.entriesRead > 0)
        } else if filterUnmatched && source.entriesRead > entriesAtLastCheck {
            checkFilter(entriesRead: true)
        }
    }

    /// Searches again for the values still without entries, when entries were read since the last check.
    func recheckValues() {
        guard !filterUnmatched, !unmatchedValues.isEmpty, source.entriesRead > entriesAtLastCheck else { return }
        entriesAtLastCheck = source.entriesRead
        checkValues(unmatchedValues.sorted { $0.text < $1.text })
    }

    private func checkFilter(entriesRead: Bool) {
        entriesAtLastCheck = source.entriesRead
        let matches = configuration.matches
        guard !matches.isEmpty else { return }
        let matched = entriesRead || ((try? source.hasEntries([matches]))?.first ?? true)
        if !matched {
            filterUnmatched = true
            var message = "no entry in \(configuration.locationText) matches \(configuration.filterText): nothing is counted until one arrives"
            if let found = try? source.hasEntries(matches.map { [$0] }) {
                let none = zip(matches, found).filter { !$0.1 }.map { $0.0.text }
                if !none.isEmpty { message += "; no entry at all has \(none.joined(separator: ", "))" }
            }
            warn(Self.key, message)
            return
        }
        if filterUnmatched {
            filterUnmatched = false
            clear(Self.key, "journal: entries matching \(configuration.filterText) arrive now")
        }
        if matches.count > 1 { checkValues(matches.filter { !alternatives.contains($0) }) }
    }

    private func checkValues(_ values: [JournalSource.Match]) {
        guard !values.isEmpty, let found = try? source.hasEntries(values.map { [$0] }) else { return }
        for (match, has) in zip(values, found) {
            if has {
                if unmatchedValues.remove(match) != nil {
                    clear("\(Self.key):\(match.text)", "journal: entries with \(match.text) arrive now")
                }
            } else if unmatchedValues.insert(match).inserted {
                warn("\(Self.key):\(match.text)", "no entry in \(configuration.locationText) has \(match.text) (\(match.option)): nothing of it is counted; is the name right?")
            }
        }
    }
}
