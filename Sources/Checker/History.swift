import JSON

/// One line of a run's history, as Jepsen keeps one: a client (or the nemesis) invoked an
/// operation, and later it completed `ok`, `fail` (it definitely did not happen) or `info` (the
/// outcome is unknown: a time-out or a lost connection). Fault events are `info` of the
/// `nemesis` process.
public struct HistoryEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case invoke, ok, fail, info }

    public var index: Int
    /// Seconds since the run started (monotonic clock).
    public var time: Double
    /// Wall-clock seconds (epoch), to line up with the nodes' own timestamps.
    public var wall: Double
    /// `0`, `1`, … for clients, `nemesis` for faults.
    public var process: String
    public var account: String?
    public var kind: Kind
    /// The operation: `start`, `get`, `list`, `export`, `tag`, `delete`, `block`, `unblock`;
    /// for the nemesis `fault-start`, `fault-end`.
    public var f: String
    public var value: JSON

    public init(index: Int, time: Double, wall: Double, process: String, account: String?, kind: Kind, f: String, value: JSON) {
        self.index = index
        self.time = time
        self.wall = wall
        self.process = process
        self.account = account
        self.kind = kind
        self.f = f
        self.value = value
    }

    public var json: JSON {
        .compactObject(["index": .int(index), "time": .number(time), "wall": .number(wall), "process": .string(process),
                        "account": account.map { .string($0) }, "type": .string(kind.rawValue), "f": .string(f), "value": value])
    }

    public init?(json: JSON) {
        guard let index = json["index"]?.intValue, let time = json["time"]?.numberValue, let process = json["process"]?.stringValue,
              let kind = json["type"]?.stringValue.flatMap(Kind.init(rawValue:)), let f = json["f"]?.stringValue else { return nil }
        self.init(index: index, time: time, wall: json["wall"]?.numberValue ?? 0, process: process, account: json["account"]?.stringValue,
                  kind: kind, f: f, value: json["value"] ?? .null)
    }

    /// Reads a history file: one JSON object per line. Returns the events and the lines that did
    /// not parse (a run cut short may leave a partial last line).
    public static func parse(_ bytes: [UInt8]) -> (events: [HistoryEvent], bad: [Int]) {
        var events: [HistoryEvent] = []
        var bad: [Int] = []
        for (n, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated() {
            if let j = try? JSONParser.parse(Array(line)), let e = HistoryEvent(json: j) { events.append(e) } else { bad.append(n + 1) }
        }
        return (events, bad)
    }
}

/// A client operation with its completion: what the checker reasons about.
public struct Operation: Sendable {
    public var process: String
    public var account: String
    public var f: String
    public var args: JSON
    public var invoked: Double
    public var invokedWall: Double
    /// When it completed (`nil`: never, so its outcome is unknown, like `info`).
    public var completed: Double?
    public var completedWall: Double?
    public var outcome: HistoryEvent.Kind
    public var result: JSON

    public var ok: Bool { outcome == .ok }

    /// Pairs each invoke with the next completion of the same process (clients run one
    /// operation at a time). Nemesis events are returned apart.
    public static func pair(_ history: [HistoryEvent]) -> (operations: [Operation], faults: [HistoryEvent]) {
        var open: [String: HistoryEvent] = [:]
        var ops: [Operation] = []
        var faults: [HistoryEvent] = []
        for e in history.sorted(by: { $0.index < $1.index }) {
            if e.process == "nemesis" {
                faults.append(e)
                continue
            }
            if e.kind == .invoke {
                if let stale = open[e.process] { ops.append(Operation(invoke: stale, completion: nil)) }
                open[e.process] = e
            } else if let inv = open.removeValue(forKey: e.process) {
                ops.append(Operation(invoke: inv, completion: e))
            }
        }
        for inv in open.values { ops.append(Operation(invoke: inv, completion: nil)) }
        return (ops.sorted { $0.invoked < $1.invoked }, faults)
    }

    init(invoke: HistoryEvent, completion: HistoryEvent?) {
        process = invoke.process
        account = invoke.account ?? ""
        f = invoke.f
        args = invoke.value
        invoked = invoke.time
        invokedWall = invoke.wall
        completed = completion?.time
        completedWall = completion?.wall
        outcome = completion?.kind ?? .info
        result = completion?.value ?? .null
    }
}
