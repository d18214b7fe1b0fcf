import JSON

/// The checker's answer.
public enum Verdict: String, Sendable {
    /// Every invariant held.
    case valid
    /// At least one invariant was broken.
    case invalid
    /// The final state could not be read in full: nothing can be said.
    case unknown

    public var exitCode: Int32 {
        switch self {
        case .valid: return 0
        case .invalid: return 1
        case .unknown: return 2
        }
    }
}

/// One invariant, whether it held, and the cases that broke it (the first few, in words).
public struct InvariantResult: Sendable {
    public var id: String
    public var requirements: String
    public var statement: String
    public var checked: Int
    public var problems: [String]
    public var held: Bool { problems.isEmpty }
}

/// The figures of a run.
public struct Figures: Sendable {
    /// Seconds from a delete acknowledged in one account to the copy gone in the other.
    public var deleteLatencies: [Double] = []
    /// Reads that still saw a copy after a delete of the job was acknowledged in the other account.
    public var staleReads = 0
    /// ok / all, per account and per operation.
    public var availabilityByAccount: [String: (ok: Int, all: Int)] = [:]
    public var availabilityByOperation: [String: (ok: Int, all: Int)] = [:]
    public var peerMessagesSent: [String: Int] = [:]
    public var clientOperations = 0
    public var faults: [String: Int] = [:]
    public var duration = 0.0

    public func percentile(_ p: Double) -> Double? {
        guard !deleteLatencies.isEmpty else { return nil }
        let s = deleteLatencies.sorted()
        return s[min(s.count - 1, Int(Double(s.count) * p))]
    }
}

public struct Analysis: Sendable {
    public var verdict: Verdict
    public var invariants: [InvariantResult]
    public var figures: Figures
    /// Why the verdict is unknown, when it is.
    public var unknownBecause: [String]
    /// Jobs the broken invariants name (for the report's message diagrams).
    public var flaggedJobs: [String]
}

/// Reads a history and the nodes' final states and says which guarantees held.
public enum Checker {
    static let sampleLimit = 20

