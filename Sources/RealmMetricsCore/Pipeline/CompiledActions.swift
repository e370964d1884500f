/// Every rule's actions compiled to plain values in flat buffers, and the one interpreter that applies
/// them (``LinePipeline/apply(rule:message:captures:worker:recorder:)``). A fixed metric name is bound
/// to its store id once, here; a templated name keeps its ``NameTemplate`` and is resolved per line.
/// Applying a rule with fixed names copies no enum payloads, does no reference counting and builds a
/// gauge key with one string decode (a key with a non-ASCII byte, or a long one, is decoded part by
/// part instead, which repairs invalid UTF-8 in each capture on its own).
final class CompiledActions {
    struct Op {
        enum Kind: Int32 { case count, add, set, timer, histogram, spanStart, spanEnd, open, close, closePrefix, workerStart, workerEnd, logLevel }
        var kind: Kind
        /// The metric's store id when its name is fixed, else -1 (the name is resolved from `names[op.name]`).
        var id: Int
        /// The metric's name template in `names`, or -1 for worker and log-level actions.
        var name: Int
        /// The capture holding the amount (-1: one), or for `logLevel` the level word.
        var group: Int
        /// The key's parts: `keyCount` entries of `parts` from `keyStart`.
        var keyStart: Int
        var keyCount: Int
    }

    /// One piece of a key: a capture group, or (group -1) `length` literal bytes at `offset` of `bytes`.
    struct Part {
        var group: Int
        var offset: Int
        var length: Int
    }

    let ops: UnsafeMutablePointer<Op>
    /// Per rule: its first op and how many ops it has.
    let ruleStarts: UnsafeMutablePointer<Int>
    let ruleCounts: UnsafeMutablePointer<Int>
    let parts: UnsafeMutablePointer<Part>
    let bytes: UnsafeMutablePointer<UInt8>
    /// The metric name of each op that has one (`Op.name`): its source, and for a templated one its parts.
    let names: [NameTemplate]
    /// Where keys are assembled.
    let keyBuffer: UnsafeMutablePointer<UInt8>
    static let keyCapacity = 256

    /// Compiles the actions of `rules`, binding each fixed name to its id in `store` (rule by rule,
    /// action by action: counters with ``MetricStore/counterID(_:)``, gauges with ``MetricStore/gaugeID(_:)``).
    init(rules: [CompiledRule], store: MetricStore) {
        var ops: [Op] = []
        var parts: [Part] = []
        var bytes: [UInt8] = []
        var names: [NameTemplate] = []
        var starts: [Int] = []
        var counts: [Int] = []
        func key(_ template: KeyTemplate) -> (Int, Int) {
            let start = parts.count
            for part in template.parts {
                switch part {
                case let .literal(text):
                    parts.append(Part(group: -1, offset: bytes.count, length: text.utf8.count))
                    bytes += Array(text.utf8)
                case let .capture(group, _):
                    parts.append(Part(group: group, offset: 0, length: 0))
                }
            }
            return (start, parts.count - start)
        }
        func amount(_ amount: Amount) -> Int {
            if case let .capture(group, _) = amount { return group }
            return -1
        }
        func metric(_ kind: Op.Kind, _ name: NameTemplate, group: Int = -1, key: (Int, Int) = (0, 0)) -> Op {
            let id = !name.isFixed ? -1 : CompiledActions.storeID(kind, name.source, store)
            if name.isFixed, let tagged = name.tagged { CompiledActions.tag(kind, name.source, tagged.source, store) }
            names.append(name)
            return Op(kind: kind, id: id, name: names.count - 1, group: group, keyStart: key.0, keyCount: key.1)
        }
        for rule in rules {
            starts.append(ops.count)
            for action in rule.actions {
                switch action {
                case let .count(name, by): ops.append(metric(.count, name, group: amount(by)))
                case let .add(name, by): ops.append(metric(.add, name, group: amount(by)))
                case let .set(name, by): ops.append(metric(.set, name, group: amount(by)))
                case let .span(name, template, start): ops.append(metric(start ? .spanStart : .spanEnd, name, key: key(template)))
                case let .record(name, kind, by, skipFirst):
                    ops.append(metric(kind == .timer ? .timer : .histogram, name, group: amount(by), key: skipFirst.map(key) ?? (0, 0)))
                case let .open(name, template): ops.append(metric(.open, name, key: key(template)))
                case let .close(name, template): ops.append(metric(.close, name, key: key(template)))
                case let .closePrefix(name, template): ops.append(metric(.closePrefix, name, key: key(template)))
                case .workerStart: ops.append(Op(kind: .workerStart, id: -1, name: -1, group: -1, keyStart: 0, keyCount: 0))
                case .workerEnd: ops.append(Op(kind: .workerEnd, id: -1, name: -1, group: -1, keyStart: 0, keyCount: 0))
                case let .logLevel(group, _): ops.append(Op(kind: .logLevel, id: -1, name: -1, group: group, keyStart: 0, keyCount: 0))
                }
            }
            counts.append(ops.count - starts[starts.count - 1])
        }
        self.ops = .allocate(capacity: max(1, ops.count))
        self.ops.initialize(from: ops, count: ops.count)
        self.parts = .allocate(capacity: max(1, parts.count))
        self.parts.initialize(from: parts, count: parts.count)
        self.bytes = .allocate(capacity: max(1, bytes.count))
        self.bytes.initialize(from: bytes, count: bytes.count)
        ruleStarts = .allocate(capacity: max(1, starts.count))
        ruleStarts.initialize(from: starts, count: starts.count)
        ruleCounts = .allocate(capacity: max(1, counts.count))
        ruleCounts.initialize(from: counts, count: counts.count)
        self.names = names
        keyBuffer = .allocate(capacity: CompiledActions.keyCapacity)
    }

