import JSON

/// The checker's result in words (what `crml check` prints) and as JSON (`results.json`).
public enum TextReport {
    public static func render(_ a: Analysis, run: RunParameters? = nil) -> String {
        var out = ""
        if let run {
            if let warning = run.brokenWarning {
                let bar = String(repeating: "!", count: 78)
                out += "\(bar)\n!! \(warning)\n\(bar)\n\n"
            }
            out += "run: \(run.summary)\n\n"
        }
        out += "verdict: \(a.verdict.rawValue.uppercased())\n"
        for why in a.unknownBecause { out += "  unknown because \(why)\n" }
        out += "\ninvariants:\n"
        for r in a.invariants {
            out += "  [\(r.held ? "held  " : "BROKEN")] \(r.id) (\(r.requirements)): \(r.statement) — \(r.checked) checked\n"
            for p in r.problems { out += "           - \(p)\n" }
        }
        let f = a.figures
        out += "\nfigures:\n"
        if let p50 = f.percentile(0.5), let p95 = f.percentile(0.95), let p99 = f.percentile(0.99), let max = f.deleteLatencies.max() {
            out += "  delete propagation (acknowledged in one account → gone in the other), \(f.deleteLatencies.count) deletes: "
                + "p50 \(ms(p50)), p95 \(ms(p95)), p99 \(ms(p99)), max \(ms(max))\n"
        } else {
            out += "  delete propagation: no acknowledged delete with a known arrival\n"
        }
        out += "  reads that saw a copy after its delete was acknowledged in the other account: \(f.staleReads)\n"
        out += "  availability by account: " + f.availabilityByAccount.sorted { $0.key < $1.key }.map { "\($0.key) \(pct($0.value))" }.joined(separator: ", ") + "\n"
        out += "  availability by operation: " + f.availabilityByOperation.sorted { $0.key < $1.key }.map { "\($0.key) \(pct($0.value))" }.joined(separator: ", ") + "\n"
        let sent = f.peerMessagesSent.values.reduce(0, +)
        out += "  peer messages: \(sent) for \(f.clientOperations) client operations (\(String(format2(Double(sent) / Double(max(1, f.clientOperations))))) per operation): "
            + f.peerMessagesSent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        out += "  faults: " + (f.faults.isEmpty ? "none" : f.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) + "\n"
        return out
    }

    public static func json(_ a: Analysis, run: JSON? = nil) -> JSON {
        let f = a.figures
        return .compactObject([
            "run": run,
            "verdict": .string(a.verdict.rawValue),
            "unknownBecause": .array(a.unknownBecause.map { .string($0) }),
            "invariants": .array(a.invariants.map { r in
                ["id": .string(r.id), "requirements": .string(r.requirements), "statement": .string(r.statement), "held": .bool(r.held),
                 "checked": .int(r.checked), "problems": .array(r.problems.map { .string($0) })]
            }),
            "figures": .compactObject([
                "deletePropagationSeconds": .compactObject(["count": .int(f.deleteLatencies.count), "p50": f.percentile(0.5).map { .number($0) },
                                                            "p95": f.percentile(0.95).map { .number($0) }, "p99": f.percentile(0.99).map { .number($0) },
                                                            "max": f.deleteLatencies.max().map { .number($0) }]),
                "staleReads": .int(f.staleReads),
                "availabilityByAccount": .object(f.availabilityByAccount.mapValues { ["ok": .int($0.ok), "all": .int($0.all)] }),
                "availabilityByOperation": .object(f.availabilityByOperation.mapValues { ["ok": .int($0.ok), "all": .int($0.all)] }),
                "peerMessagesSent": .object(f.peerMessagesSent.mapValues { .int($0) }),
                "clientOperations": .int(f.clientOperations),
                "faults": .object(f.faults.mapValues { .int($0) }),
            ]),
            "flaggedJobs": .array(a.flaggedJobs.map { .string($0) }),
        ])
    }

    static func ms(_ s: Double) -> String { "\(format2(s * 1000)) ms" }

    static func pct(_ v: (ok: Int, all: Int)) -> String {
        v.all == 0 ? "-" : "\(format2(100 * Double(v.ok) / Double(v.all)))% (\(v.ok)/\(v.all))"
    }

    /// Two decimals, without Foundation.
    static func format2(_ x: Double) -> String {
        guard x.isFinite, abs(x) < 1e15 else { return "?" }  // a damaged dump: say so, never trap
        let n = Int((x * 100).rounded())
        let sign = n < 0 ? "-" : ""
        let a = abs(n)
        return "\(sign)\(a / 100).\(String(a % 100).leftPadded(2))"
    }
}