    public static func analyze(history: [HistoryEvent], dumps: [String: NodeDump], setup: RunSetup) -> Analysis {
        let (ops, faults) = Operation.pair(history)
        var unknown: [String] = []
        for a in setup.accounts where dumps[a] == nil { unknown.append("no final state from account \(a)") }
        let all = Array(dumps.values)
        // Every copy at the end, by job id.
        var copies: [String: [(account: String, copy: NodeDump.Copy)]] = [:]
        for d in all { for c in d.copies { copies[c.id, default: []].append((d.account, c)) } }
        func jobID(_ arn: String) -> String { String(arn.split(separator: "/").last ?? "") }
        let deletes = ops.filter { $0.f == "delete" }
        let okDeletes = deletes.filter(\.ok)
        var flagged: [String] = []
        var results: [InvariantResult] = []
        /// A read that found the job, not being deleted (a copy in a delete state is on its way out).
        func sawLive(_ op: Operation) -> Bool {
            op.result["present"]?.boolValue == true && !isDeleting(op.result["status"]?.stringValue)
        }

        // 1. Both copies or neither.
        do {
            var problems: [String] = []
            var checked = 0
            for (id, cs) in copies.sorted(by: { $0.key < $1.key }) {
                let shared = cs.filter { $0.copy.role != "local" }
                guard !shared.isEmpty else { continue }
                checked += 1
                let roles = Set(shared.map(\.copy.role))
                if roles != ["submitter", "owner"] || shared.count != 2 {
                    let c = shared[0]
                    problems.append("job \(id): only the \(c.copy.role)'s copy is left (in \(c.account), \(c.copy.status)); the other account (\(c.copy.counterpart ?? "?")) has none")
                    flagged.append(id)
                }
            }
            results.append(InvariantResult(id: "both-or-neither", requirements: "XA-1 XA-8",
                                           statement: "after convergence a shared job exists in both accounts or in neither", checked: checked, problems: problems))
        }

        // 2. An acknowledged delete removes both copies and everything that belongs to them.
        do {
            var problems: [String] = []
            for d in okDeletes {
                guard let arn = d.args["arn"]?.stringValue else { continue }
                let id = jobID(arn)
                for (account, c) in copies[id] ?? [] {
                    problems.append("job \(id): deleted in \(d.account) (acknowledged at \(fmt(d.completed))) but \(account) still has its \(c.role) copy (\(c.status))")
                    flagged.append(id)
                }
                for n in all {
                    if n.audienceFiles.contains(id) { problems.append("job \(id): deleted in \(d.account) but \(n.account) still holds its audience file") }
                    if let o = n.objects.first(where: { $0.contains("/\(id)/") }) { problems.append("job \(id): deleted in \(d.account) but \(n.account) still holds export output \(o)") }
                    if let e = n.exports.first(where: { jobID($0.jobArn) == id }) { problems.append("job \(id): deleted in \(d.account) but \(n.account) still lists export \(e.name)") }
                }
            }
            results.append(InvariantResult(id: "delete-removes-everything", requirements: "XA-8",
                                           statement: "an acknowledged delete removes both copies, the seed held for the run, the audience, the exports and their outputs",
                                           checked: okDeletes.count, problems: unique(problems)))
        }

        // 3. No resurrection: once a read in an account saw the job gone after its delete was
        // acknowledged, or that account's node durably acknowledged the other side's delete, no later read
        // there sees it again. (Node and client times are compared on the wall clock: they share
        // the machine.)
        do {
            var problems: [String] = []
            var checked = 0
            let ackOf: [String: Double] = Dictionary(okDeletes.compactMap { d in d.args["arn"]?.stringValue.map { (jobID($0), d.completedWall ?? d.invokedWall) } },
                                                     uniquingKeysWith: min)
            // Wall times shown as seconds since the run began, like the rest of the report.
            let wallOrigin = history.first.map { $0.wall - $0.time } ?? 0
            func fmtWall(_ w: Double) -> String { fmt(w - wallOrigin) }
            // account|id → when it was known gone there, and how.
            var goneSeen: [String: (time: Double, how: String)] = [:]
            for d in all {
                // The node's durable, successful answer to the other side's delete.
                for m in d.peerMessages where m.acknowledged && m.method == "peer.DeleteJob" {
                    guard let id = m.jobID, ackOf[id] != nil else { continue }
                    let key = "\(d.account)|\(id)"
                    if goneSeen[key].map({ m.time < $0.time }) ?? true { goneSeen[key] = (m.time, "its node acknowledged the other account's delete") }
                }
            }
            for op in ops where op.f == "get" && op.ok {
                guard let arn = op.args["arn"]?.stringValue else { continue }
                let id = jobID(arn)
                guard let ack = ackOf[id], op.invokedWall > ack else { continue }
                checked += 1
                let key = "\(op.account)|\(id)"
                let absent = op.result["present"]?.boolValue != true
                // After a read found it absent, finding it at all (even being deleted) is a
                // resurrection; after the node's acknowledgement of the other side's delete, the
                // copy may still show its delete state for a moment.
                let cameBack = goneSeen[key].map { $0.how == "a read saw it gone" ? !absent : sawLive(op) } ?? false
                if absent, goneSeen[key] == nil { goneSeen[key] = (op.completedWall ?? op.invokedWall, "a read saw it gone") }
                if cameBack, let gone = goneSeen[key], op.invokedWall > gone.time {
                    problems.append("job \(id): in \(op.account) \(gone.how) at \(fmtWall(gone.time)), then a read saw it present again at \(fmtWall(op.invokedWall)) (process \(op.process))")
                    flagged.append(id)
                }
            }
            results.append(InvariantResult(id: "no-resurrection", requirements: "XA-8",
                                           statement: "a deleted job never comes back: once a read sees it gone, or the account's node has acknowledged the other side's delete, no later read sees it", checked: checked, problems: problems))
        }

        // 3b. Delete states: once a read saw a copy in a delete state, no later read there sees it
        // in another state; and no copy is left in a delete state once the cluster has settled.
        do {
            var problems: [String] = []
            var checked = 0
            var deletingSeen: [String: Operation] = [:]
            for op in ops where op.f == "get" && op.ok {
                guard let arn = op.args["arn"]?.stringValue, op.result["present"]?.boolValue == true else { continue }
                let key = "\(op.account)|\(jobID(arn))"
                let status = op.result["status"]?.stringValue
                if isDeleting(status) {
                    checked += 1
                    if deletingSeen[key] == nil { deletingSeen[key] = op }
                } else if let first = deletingSeen[key], let seen = first.completed, op.invoked > seen {
                    problems.append("job \(jobID(arn)): in \(op.account) a read saw it \(first.result["status"]?.stringValue ?? "") at \(fmt(seen)), then \(status ?? "?") at \(fmt(op.invoked)) (process \(op.process))")
                    flagged.append(jobID(arn))
                }
            }
            for d in all {
                for c in d.copies {
                    checked += 1
                    if isDeleting(c.status) {
                        problems.append("job \(c.id): \(d.account)'s copy is still \(c.status) after the cluster settled")
                        flagged.append(c.id)
                    }
                }
            }
            results.append(InvariantResult(id: "delete-states", requirements: "XA-8",
                                           statement: "a copy in a delete state never shows another state again, and no copy is left in one once the cluster has settled",
                                           checked: checked, problems: problems))
        }

        // 4. Names: the owner's copy is SUBMITTER-NAME; names are unique in each account.
        do {
            var problems: [String] = []
            var checked = 0
            for (id, cs) in copies {
                guard let s = cs.first(where: { $0.copy.role == "submitter" }), let o = cs.first(where: { $0.copy.role == "owner" }) else { continue }
                checked += 1
                if o.copy.name != "\(s.account)-\(s.copy.name)" {
                    problems.append("job \(id): the owner's copy in \(o.account) is named \(o.copy.name), not \(s.account)-\(s.copy.name)")
                    flagged.append(id)
                }
            }
            for d in all {
                var seen: [String: String] = [:]
                for c in d.copies {
                    if let other = seen[c.name] { problems.append("\(d.account) has two jobs named \(c.name) (\(other) and \(c.id))") }
                    seen[c.name] = c.id
                }
            }
            results.append(InvariantResult(id: "names", requirements: "XA-5", statement: "the owner's copy is named SUBMITTER-NAME, and names are unique in each account",
                                           checked: checked, problems: problems))
        }

        // 5. One run per job, on the owner's node.
        do {
            var problems: [String] = []
            var checked = 0
            for (id, cs) in copies {
                checked += 1
                for (account, c) in cs {
                    if c.role == "submitter" && (c.runs > 0 || (dumps[account]?.runsStarted[c.arn] ?? 0) > 0) {
                        problems.append("job \(id): the submitter \(account) ran it")
                        flagged.append(id)
                    }
                    if c.runs > 1 { problems.append("job \(id): \(account) recorded \(c.runs) finished runs") }
                }
            }
            results.append(InvariantResult(id: "one-run", requirements: "XA-2", statement: "a job runs once, on the node of the account that owns the model",
                                           checked: checked, problems: problems))
        }

        // 6. Nothing of one account's storage reaches another.
        do {
            var problems: [String] = []
            var checked = 0
            func leaks(_ text: String, into account: String) -> String? {
                for (owner, buckets) in setup.buckets where owner != account {
                    for b in buckets where text.contains("s3://\(b)") || text.contains("\"\(b)\"") { return "\(b) (of \(owner))" }
                }
                return nil
            }
            for d in all {
                for c in d.copies {
                    checked += 1
                    let text = JSONWriter.string(c.view)
                    if let l = leaks(text, into: d.account) { problems.append("job \(c.id): \(d.account)'s copy names \(l)"); flagged.append(c.id) }
                    if c.role == "owner", c.view["seedAudience"] != nil { problems.append("job \(c.id): the owner \(d.account) sees the seed") }
                }
                for e in d.exports {
                    checked += 1
                    if let l = leaks(JSONWriter.string(e.view), into: d.account) { problems.append("export \(e.name) in \(d.account) names \(l)") }
                }
            }
            for op in ops where op.ok {
                checked += 1
                if let l = leaks(JSONWriter.string(op.result), into: op.account) { problems.append("\(op.f) by process \(op.process) in \(op.account) was answered with \(l)") }
            }
            results.append(InvariantResult(id: "no-location-leaks", requirements: "PV-1 PV-3",
                                           statement: "no seed, output or training location of one account is in anything another account holds or was answered",
                                           checked: checked, problems: unique(problems)))
        }

        // 7. Audit events only where they belong.
        do {
            var problems: [String] = []
            var checked = 0
            for d in all {
                let deletesCalled = deletes.filter { $0.account == d.account }.count
                let okHere = okDeletes.filter { $0.account == d.account }.count
                let deleteEvents = d.audit.filter { $0.eventName == "DeleteAudienceGenerationJob" }.count
                checked += 1
                if deleteEvents > deletesCalled {
                    problems.append("\(d.account) has \(deleteEvents) DeleteAudienceGenerationJob events for \(deletesCalled) delete calls made in it (a propagated delete was audited)")
                } else if deleteEvents < okHere {
                    problems.append("\(d.account) has \(deleteEvents) DeleteAudienceGenerationJob events for \(okHere) acknowledged deletes")
                }
                let starts = d.audit.filter { $0.eventName == "StartAudienceGenerationJob" }
                for e in starts {
                    checked += 1
                    if let r = e.resources.first(where: { $0.contains(":audience-generation-job/") && !$0.contains(":\(d.account):") }) {
                        problems.append("\(d.account)'s trail has a start of \(r), a job ARN of another account")
                    }
                }
                for c in d.copies where c.role == "owner" {
                    if starts.contains(where: { $0.resources.contains(c.arn) }) {
                        problems.append("job \(c.id): the owner \(d.account) has an audit event for a start it did not make")
                        flagged.append(c.id)
                    }
                }
            }
            results.append(InvariantResult(id: "audit", requirements: "XA-10", statement: "each call is audited in the caller's account only; the start only in the submitter's",
                                           checked: checked, problems: problems))
        }

        // 8. Tags per policy.
        do {
            var problems: [String] = []
            var checked = 0
            for d in all {
                for c in d.copies where c.role != "local" {
                    checked += 1
                    if c.role == "owner", let k = c.tags.keys.first(where: { $0.hasPrefix("req-") }) {
                        problems.append("job \(c.id): the owner's copy in \(d.account) carries the request's tag \(k)")
                        flagged.append(c.id)
                    }
                    if c.role == "submitter", let k = c.tags.keys.first(where: { $0.hasPrefix("cam-") }) {
                        problems.append("job \(c.id): the submitter's copy in \(d.account) carries the CAM's tag \(k)")
                    }
                }
            }
            results.append(InvariantResult(id: "tags", requirements: "TG-2 TG-3", statement: "request tags stay with the submitter's copy; the owner's copy never carries them",
                                           checked: checked, problems: problems))
        }

        // 9. No acknowledged write lost.
        do {
            var problems: [String] = []
            var checked = 0
            let touched = Set(deletes.compactMap { $0.args["arn"]?.stringValue.map(jobID) })
            for op in ops where op.f == "start" && op.ok {
                guard let arn = op.result["arn"]?.stringValue else { continue }
                let id = jobID(arn)
                guard !touched.contains(id) else { continue }
                checked += 1
                let cs = copies[id] ?? []
                if !cs.contains(where: { $0.copy.arn == arn }) {
                    problems.append("job \(id): started (acknowledged at \(fmt(op.completed))) in \(op.account), never deleted, but gone at the end")
                    flagged.append(id)
                }
            }
            for op in ops where op.f == "tag" && op.ok {
                guard let arn = op.args["arn"]?.stringValue, let key = op.args["key"]?.stringValue,
                      let c = copies[jobID(arn)]?.first(where: { $0.copy.arn == arn }) else { continue }
                checked += 1
                if c.copy.tags[key] == nil { problems.append("job \(c.copy.id): tag \(key) acknowledged at \(fmt(op.completed)) is missing from \(c.account)'s copy") }
            }
            results.append(InvariantResult(id: "no-lost-writes", requirements: "SIM-1", statement: "no acknowledged write is lost: started jobs not deleted are there, acknowledged tags are on them",
                                           checked: checked, problems: problems))
        }

        let figures = measure(ops: ops, faults: faults, dumps: dumps, okDeletes: okDeletes, history: history)
        let verdict: Verdict = !unknown.isEmpty ? .unknown : (results.allSatisfy(\.held) ? .valid : .invalid)
        var seenFlag = Set<String>()
        let flaggedUnique = flagged.filter { seenFlag.insert($0).inserted }
        return Analysis(verdict: verdict, invariants: results.map { r in var r = r; r.problems = Array(r.problems.prefix(sampleLimit)) + (r.problems.count > sampleLimit ? ["… and \(r.problems.count - sampleLimit) more"] : []); return r },
                        figures: figures, unknownBecause: unknown, flaggedJobs: flaggedUnique)
    }