    /// Records `tagged` as the tagged form of metric `name` for an op of `kind`.
    static func tag(_ kind: Op.Kind, _ name: String, _ tagged: String, _ store: MetricStore) {
        switch kind {
        case .count: store.tag(counter: name, tagged)
        case .timer, .histogram, .spanStart, .spanEnd: store.tag(distribution: name, tagged)
        default: store.tag(gauge: name, tagged)
        }
    }

    /// The store id of metric `name` for an op of `kind`: a counter, a timer or histogram, or a gauge.
    static func storeID(_ kind: Op.Kind, _ name: String, _ store: MetricStore) -> Int {
        switch kind {
        case .count: store.counterID(name)
        case .timer, .spanStart, .spanEnd: store.distributionID(name, kind: .timer)
        case .histogram: store.distributionID(name, kind: .histogram)
        default: store.gaugeID(name)
        }
    }

    deinit {
        ops.deallocate(); parts.deallocate(); bytes.deallocate(); ruleStarts.deallocate(); ruleCounts.deallocate()
        keyBuffer.deallocate()
    }
}

extension LinePipeline {
    /// Applies the actions of rule `index`, in order, to the store for `worker`, with the captures of
    /// its match on `message`; counts bad numbers, duplicate opens, orphan closes, cardinality overflows
    /// and worker starts, and gathers log-level warnings. With a `recorder`, every effect (and every
    /// action skipped, with why) is recorded there.
    func apply(rule index: Int, message: UnsafePointer<UInt8>, captures: CaptureVector, worker: Int, recorder: EffectRecorder?) {
        let compiled = compiledActions
        let first = compiled.ruleStarts[index]
        for i in first..<(first + compiled.ruleCounts[index]) {
            let op = compiled.ops[i]
            // A templated name, resolved for this line (for a fixed one, `names[op.name].source`).
            var name: String? = nil
            switch op.kind {
            case .count, .add, .set, .timer, .histogram:
                var n: Int64 = 1
                if op.group >= 0 {
                    guard let v = number(bytes(op.group, message, captures)) else {
                        stats.badNumbers += 1
                        recorder?.record(.skipped("capture is not a whole number"))
                        continue
                    }
                    n = v
                }
                let id = op.id >= 0 ? op.id : templatedID(op, message, captures, name: &name)
                switch op.kind {
                case .count:
                    store.addCounter(id, n)
                    recorder?.record(.count(name ?? compiled.names[op.name].source, n))
                case .add:
                    store.addTotal(gauge: id, worker: worker, n)
                    recorder?.record(.add(name ?? compiled.names[op.name].source, n))
                case .set:
                    store.setTotal(gauge: id, worker: worker, n)
                    recorder?.record(.set(name ?? compiled.names[op.name].source, n))
                default:
                    recordValue(op, id: id, n, message, captures, worker: worker, name: name, recorder: recorder)
                }
            case .open, .close, .closePrefix:
                if let family = compiled.names[op.name].family {
                    closeFamily(op, family, message, captures, worker: worker, recorder: recorder)
                    continue
                }
                let id = op.id >= 0 ? op.id : templatedID(op, message, captures, name: &name)
                let k = compiledKey(op, message, captures) ?? partKey(op, message, captures)
                switch op.kind {
                case .open:
                    let inserted = store.open(gauge: id, worker: worker, key: k)
                    if !inserted { stats.duplicateOpens += 1 }
                    recorder?.record(.open(name ?? compiled.names[op.name].source, key: k, wasOpen: !inserted))
                case .close:
                    let removed = store.close(gauge: id, worker: worker, key: k)
                    if !removed { stats.orphanCloses += 1 }
                    recorder?.record(.close(name ?? compiled.names[op.name].source, key: k, wasOpen: removed))
                default:
                    let closed = store.close(gauge: id, worker: worker, keysWithPrefix: k)
                    recorder?.record(.closePrefix(name ?? compiled.names[op.name].source, prefix: k, closed: closed))
                }
            case .spanStart, .spanEnd:
                let id = op.id >= 0 ? op.id : templatedID(op, message, captures, name: &name)
                applySpan(op, id: id, message, captures, worker: worker, name: name ?? compiled.names[op.name].source, recorder: recorder)
            case .workerStart, .workerEnd, .logLevel:
                applyWorker(op, message, captures, worker: worker, recorder: recorder)
            }
        }
    }

