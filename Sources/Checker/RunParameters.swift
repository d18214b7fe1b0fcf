import JSON

/// What a `crml check run` or a `crml sim` run was asked to do (its `run.json`): shown at the top of every report,
/// so a report says how it was made; a run with deliberately broken nodes says so loudly.
public struct RunParameters: Sendable {
    /// Name and value, in the order reports show them.
    public var fields: [(name: String, value: String)]
    /// The deliberately broken modes the nodes ran in (none in a real run).
    public var breaks: [String]
    /// The run was simulated (`crml sim`), not made on real processes (`crml check run`).
    public var simulated: Bool

    /// The command that made the run, as reports name it.
    public var tool: String { simulated ? "crml sim" : "crml check" }

    public init(json: JSON) {
        func text(_ v: JSON?) -> String? {
            switch v {
            case .string(let s)?: return s
            case .number(let n)?: return n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : TextReport.format2(n)
            case .array(let a)?: return a.isEmpty ? "none" : a.compactMap { text($0) }.joined(separator: ",")
            case .bool(let b)?: return b ? "yes" : "no"
            default: return nil
            }
        }
        let order: [(String, String, String)] = [
            ("seed", "seed", ""), ("accounts", "accounts", ""), ("timeLimit", "time limit", " s"), ("rate", "rate", " operations/s"),
            ("concurrency", "clients", ""), ("nemesis", "nemesis", ""), ("nemesisInterval", "fault every", " s"),
            ("peerTimeout", "peer timeout", " s"), ("breaks", "deliberately broken", ""), ("world", "simulated world", ""),
            ("version", "crml", ""), ("started", "started", ""),
        ]
        fields = order.compactMap { key, name, unit in text(json[key]).map { (name, $0 + unit) } }
        breaks = json["breaks"]?.arrayValue?.compactMap(\.stringValue) ?? []
        simulated = json["simulated"]?.boolValue ?? false
    }

    /// `crml check run --seed 1 …`: the command that repeats the run.
    public var summary: String { fields.map { "\($0.name) \($0.value)" }.joined(separator: ", ") }

    /// The warning a report opens with when the nodes were broken on purpose.
    public var brokenWarning: String? {
        breaks.isEmpty ? nil : "DELIBERATELY BROKEN NODES (\(breaks.joined(separator: ", "))): this run was made to show the checker failing; its verdict says nothing about the real protocol"
    }
}

/// A fault of the nemesis in a few words: `partition 111111111111↔222222222222`,
/// `one-way 111111111111→222222222222`, `kill 333333333333`, `failpoint delete.apply at 111111111111`.
public enum FaultDescription {
    public static func short(_ v: JSON) -> String {
        let kind = v["kind"]?.stringValue ?? "fault"
        if let from = v["from"]?.stringValue, let to = v["to"]?.stringValue {
            return "\(kind) \(from)\(kind == "one-way" ? "→" : "↔")\(to)"
        }
        if let name = v["name"]?.stringValue, let account = v["account"]?.stringValue { return "\(kind) \(name) at \(account)" }
        return [kind, v["account"]?.stringValue].compactMap { $0 }.joined(separator: " ")
    }
}
