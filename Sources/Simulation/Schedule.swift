import Campaign
import JSON

/// What a simulated run did, as `schedule.json` holds it: the options it ran with, and every
/// client operation and fault with its simulated time (seconds since the workload began). A
/// schedule can be edited and replayed (`crml sim replay --schedule`), and the shrinker removes
/// entries from it.
///
/// Jobs are named symbolically: an operation on a job says which start created it
/// (`{"job": K, "account": A}`: the job of start operation K, as account A's ARN), because the
/// ids a node draws change as soon as an earlier operation is removed.
public struct Schedule: Sendable {
    public struct Op: Sendable, Equatable {
        /// Simulated seconds since the workload began.
        public var time: Double
        public var process: Int
        public var account: String
        public var f: String
        /// As the history records them, with job ARNs replaced by `{"job", "account"}`.
        public var args: JSON
        /// Its index in the schedule as generated (what symbolic references name).
        public var id: Int

        public var json: JSON {
            ["id": .int(id), "t": .number(time), "process": .int(process), "account": .string(account), "f": .string(f), "args": args]
        }

        init?(json: JSON) {
            guard let id = json["id"]?.intValue, let t = json["t"]?.numberValue, let p = json["process"]?.intValue,
                  let account = json["account"]?.stringValue, let f = json["f"]?.stringValue else { return nil }
            (self.id, time, process, self.account, self.f, args) = (id, t, p, account, f, json["args"] ?? [:])
        }

        init(id: Int, time: Double, process: Int, account: String, f: String, args: JSON) {
            (self.id, self.time, self.process, self.account, self.f, self.args) = (id, time, process, account, f, args)
        }
    }

    public var options: SimOptions
    public var ops: [Op]
    public var faults: [Fault]

    public init(options: SimOptions, ops: [Op], faults: [Fault]) {
        self.options = options
        self.ops = ops
        self.faults = faults
    }

    public var json: JSON {
        ["options": options.json,
         "operations": .array(ops.map(\.json)),
         "faults": .array(faults.map { f in ["start": .number(f.start), "end": .number(f.end), "fault": f.json] })]
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(json: JSON) throws(Invalid) {
        guard let o = json["options"], let options = SimOptions(json: o) else { throw Invalid(description: "schedule: \"options\" is missing or has no seed") }
        self.options = options
        var ops: [Op] = []
        for (k, j) in (json["operations"]?.arrayValue ?? []).enumerated() {
            guard let op = Op(json: j) else { throw Invalid(description: "schedule: operation \(k) needs id, t, process, account and f") }
            ops.append(op)
        }
        var faults: [Fault] = []
        for (k, j) in (json["faults"]?.arrayValue ?? []).enumerated() {
            guard let s = j["start"]?.numberValue, let e = j["end"]?.numberValue, let f = j["fault"], f["kind"]?.stringValue != nil, e >= s else {
                throw Invalid(description: "schedule: fault \(k) needs start, end (not before start) and fault.kind")
            }
            faults.append(Fault(json: f, start: s, end: e))
        }
        self.ops = ops.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        self.faults = faults
    }

    /// The job a symbolic reference names: the start operation's id and the account whose ARN.
    static func reference(_ args: JSON) -> (start: Int, account: String)? {
        guard let r = args["arn"], let k = r["job"]?.intValue, let a = r["account"]?.stringValue else { return nil }
        return (k, a)
    }
}