    /// The store id of an op's templated metric name resolved for this line (registered when new); the
    /// name goes to `name`.
    @inline(never)
    private func templatedID(_ op: CompiledActions.Op, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector, name: inout String?) -> Int {
        let template = compiledActions.names[op.name]
        let overflowsBefore = stats.cardinalityOverflows
        let resolved = resolve(template, message, captures)
        name = resolved
        let id = CompiledActions.storeID(op.kind, resolved, store)
        if let tagged = template.tagged {
            CompiledActions.tag(op.kind, resolved, resolveTagged(tagged, message, captures, overflowed: stats.cardinalityOverflows != overflowsBefore), store)
        }
        return id
    }

    /// The tagged form for this line: captured values percent-encoded (every byte other than
    /// `A-Za-z0-9` as `%XX`), or `other` for all of them when the name's values overflowed its cap.
    private func resolveTagged(_ tagged: TaggedName, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector, overflowed: Bool) -> String {
        var out = ""
        for part in tagged.parts {
            switch part {
            case let .literal(s): out += s
            case let .capture(group, _): out += overflowed ? "other" : MetricName.percentEncoded(bytes(group, message, captures))
            }
        }
        return out
    }

    /// `close` or `close_prefix` of a key in every gauge of a family (`user_sessions.*`): the gauge that
    /// holds it (a session is open under one user) loses it; no gauge holding it is no orphan close.
    @inline(never)
    private func closeFamily(_ op: CompiledActions.Op, _ family: String, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector,
                             worker: Int, recorder: EffectRecorder?) {
        let k = compiledKey(op, message, captures) ?? partKey(op, message, captures)
        var closed = 0
        // The family's gauges, looked up again only when the store has new gauges.
        let known = store.gaugeNames.count
        if familyGauges[op.name]?.known != known {
            familyGauges[op.name] = (known, store.gaugeNames.indices.filter { store.gaugeNames[$0].hasPrefix(family) })
        }
        for id in familyGauges[op.name]!.ids {
            if op.kind == .close {
                if store.close(gauge: id, worker: worker, key: k) { closed += 1 }
            } else {
                closed += store.close(gauge: id, worker: worker, keysWithPrefix: k)
            }
        }
        let source = compiledActions.names[op.name].source
        // Not an orphan when no gauge holds the key: a session need not have had a user.
        if op.kind == .close {
            recorder?.record(.close(source, key: k, wasOpen: closed > 0))
        } else {
            recorder?.record(.closePrefix(source, prefix: k, closed: closed))
        }
    }

    /// The start or the end of a span: the end records the ms since its start line; a line without a
    /// time, or an end without a start in this life, records nothing (shown by `explain`).
    @inline(never)
    private func applySpan(_ op: CompiledActions.Op, id: Int, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector,
                           worker: Int, name: String, recorder: EffectRecorder?) {
        let k = compiledKey(op, message, captures) ?? partKey(op, message, captures)
        guard let time = applyingLineTime() else {
            recorder?.record(.skipped("the line has no time: \(op.kind == .spanStart ? "timer_start" : "timer_stop") \(name) \(k) left out"))
            return
        }
        if op.kind == .spanStart {
            store.startSpan(distribution: id, key: k, at: time, worker: worker)
            recorder?.record(.spanStart(name, key: k))
        } else if let length = store.endSpan(distribution: id, key: k, at: time, worker: worker) {
            recorder?.record(.record(name, .timer, length, firstOf: nil))
        } else {
            recorder?.record(.skipped("timer_stop \(name) \(k): no timer_start for it in this life"))
        }
    }

