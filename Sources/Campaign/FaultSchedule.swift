import AccountNode
import JSON

/// The nemesis of a consistency campaign, without the means to act: which fault starts when,
/// against whom, how long it lasts and what it does. `crml check run` applies the faults to real
/// nodes (admin calls, signals), `crml sim` to simulated ones; both draw the same schedule from
/// the same seed.
///
/// Every `interval` seconds one fault from the list starts, and it lasts `span` intervals, so
/// each overlaps the next (a node can be killed while its link is cut, say) and some of the time
/// only one is in force.
public struct FaultSchedule: Sendable {
    /// How long a fault lasts, in intervals.
    public static let span = 1.6
    public static let kinds = ["partition", "one-way", "delay", "loss", "duplicate", "reorder", "kill", "pause", "failpoint", "isolate-crash"]

    public let kinds: [String]
    public let interval: Double
    public let accounts: [String]
    private var rng: ScheduleRandom
    private var count = 0

    public init(kinds: [String], interval: Double, accounts: [String], seed: UInt64) {
        self.kinds = kinds
        self.interval = interval
        self.accounts = accounts
        rng = ScheduleRandom(seed: seed, stream: 0)
    }

    /// The next fault: when it starts and ends (seconds since the run began), and what it is.
    public mutating func next() -> Fault? {
        guard !kinds.isEmpty else { return nil }
        count += 1
        let kind = rng.pick(kinds)
        let a = rng.pick(accounts)
        let others = accounts.filter { $0 != a }
        let b = others.isEmpty ? a : rng.pick(others)
        var v: JSON = ["kind": .string(kind), "id": .string(String(count))]
        switch kind {
        case "partition", "one-way", "delay", "loss", "duplicate", "reorder":
            v["from"] = .string(a)
            v["to"] = .string(b)
        case "failpoint":
            v["account"] = .string(a)
            v["name"] = .string(rng.pick(Failpoint.names))
        case "isolate-crash":
            v["account"] = .string(a)
            v["others"] = .array(others.map { .string($0) })
        default:
            v["account"] = .string(a)
        }
        return Fault(json: v, start: Double(count) * interval, end: (Double(count) + FaultSchedule.span) * interval)
    }
}

/// One fault of a campaign: what the history records of it (`json`: kind, id, targets), when
/// it is in force, and what it does (`action`).
public struct Fault: Sendable, Equatable {
    public var json: JSON
    public var start: Double
    public var end: Double

    public init(json: JSON, start: Double, end: Double) {
        self.json = json
        self.start = start
        self.end = end
    }

    public var kind: String { json["kind"]?.stringValue ?? "" }

    /// What a link fault does to each message, on one direction of a link.
    public struct LinkFault: Sendable, Equatable {
        public var drop = 0.0
        public var delay = 0.0
        public var jitter = 0.0
        public var duplicate = 0.0
        public var reorder = 0.0

        public init(drop: Double = 0, delay: Double = 0, jitter: Double = 0, duplicate: Double = 0, reorder: Double = 0) {
            (self.drop, self.delay, self.jitter, self.duplicate, self.reorder) = (drop, delay, jitter, duplicate, reorder)
        }

        public var json: JSON { ["drop": .number(drop), "delay": .number(delay), "jitter": .number(jitter), "duplicate": .number(duplicate), "reorder": .number(reorder)] }
    }

    public enum Action: Sendable, Equatable {
        /// What `from` sends `to` (and, both ways, what `to` sends `from`) is shaped by `fault`.
        case link(from: String, to: String, LinkFault, bothWays: Bool)
        /// The node is killed at the start and started again at the end.
        case crash(account: String)
        /// The node is paused at the start and resumed at the end.
        case pause(account: String)
        /// The failpoint is armed at the start; at the end the node is started again if it
        /// crashed, the failpoint disarmed if not.
        case failpoint(account: String, name: String)
        /// The node is cut off from every other, killed `crashAfter` seconds in, and started
        /// again (and its links healed) at the end.
        case isolateCrash(account: String, others: [String], crashAfter: Double)
        case none
    }

    public var action: Action {
        let from = json["from"]?.stringValue ?? "", to = json["to"]?.stringValue ?? ""
        let account = json["account"]?.stringValue ?? ""
        switch kind {
        case "partition": return .link(from: from, to: to, LinkFault(drop: 1), bothWays: true)
        case "one-way": return .link(from: from, to: to, LinkFault(drop: 1), bothWays: false)
        case "delay": return .link(from: from, to: to, LinkFault(delay: 0.05, jitter: 0.05), bothWays: true)
        case "loss": return .link(from: from, to: to, LinkFault(drop: 0.3), bothWays: true)
        case "duplicate": return .link(from: from, to: to, LinkFault(delay: 0.02, jitter: 0.02, duplicate: 0.8), bothWays: true)
        case "reorder": return .link(from: from, to: to, LinkFault(reorder: 0.5), bothWays: true)
        case "kill": return .crash(account: account)
        case "pause": return .pause(account: account)
        case "failpoint": return .failpoint(account: account, name: json["name"]?.stringValue ?? "")
        case "isolate-crash":
            return .isolateCrash(account: account, others: (json["others"]?.arrayValue?.compactMap(\.stringValue)) ?? [],
                                 crashAfter: (end - start) * 0.6)
        default: return .none
        }
    }
}
