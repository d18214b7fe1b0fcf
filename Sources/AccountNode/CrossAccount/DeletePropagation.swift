import CleanRoomsModel
import JSON

/// Deletes nobody can block (XA-8).
///
/// The deleting side removes its copy and writes a tombstone and an outbox entry in the same
/// log record, so once the caller has its answer the delete is both done here and certain to
/// reach the other side. The outbox entry is redelivered (capped exponential backoff with
/// jitter, and at once whenever the link reopens) until the other node acknowledges it. The
/// receiver deletes its copy and everything that belongs to it without asking its own
/// account's policies, cancels work in progress, and keeps a tombstone, so a late or repeated
/// start or status message cannot bring the job back.
enum DeletePropagation {
    /// A client's delete of a job shared with another account (authorization already done).
    static func deleteShared(_ core: AccountNodeCore, _ job: AudienceGenerationJob, now: Double) {
        JobWork.beginDelete(core, job, status: "DELETE_PENDING")
        tombstone(core, jobID: job.id, counterpart: job.counterpart ?? "", now: now, tellCounterpart: true)
    }

    /// Records that a job is gone for good; with `tellCounterpart`, also queues the delete for
    /// the other account's node.
    static func tombstone(_ core: AccountNodeCore, jobID: String, counterpart: String, now: Double, tellCounterpart: Bool) {
        if core.state.tombstones[jobID] == nil, !core.config.breaks.contains("no-tombstones") {
            core.emit(.jobTombstoned(Tombstone(jobID: jobID, counterpart: counterpart, deletedAt: now)))
        }
        guard tellCounterpart, !counterpart.isEmpty else { return }
        let entry = OutboxEntry(id: "delete:\(jobID)", account: counterpart, method: PeerMethod.deleteJob, params: ["jobID": .string(jobID)], createdAt: now)
        guard core.state.outbox[entry.id] == nil else { return }
        Outbox.add(core, entry)
    }

    /// Drops the tombstones older than `tombstoneRetention` whose job is gone here and whose
    /// delete the other account has acknowledged (no delete for it waits in the outbox), at most
    /// `batch` at a time, in one log record. By then the other side holds its own tombstone or
    /// never had the job, and no message about the job is still on its way (peer calls time out
    /// in seconds; only deletes are redelivered, and this one was acknowledged), so nothing is
    /// left that a tombstone would have to refuse. Bounds the tombstones to one retention
    /// period of deletes.
    static func expireTombstones(_ core: AccountNodeCore, now: Double, batch: Int = 10_000) {
        guard !core.config.breaks.contains("no-tombstones") else { return }
        let horizon = now - core.config.crossAccount.tombstoneRetention
        var expired: [String] = []
        for t in core.state.tombstones.values where t.deletedAt < horizon {
            guard core.state.outbox["delete:\(t.jobID)"] == nil, core.state.job(id: t.jobID) == nil else { continue }
            expired.append(t.jobID)
            if expired.count == batch { break }
        }
        if !expired.isEmpty { core.emit(.tombstonesExpired(jobIDs: expired.sorted())) }
    }

    /// The other side deleted the job: remove this copy and all its data, whatever this
    /// account's policies say, and acknowledge once that is durable.
    static func deleteFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        core.failpoint(.deleteApply, beforeLog: true)
        let id = try request.jobID()
        if let job = core.state.job(id: id) {
            // Only the account that shares the job can delete it here.
            guard job.counterpart == request.from else { throw AWSError(.accessDenied, "Job \(id) is not shared with account \(request.from)") }
            JobWork.beginDelete(core, job, status: "DELETE_IN_PROGRESS")
        }
        core.earlyStatus[id] = nil
        // Even for a job this node has never seen: the start may still be on its way.
        tombstone(core, jobID: id, counterpart: request.from, now: request.now, tellCounterpart: false)
        core.acknowledgePeerDelete(account: request.from, jobID: id)
        return .result(["jobID": .string(id), "deleted": true])
    }

    /// The other node removed its copy because sync found this side had deleted it (or never
    /// had it): no message back.
    static func deleteLocally(_ core: AccountNodeCore, _ job: AudienceGenerationJob, now: Double) {
        JobWork.beginDelete(core, job, status: "DELETE_IN_PROGRESS")
        tombstone(core, jobID: job.id, counterpart: job.counterpart ?? "", now: now, tellCounterpart: false)
    }
}
