import Checker
import Digest
import JSON

/// What one simulated run found: the checker's analysis of its history and final states, the
/// schedule that produced it, and the digest that shows two runs were the same.
public struct SimRun: Sendable {
    public var options: SimOptions
    public var swarm: Swarm
    public var analysis: Analysis
    public var history: [HistoryEvent]
    public var dumps: [String: JSON]
    public var setup: RunSetup
    public var schedule: Schedule
    /// Failures the checker cannot see: a node that would not start again.
    public var problems: [String]
    public var simulatedSeconds: Double
    /// Events the world ran.
    public var events: Int

    /// Valid, invalid or unknown; a node that could not start again makes a run invalid.
    public var verdict: Verdict { problems.isEmpty ? analysis.verdict : .invalid }

    /// The invariants broken (the checker's ids; `recovery` for a node that would not start).
    public var broken: [String] {
        (problems.isEmpty ? [] : ["recovery"]) + analysis.invariants.filter { !$0.held }.map(\.id)
    }

    /// The first thing wrong, in a line.
    public var firstProblem: String? {
        if let p = problems.first { return "recovery: \(p)" }
        guard let i = analysis.invariants.first(where: { !$0.held }) else { return analysis.unknownBecause.first.map { "unknown: \($0)" } }
        return "\(i.id): \(i.problems[0])"
    }

    /// `history.jsonl` as written: one event a line.
    public var historyBytes: [UInt8] { history.flatMap { JSONWriter.bytes($0.json) + [0x0A] } }

    /// SHA-256 of `history.jsonl`, hex.
    public var historyDigest: String { Hex.encode(SHA256.hash(historyBytes)) }

    /// What `run.json` records: the options and the world the seed drew.
    public var runJSON: JSON {
        var j = options.json
        j["swarm"] = swarm.json
        j["world"] = .string(swarm.summary)
        return j
    }

    /// The files of a replay, by name, as `crml check` writes them (and `final/ACCOUNT.json`,
    /// `setup.json`, so `crml check analyze` reads the directory too). Byte-identical for the
    /// same run.
    public func files(version: String) -> [(name: String, bytes: [UInt8])] {
        var run = runJSON
        run["version"] = .string(version)
        let parameters = RunParameters(json: run)
        var out: [(String, [UInt8])] = [
            ("history.jsonl", historyBytes),
            ("schedule.json", JSONWriter.bytes(schedule.json, pretty: true) + [0x0A]),
            ("setup.json", JSONWriter.bytes(setup.json, pretty: true)),
            ("run.json", JSONWriter.bytes(run, pretty: true)),
        ]
        var results = TextReport.json(analysis, run: run)
        if !problems.isEmpty {
            results["verdict"] = .string(Verdict.invalid.rawValue)
            results["recoveryProblems"] = .array(problems.map { .string($0) })
        }
        out.append(("results.json", JSONWriter.bytes(results, pretty: true)))
        var text = TextReport.render(analysis, run: parameters)
        if !problems.isEmpty { text = "INVALID: a node would not start again:\n" + problems.map { "  \($0)\n" }.joined() + "\n" + text }
        out.append(("report.txt", Array(text.utf8)))
        let dumps = self.dumps.compactMapValues(NodeDump.init)
        out.append(("report.html", Array(HTMLReport.render(analysis, history: history, dumps: dumps, run: parameters).utf8)))
        for (a, d) in self.dumps.sorted(by: { $0.key < $1.key }) { out.append(("final/\(a).json", JSONWriter.bytes(d))) }
        return out
    }

    /// The command that replays this run.
    public func replayCommand(dir: String) -> String {
        "crml sim replay --seed \(options.seed)" + options.flags + " --dir \(dir)"
    }
}

extension SimOptions {
    /// The flags that give these options (beyond the seed), as `crml sim` takes them.
    public var flags: String {
        let defaults = SimOptions(seed: 0)
        var s = ""
        if accounts != defaults.accounts { s += " --accounts \(accounts)" }
        if duration != defaults.duration { s += " --duration \(SimOptions.number(duration))" }
        if rate != defaults.rate { s += " --rate \(SimOptions.number(rate))" }
        if nemesis != defaults.nemesis { s += " --nemesis \(nemesis.isEmpty ? "none" : nemesis.joined(separator: ","))" }
        if !breaks.isEmpty { s += " --break \(breaks.joined(separator: ","))" }
        if !swarm { s += " --no-swarm" }
        return s
    }

    public static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e12 ? String(Int(x)) : String(x) }
}
