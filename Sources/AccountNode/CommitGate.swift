/// What may happen only once the log holds what it depends on: the core's reply gate, as a
/// value.
///
/// Every step that changes state submits one commit (numbered from 1). An effect that must
/// follow durability (a reply, a message, work, a timer, removing a replaced blob) passes
/// through the gate: out at once if every commit submitted so far is durable, otherwise held
/// until they are, and released in the order it came. So an answer never depends on something a
/// crash could take back, and a reader never sees a write that might vanish: a read issued
/// after a pending write waits for it too.
public struct CommitGate: Sendable {
    /// Commits submitted, and how many of them are durable (a prefix: the log is in order).
    public private(set) var submitted: UInt64 = 0
    public private(set) var durable: UInt64 = 0
    private var held: [(commit: UInt64, effect: Effect)] = []
    private var head = 0

    public init() {}

    /// Effects waiting for a commit.
    public var heldCount: Int { held.count - head }

    /// A new commit's number.
    mutating func submit() -> UInt64 {
        submitted += 1
        return submitted
    }

    /// `effect` into `out` now (true), or held until every commit submitted so far is durable.
    @discardableResult
    mutating func pass(_ effect: Effect, into out: inout [Effect]) -> Bool {
        if submitted > durable {
            held.append((submitted, effect))
            return false
        }
        out.append(effect)
        return true
    }

    /// Commits through `commit` are durable: what they held, in order.
    mutating func durable(through commit: UInt64) -> [Effect] {
        durable = max(durable, min(commit, submitted))
        var out: [Effect] = []
        while head < held.count && held[head].commit <= durable {
            out.append(held[head].effect)
            head += 1
        }
        if head == held.count || head > 1024 {
            held.removeFirst(head)
            head = 0
        }
        return out
    }

    /// Work cancelled while its start was still held never starts: a cancellation goes out at
    /// once, so without this a start released later would run work for a resource already
    /// deleted (found by the simulator: seed 54).
    mutating func dropHeldWork(_ id: String) {
        held = held[head...].filter { entry in
            if case .startWork(let w) = entry.effect, w.id == id { return false }
            return true
        }
        head = 0
    }

    /// No commit submitted so far will become durable (the storage failed): what was held, for
    /// the core to answer or drop. From now on effects pass at once until the next commit.
    mutating func failAll() -> [Effect] {
        let out = held[head...].map(\.effect)
        held.removeAll()
        head = 0
        durable = submitted
        return out
    }
}
