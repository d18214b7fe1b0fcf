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

    static func digest(_ core: AccountNodeCore, for account: String, now: Double) -> JSON {
        let jobs = core.state.audienceGenerationJobs.values.filter { $0.counterpart == account }.sorted { $0.id < $1.id }.map { j -> JSON in
            var entry = j.jobRole == .owner ? JobReplication.statusPayload(core, j) : ["jobID": .string(j.id), "status": .string(j.status)]
            entry["role"] = .string(j.jobRole.rawValue)
            return entry
        }
        let intents = core.state.startIntents.values.filter { $0.owner == account }.map { JSON.string($0.jobID) }
        let tombstones = core.state.tombstones.values.filter { $0.counterpart == account }.sorted { $0.deletedAt > $1.deletedAt }
            .prefix(digestTombstones).map { JSON.string($0.jobID) }
        return ["takenAt": .number(now), "jobs": .array(jobs), "intents": .array(intents), "tombstones": .array(Array(tombstones))]
    }

    static func send(_ core: AccountNodeCore, to account: String, now: Double) {
        core.send(PeerMessage(token: "sync:\(account):\(core.nextMessageToken("n"))", account: account, method: PeerMethod.sync,
                              params: digest(core, for: account, now: now), timeout: core.config.crossAccount.callTimeout))
    }

    static func syncFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        guard request.params["jobs"]?.arrayValue != nil, request.params["takenAt"]?.numberValue != nil else {
            throw AWSError(.validation, "\(request.method): a digest has takenAt and jobs")
        }
        reconcile(core, request.params, from: request.from, now: request.now)
        return .result(digest(core, for: request.from, now: request.now))
    }

    /// Repairs this side against the other side's digest.
    static func reconcile(_ core: AccountNodeCore, _ digest: JSON, from account: String, now: Double) {
        let ids = { (key: String) in Set((digest[key]?.arrayValue ?? []).compactMap(\.stringValue)) }
        let tombstones = ids("tombstones"), intents = ids("intents")
        var theirs: [String: JSON] = [:]
        for j in digest["jobs"]?.arrayValue ?? [] { if let id = j["jobID"]?.stringValue { theirs[id] = j } }
        let takenAt = digest["takenAt"]?.numberValue ?? 0
        let mine = core.state.audienceGenerationJobs.values.filter { $0.counterpart == account }.sorted { $0.id < $1.id }
        for job in mine {
            if tombstones.contains(job.id) {
                DeletePropagation.deleteLocally(core, job, now: now)
            } else if let entry = theirs[job.id] {
                if entry["role"]?.stringValue == JobRole.owner.rawValue { JobReplication.applyOwnerStatus(core, job, entry, now: now) }
            } else if !intents.contains(job.id), job.createTime < takenAt - core.config.crossAccount.orphanGrace {
                DeletePropagation.deleteLocally(core, job, now: now)
            }
        }
    }
}
