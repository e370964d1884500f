import Testing
@testable import RealmMetricsCore

@Suite("Pattern file loading and errors")
struct PatternLoaderTests {
    func loadError(_ files: [String: String], load: String = "main.yaml") -> PatternFileError? {
        do {
            _ = try patternSet(files, load: load)
            return nil
        } catch {
            return error as? PatternFileError
        }
    }

    @Test("an unknown key is refused with file, line and column")
    func unknownKey() {
        let e = loadError(["main.yaml": "rules:\n  - name: a\n    match: 'x'\n    action: []\n"])
        #expect(e?.description.hasPrefix("main.yaml:4:5: ") == true)
        #expect(e?.message.contains("unknown key 'action'") == true)
    }

    @Test("a bad regex names the rule and the position")
    func badRegex() {
        let e = loadError(["main.yaml": "rules:\n  - name: a\n    match: 'x(('\n    actions: []\n"])
        #expect(e?.line == 3)
        #expect(e?.column == 12)
        #expect(e?.message.contains("rule 'a' 'match': bad regex") == true)
    }

    @Test("invalid YAML is reported with its position")
    func invalidYAML() {
        let e = loadError(["main.yaml": "rules:\n  - name: a\n   match: [\n"])
        #expect(e != nil)
        #expect(e?.message.hasPrefix("invalid YAML") == true)
        #expect((e?.line ?? 0) >= 2)
    }

    @Test("include loops are refused and named")
    func includeLoop() {
        let e = loadError(["main.yaml": "include: b.yaml\n", "b.yaml": "include: main.yaml\n"])
        #expect(e?.file == "b.yaml")
        #expect(e?.message == "include loop: main.yaml → b.yaml → main.yaml")
    }

    @Test("duplicate rule names across includes are refused")
    func duplicateRules() {
        let rule = "rules:\n  - name: same\n    match: 'x'\n    actions: []\n"
        let e = loadError(["main.yaml": "include: b.yaml\n" + rule, "b.yaml": rule])
        #expect(e?.message.contains("duplicate rule name 'same'") == true)
    }

    @Test("a template or amount naming a capture the regex lacks is refused")
    func unknownCapture() {
        let e1 = loadError(["main.yaml": "rules:\n  - name: a\n    match: '(?<x>\\\\d+)'\n    actions:\n      - count: 'n.{y}'\n"])
        #expect(e1?.message.contains("'{y}' in 'n.{y}' is not a named capture") == true)
        let e2 = loadError(["main.yaml": "rules:\n  - name: a\n    match: '(?<x>\\\\d+)'\n    actions:\n      - add: g\n        by: z\n"])
        #expect(e2?.message.contains("no capture named 'z'") == true)
    }

    @Test("metric names must be clean dotted paths")
    func badMetricName() {
        let e = loadError(["main.yaml": "rules:\n  - name: a\n    match: 'x'\n    actions:\n      - count: 'a..b'\n"])
        #expect(e?.message.contains("metric name 'a..b'") == true)
    }

    @Test("an envelope needs a message group")
    func envelopeNeedsMessage() {
        let e = loadError(["main.yaml": "envelope:\n  match: '^(?<time>\\\\S+) '\n"])
        #expect(e?.message.contains("(?<message>") == true)
    }

    @Test("defines expand, unknown defines are refused")
    func defines() throws {
        let set = try patternSet(["main.yaml": "define: {N: '(?<n>\\d+)'}\nrules:\n  - name: a\n    match: '^x %{N}'\n    actions: [{count: c, by: n}]\n"])
        #expect(set.rules[0].regex.source == "^x (?<n>\\d+)")
        let e = loadError(["main.yaml": "rules:\n  - name: a\n    match: '%{NOPE}'\n    actions: []\n"])
        #expect(e?.message.contains("unknown define %{NOPE}") == true)
    }

    @Test("an outer envelope strips a wrapper before the included file's envelope runs")
    func envelopeChain() throws {
        let inner = """
            envelope:
              match: '^(?:(?<level>ERROR): )?(?<message>.*)'
            rules:
              - name: hit
                match: '^hello (?<n>\\d+)'
                actions: [{count: hits, by: n}]
            """
        let outer = """
            include: inner.yaml
            envelope:
              match: '^\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ \\S+\\[\\d+\\]: (?<message>.*)'
            """
        let set = try patternSet(["inner.yaml": inner, "main.yaml": outer])
        #expect(set.envelopes.count == 2)
        let p = LinePipeline(patterns: set)
        #expect(feed(p, ["Mar  1 10:00:00 host sync[42]: ERROR: hello 5"]) == [.matched(rule: 0)])
        #expect(p.lastParts.lineLevel == .error)
        #expect(feed(p, ["hello 5"]) == [.envelopeMismatch])
        #expect(counter(p.store, "hits") == 5)
    }
}

@Suite("Metric descriptions (metrics:)")
struct MetricHelpTests {
    @Test("descriptions are kept, by the name a rule writes or its tags' base; the file named wins over its includes")
    func kept() throws {
        let set = try patternSet([
            "main.yaml": """
                include: [inc.yaml]
                metrics: {a.b: Mine.}
                rules:
                  - name: r
                    match: '^x(?<v>\\\\d+)'
                    actions: [{count: 'p.{v}.used', tags: 'p.used,version={v}'}]
                """,
            "inc.yaml": """
                metrics: {a.b: Theirs., p.used: Per version.}
                rules:
                  - name: s
                    match: '^y'
                    actions: [{count: a.b}]
                """,
        ])
        #expect(set.help["a.b"] == "Mine.")
        #expect(set.help["p.used"] == "Per version.")
        #expect(PipelineChain(patternSets: [set]).help(for: "p.used") == "Per version.")
    }

    @Test("a description of a metric no rule feeds is an error at its place")
    func unknown() throws {
        #expect {
            _ = try patternSet(["main.yaml": """
                rules:
                  - name: s
                    match: '^y'
                    actions: [{count: a.b}]
                metrics:
                  a.c: Typo.
                """])
        } throws: { error in
            guard let e = error as? PatternFileError else { return false }
            return e.line == 6 && e.message.contains("no rule of this set feeds a metric 'a.c'")
        }
    }
}
