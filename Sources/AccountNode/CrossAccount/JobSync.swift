import CleanRoomsModel
import JSON

/// Anti-entropy between two nodes that share jobs: each sends the other a digest of the shared
/// jobs (ids, roles, statuses), its starts in flight and its recent tombstones, on a timer and
/// whenever a link reopens; the receiver repairs its side and answers with its own digest, which
/// the sender uses the same way.
///
/// Repairs: deletes win (a tombstone on either side removes the other copy); a copy the other
/// side has no trace of is removed once older than `orphanGrace` (a copy of a shared job can only
/// exist after the other side logged the start, so no trace means it was aborted or deleted);
/// the submitter takes the owner's status if it is further along.
enum JobSync {
    /// Tombstones a digest carries (the newest); older deletes are long since delivered, and
    /// the no-trace rule covers them anyway.
    static let digestTombstones = 1000

    static func counterparts(_ core: AccountNodeCore) -> Set<String> {
        var out = Set(core.state.audienceGenerationJobs.values.compactMap(\.counterpart))
        out.formUnion(core.state.startIntents.values.map(\.owner))
        out.formUnion(core.state.outbox.values.map(\.account))
        return out
    }

    /// Shared jobs a digest lists at most; a sync covers the next window of ids, the next sync
    /// the one after, so a digest stays small however many jobs two accounts share.
    static let digestJobs = 1000

    /// A digest of what this node shares with `account`: the jobs with ids in (`after`,
    /// `through`] (`through` nil: to the end), every start in flight, the newest tombstones.
    static func digest(_ core: AccountNodeCore, for account: String, after: String, through: String?, now: Double) -> JSON {
        let jobs = core.state.audienceGenerationJobs.values
            .filter { $0.counterpart == account && $0.id > after && (through == nil || $0.id <= through!) }
            .sorted { $0.id < $1.id }.map { j -> JSON in
                var entry = j.jobRole == .owner ? JobReplication.statusPayload(core, j) : ["jobID": .string(j.id), "status": .string(j.status)]
                entry["role"] = .string(j.jobRole.rawValue)
                if j.jobRole == .owner {
                    // The exports the other account asked for, so a lost export push is repaired too.
                    let exports = core.state.audienceExportJobs.values.filter { $0.audienceGenerationJobArn == j.arn && $0.requestedBy == account }
                    if !exports.isEmpty { entry["exports"] = .array(exports.sorted { $0.id < $1.id }.map { JobReplication.exportPayload(j, $0) }) }
                }
                return entry
            }
        let intents = core.state.startIntents.values.filter { $0.owner == account }.map { JSON.string($0.jobID) }
        let tombstones = core.config.breaks.contains("drop-outbox") ? [] : core.state.tombstones.values.filter { $0.counterpart == account }
            .sorted { $0.deletedAt > $1.deletedAt }.prefix(digestTombstones).map { JSON.string($0.jobID) }
        return .compactObject(["takenAt": .number(now), "after": .string(after), "through": through.map { .string($0) },
                               "jobs": .array(jobs), "intents": .array(intents), "tombstones": .array(Array(tombstones))])
    }

    /// Sends the next window of the digest to `account`.
    static func send(_ core: AccountNodeCore, to account: String, now: Double) {
        let after = core.syncCursors.cursor(account)
        let ids = core.state.audienceGenerationJobs.values.filter { $0.counterpart == account && $0.id > after }.map(\.id).sorted()
        let through = ids.count > digestJobs ? ids[digestJobs - 1] : nil
        core.syncCursors.move(account, to: through)
        core.send(PeerMessage(token: .sync(account: account, n: core.nextMessageNumber()), account: account, method: PeerMethod.sync,
                              params: digest(core, for: account, after: after, through: through, now: now), timeout: core.config.crossAccount.callTimeout))
    }

    static func syncFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        guard request.params["jobs"]?.arrayValue != nil, request.params["takenAt"]?.numberValue != nil else {
            throw AWSError(.validation, "\(request.method): a digest has takenAt and jobs")
        }
        reconcile(core, request.params, from: request.from, now: request.now)
        return .result(digest(core, for: request.from, after: request.params["after"]?.stringValue ?? "",
                              through: request.params["through"]?.stringValue, now: request.now))
    }

    /// Repairs this side against the other side's digest.
    static func reconcile(_ core: AccountNodeCore, _ digest: JSON, from account: String, now: Double) {
        let ids = { (key: String) in Set((digest[key]?.arrayValue ?? []).compactMap(\.stringValue)) }
        let tombstones = ids("tombstones"), intents = ids("intents")
        var theirs: [String: JSON] = [:]
        for j in digest["jobs"]?.arrayValue ?? [] { if let id = j["jobID"]?.stringValue { theirs[id] = j } }
        let takenAt = digest["takenAt"]?.numberValue ?? 0
        let after = digest["after"]?.stringValue ?? "", through = digest["through"]?.stringValue
        let mine = core.state.audienceGenerationJobs.values.filter { $0.counterpart == account }.sorted { $0.id < $1.id }
        for job in mine {
            if tombstones.contains(job.id) {
                DeletePropagation.deleteLocally(core, job, now: now)
            } else if let entry = theirs[job.id] {
                if entry["role"]?.stringValue == JobRole.owner.rawValue, job.jobRole == .submitter {
                    JobReplication.applyOwnerStatus(core, job, entry, now: now)
                    for e in entry["exports"]?.arrayValue ?? [] {
                        if let id = e["exportID"]?.stringValue, let mine = core.state.audienceExportJobs[id], mine.audienceGenerationJobArn == job.arn {
                            JobReplication.applyExportStatus(core, mine, e, now: now)
                        }
                    }
                }
            } else if job.id > after, through == nil || job.id <= through!, !intents.contains(job.id),
                      job.createTime < takenAt - core.config.crossAccount.orphanGrace {
                DeletePropagation.deleteLocally(core, job, now: now)
            }
        }
    }
}