    /// One value of a timer or histogram; an op with a key (`skip_first`) leaves out the first value
    /// of each key in the worker's life.
    @inline(never)
    private func recordValue(_ op: CompiledActions.Op, id: Int, _ n: Int64, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector,
                             worker: Int, name: String?, recorder: EffectRecorder?) {
        let kind: DistributionKind = op.kind == .timer ? .timer : .histogram
        guard op.keyCount > 0 else {
            store.record(distribution: id, n)
            recorder?.record(.record(name ?? compiledActions.names[op.name].source, kind, n, firstOf: nil))
            return
        }
        let k = compiledKey(op, message, captures) ?? partKey(op, message, captures)
        let recorded = store.record(distribution: id, n, skippingFirstOf: k, worker: worker)
        recorder?.record(.record(name ?? compiledActions.names[op.name].source, kind, n, firstOf: recorded ? nil : k))
    }

    /// A worker's start or end, or its log level.
    @inline(never)
    private func applyWorker(_ op: CompiledActions.Op, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector,
                             worker: Int, recorder: EffectRecorder?) {
        switch op.kind {
        case .workerStart:
            store.resetWorker(worker, newLife: true)
            stats.workerStarts += 1
            recorder?.record(.workerStart)
        case .workerEnd:
            store.resetWorker(worker, newLife: false)
            recorder?.record(.workerEnd)
        default:
            let b = bytes(op.group, message, captures)
            guard let level = LogLevel(bytes: b) else {
                recorder?.record(.skipped("unknown log level '\(String(decoding: b, as: UTF8.self))'"))
                return
            }
            if store.workers[worker].logLevel != level {
                let unfed = patterns.metricsUnfed(at: level)
                if !unfed.isEmpty {
                    warnings.append("worker \(store.workerKeys[worker]) logs at level \(level): it never writes the lines of these metrics, which stay at 0 (not a true zero): \(unfed.joined(separator: ", "))")
                }
            }
            store.setLogLevel(level, worker: worker)
            recorder?.record(.logLevel(level.description))
        }
    }

    /// A templated metric name for this line: each capture sanitised and admitted under the template's
    /// cardinality cap (a value over the cap is counted and folded into `other`).
    private func resolve(_ template: NameTemplate, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector) -> String {
        var out = ""
        for part in template.parts {
            switch part {
            case let .literal(s): out += s
            case let .capture(group, _):
                let value = MetricName.sanitizedTemplateValue(bytes(group, message, captures))
                let admitted = store.admit(value, template: template.source, cap: template.cardinality)
                if admitted != value { stats.cardinalityOverflows += 1 }
                out += admitted
            }
        }
        return out
    }

    /// The key assembled in one buffer and decoded once; nil when it is long or not ASCII.
    @inline(__always)
    func compiledKey(_ op: CompiledActions.Op, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector) -> String? {
        let compiled = compiledActions
        let out = compiled.keyBuffer
        var n = 0
        var high: UInt8 = 0
        for p in op.keyStart..<(op.keyStart + op.keyCount) {
            let part = compiled.parts[p]
            let source: UnsafePointer<UInt8>, length: Int
            if part.group < 0 {
                source = UnsafePointer(compiled.bytes + part.offset)
                length = part.length
            } else {
                let b = bytes(part.group, message, captures)
                source = b.baseAddress ?? message
                length = b.count
            }
            guard n + length <= CompiledActions.keyCapacity else { return nil }
            for j in 0..<length {
                let c = source[j]
                high |= c
                out[n + j] = c
            }
            n += length
        }
        guard high < 0x80 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: out, count: n), as: UTF8.self)
    }

    /// The key decoded part by part (each capture's invalid UTF-8 repaired on its own).
    func partKey(_ op: CompiledActions.Op, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector) -> String {
        let compiled = compiledActions
        var out = ""
        for p in op.keyStart..<(op.keyStart + op.keyCount) {
            let part = compiled.parts[p]
            if part.group < 0 {
                out += String(decoding: UnsafeBufferPointer(start: compiled.bytes + part.offset, count: part.length), as: UTF8.self)
            } else {
                out += String(decoding: bytes(part.group, message, captures), as: UTF8.self)
            }
        }
        return out
    }

    /// The bytes of capture `group` of `message` (empty when the group did not take part).
    @inline(__always)
    func bytes(_ group: Int, _ message: UnsafePointer<UInt8>, _ captures: CaptureVector) -> UnsafeBufferPointer<UInt8> {
        guard let r = captures.range(group) else { return UnsafeBufferPointer(start: message, count: 0) }
        return UnsafeBufferPointer(start: message + r.lowerBound, count: r.count)
    }

    /// A whole number of at most 18 digits, or nil.
    @inline(__always)
    func number(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        WholeNumber.parse(UnsafeRawBufferPointer(b))
    }
}