    static func measure(ops: [Operation], faults: [HistoryEvent], dumps: [String: NodeDump], okDeletes: [Operation], history: [HistoryEvent]) -> Figures {
        var f = Figures()
        func jobID(_ arn: String) -> String { String(arn.split(separator: "/").last ?? "") }
        // Delete propagation: from the acknowledgement (client's wall clock) to the other node's tombstone.
        var ackWall: [String: (account: String, wall: Double)] = [:]
        for d in okDeletes {
            guard let arn = d.args["arn"]?.stringValue, let wall = d.completedWall else { continue }
            let id = jobID(arn)
            if let other = dumps.values.first(where: { $0.account != d.account && $0.tombstones[id] != nil }), let gone = other.tombstones[id] {
                f.deleteLatencies.append(max(0, gone - wall))
            }
            if ackWall[id] == nil || wall < ackWall[id]!.wall { ackWall[id] = (d.account, wall) }
        }
        for op in ops where op.ok && op.f == "get" {
            guard let arn = op.args["arn"]?.stringValue, let ack = ackWall[jobID(arn)], ack.account != op.account,
                  op.invokedWall > ack.wall, op.result["present"]?.boolValue == true, !isDeleting(op.result["status"]?.stringValue) else { continue }
            f.staleReads += 1
        }
        for op in ops {
            f.availabilityByAccount[op.account, default: (0, 0)].all += 1
            f.availabilityByOperation[op.f, default: (0, 0)].all += 1
            if op.ok {
                f.availabilityByAccount[op.account]!.ok += 1
                f.availabilityByOperation[op.f]!.ok += 1
            }
        }
        for d in dumps.values { for (m, n) in d.peerMessagesSent { f.peerMessagesSent[m, default: 0] += n } }
        f.clientOperations = ops.count
        for e in faults where e.f == "fault-start" { f.faults[e.value["kind"]?.stringValue ?? "?", default: 0] += 1 }
        f.duration = (history.map(\.time).max() ?? 0)
        return f
    }

    static func fmt(_ t: Double?) -> String {
        guard let t else { return "?" }
        let ms = Int((t * 1000).rounded())
        return "\(ms / 1000).\(String(ms % 1000).leftPadded(3)) s"
    }

    static func unique(_ xs: [String]) -> [String] {
        var seen = Set<String>()
        return xs.filter { seen.insert($0).inserted }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// The delete states of a job (`DELETE_PENDING`, `DELETE_IN_PROGRESS`, `DELETE_FAILED`).
func isDeleting(_ status: String?) -> Bool { status?.hasPrefix("DELETE_") ?? false }
