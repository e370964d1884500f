/// The actions of rules that touch only fixed metric names (`count`, `add`, `open`, `close`,
/// `close_prefix` without `{capture}` in the name), compiled to plain values in flat buffers: applying
/// such a rule copies no enum payloads, does no reference counting and builds a gauge key with one
/// string decode. Rules with other actions (worker life, log level, templated names) keep the general
/// path, as does a key with a non-ASCII byte, so both paths give identical keys.
final class CompiledActions {
    struct Op {
        enum Kind: Int32 { case count, add, open, close, closePrefix }
        var kind: Kind
        /// The metric's store id.
        var id: Int
        /// The capture holding the amount, or -1 for one.
        var amountGroup: Int
        /// The key's parts: `keyCount` entries of `parts` from `keyStart`.
        var keyStart: Int
        var keyCount: Int
        /// Index of this action in its rule (for the general path).
        var action: Int
    }

    /// One piece of a key: a capture group, or (group -1) `length` literal bytes at `offset` of `bytes`.
    struct Part {
        var group: Int
        var offset: Int
        var length: Int
    }

    let ops: UnsafeMutablePointer<Op>
    /// Per rule: first op, or -1 when the rule takes the general path; and how many ops.
    let ruleStarts: UnsafeMutablePointer<Int>
    let ruleCounts: UnsafeMutablePointer<Int>
    let parts: UnsafeMutablePointer<Part>
    let bytes: UnsafeMutablePointer<UInt8>
    /// Where keys are assembled.
    let keyBuffer: UnsafeMutablePointer<UInt8>
    static let keyCapacity = 256

    /// `boundIDs[r][a]` is the store id of action `a` of rule `r` when its name is fixed, else -1.
    init(rules: [CompiledRule], boundIDs: [[Int]]) {
        var ops: [Op] = []
        var parts: [Part] = []
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var counts: [Int] = []
        for (r, rule) in rules.enumerated() {
            var ruleOps: [Op] = []
            var fast = true
            for (a, action) in rule.actions.enumerated() {
                let id = boundIDs[r][a]
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
                guard id >= 0 else { fast = false; break }
                switch action {
                case let .count(_, by):
                    ruleOps.append(Op(kind: .count, id: id, amountGroup: amount(by), keyStart: 0, keyCount: 0, action: a))
                case let .add(_, by):
                    ruleOps.append(Op(kind: .add, id: id, amountGroup: amount(by), keyStart: 0, keyCount: 0, action: a))
                case let .open(_, template), let .close(_, template), let .closePrefix(_, template):
                    let (start, count) = key(template)
                    let kind: Op.Kind
                    switch action {
                    case .open: kind = .open
                    case .close: kind = .close
                    default: kind = .closePrefix
                    }
                    ruleOps.append(Op(kind: kind, id: id, amountGroup: -1, keyStart: start, keyCount: count, action: a))
                default:
                    fast = false
                }
                if !fast { break }
            }
            if fast {
                starts.append(ops.count)
                counts.append(ruleOps.count)
                ops += ruleOps
            } else {
                starts.append(-1)
                counts.append(0)
            }
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
        keyBuffer = .allocate(capacity: CompiledActions.keyCapacity)
    }

    deinit {
        ops.deallocate(); parts.deallocate(); bytes.deallocate(); ruleStarts.deallocate(); ruleCounts.deallocate()
        keyBuffer.deallocate()
    }
}

extension LinePipeline {
    /// Applies a rule through its compiled actions; false when the rule takes the general path.
    @inline(__always)
    func applyCompiled(rule index: Int, message: UnsafePointer<UInt8>, worker: Int) -> Bool {
        let compiled = compiledActions
        let first = compiled.ruleStarts[index]
        guard first >= 0 else { return false }
        for i in first..<(first + compiled.ruleCounts[index]) {
            let op = compiled.ops[i]
            switch op.kind {
            case .count, .add:
                var n: Int64 = 1
                if op.amountGroup >= 0 {
                    guard let v = number(bytes(op.amountGroup, message)) else {
                        stats.badNumbers += 1
                        continue
                    }
                    n = v
                }
                if op.kind == .count {
                    store.addCounter(op.id, n)
                } else {
                    store.addTotal(gauge: op.id, worker: worker, n)
                }
            case .open, .close, .closePrefix:
                let k = compiledKey(op, message) ?? generalKey(rule: index, action: op.action, message)
                switch op.kind {
                case .open:
                    if !store.open(gauge: op.id, worker: worker, key: k) { stats.duplicateOpens += 1 }
                case .close:
                    if !store.close(gauge: op.id, worker: worker, key: k) { stats.orphanCloses += 1 }
                default:
                    store.close(gauge: op.id, worker: worker, keysWithPrefix: k)
                }
            }
        }
        return true
    }

    /// The key assembled in one buffer and decoded once; nil when it is long or not ASCII.
    @inline(__always)
    func compiledKey(_ op: CompiledActions.Op, _ message: UnsafePointer<UInt8>) -> String? {
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
                let b = bytes(part.group, message)
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

    /// The key as the general path builds it.
    func generalKey(rule: Int, action: Int, _ message: UnsafePointer<UInt8>) -> String {
        switch patterns.rules[rule].actions[action] {
        case let .open(_, key), let .close(_, key), let .closePrefix(_, key): expand(key.parts, message)
        default: ""
        }
    }

    /// A whole number of at most 18 digits, or nil.
    @inline(__always)
    func number(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        WholeNumber.parse(UnsafeRawBufferPointer(b))
    }
}
