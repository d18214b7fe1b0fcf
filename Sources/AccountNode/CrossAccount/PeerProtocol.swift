import CleanRoomsModel
import JSON

/// The methods account nodes call on each other (`docs/cross-account.md`). Only nodes of the
/// cluster, authenticated with their node secret, can call them; clients cannot.
enum PeerMethod {
    static let startJob = "peer.StartJob"
    static let jobStatus = "peer.JobStatus"
    static let startExport = "peer.StartExport"
    static let deleteJob = "peer.DeleteJob"
    static let sync = "peer.Sync"
}

extension AccountNodeCore {
    /// Peer methods throw `AWSError`; untyped for the same compiler reason as `Handler`.
    typealias PeerHandler = (AccountNodeCore, PeerRequest) throws -> Reply

    nonisolated(unsafe) static let peerHandlers: [String: PeerHandler] = [
        PeerMethod.startJob: { core, request in try CrossAccountStart.startFromPeer(core, request, validated: nil) },
        PeerMethod.jobStatus: JobReplication.statusesFromPeer,
        PeerMethod.startExport: JobReplication.startExportFromPeer,
        PeerMethod.deleteJob: DeletePropagation.deleteFromPeer,
        PeerMethod.sync: JobSync.syncFromPeer,
        CollaborationReplication.changed: CollaborationReplication.changedFromPeer,
        CollaborationReplication.join: CollaborationReplication.joinFromPeer,
        CollaborationReplication.left: CollaborationReplication.leftFromPeer,
        CollaborationReplication.check: CollaborationReplication.checkFromPeer,
        SharedAssociations.changed: SharedAssociations.changedFromPeer,
    ]

    /// Handles a request from another account's node; the effects end with its answer, which
    /// (like any answer) goes out only once what it depends on is durable. Never audited: the
    /// caller's own account records the call (XA-10).
    public func handlePeer(_ request: PeerRequest) -> [Effect] {
        clock = request.now
        requestServices[request.token] = "peer"
        let reply: Reply
        if let refusal = storageRefusal(service: "cleanroomsml"), !AccountNodeCore.readOnlyPeerMethods.contains(request.method) {
            reply = .error(refusal)
        } else if let handler = AccountNodeCore.peerHandlers[request.method] {
            do { reply = try handler(self, request) } catch {
                reply = .error(error as? AWSError ?? AWSError(.internalService, "\(error)"))
            }
        } else {
            reply = .error(AWSError(AWSErrorCode("UnknownOperationException", 404), "Method not found: \(request.method) is not a peer method of this node"),
                           protocolCode: -32601)
        }
        if peerAnswerDeferred {
            peerAnswerDeferred = false  // answered when the node it asked has answered
        } else {
            answerPeer(request.token, reply)
        }
        return effectsOfInternalStep()
    }

    /// What became of a message this node sent (`Effect.sendPeer`).
    public func peerAnswered(_ token: MessageToken, _ outcome: PeerOutcome, now: Double) -> [Effect] {
        guard storageOutage == nil else { return [] }
        clock = now
        switch token {
        case .start, .export, .join:
            guard let p = calls.take(token) else { break }
            switch p.kind {
            case .start(let job): CrossAccountStart.resolve(self, p.call, job, outcome, now: now)
            case .export(let export): JobReplication.resolveExport(self, p.call, export, outcome, now: now)
            case .join(let membershipID): MembershipHandlers.resolveJoin(self, p.call, membershipID: membershipID, outcome, now: now)
            }
        case .collaborationCheck:
            CollaborationCheck.resume(self, token, outcome, now: now)
        case .push(let account, let n):
            if pushes.answered(account, n: n) { pushStatuses(to: account, now: now) }
        case .outbox(let entryID, _, let n):
            Outbox.answered(self, entryID: entryID, number: n, outcome, now: now)
        case .sync(let account, _):
            if case .answered(let digest) = outcome { JobSync.reconcile(self, digest, from: account, now: now) }
        }
        return effectsOfInternalStep()
    }

    /// A timer this node asked for has fired. One that outlived what it was for changes nothing.
    public func timerFired(_ timer: TimerID, now: Double) -> [Effect] {
        guard storageOutage == nil else {
            // The sync chain goes on through an outage (it syncs again once writes resume).
            guard case .sync = timer else { return [] }
            clock = now
            setTimer(.sync, at: now + config.crossAccount.syncInterval)
            return takeEffectsDuringOutage()
        }
        clock = now
        switch timer {
        case .sync:
            for account in JobSync.counterparts(self).sorted() { JobSync.send(self, to: account, now: now) }
            setTimer(.sync, at: now + config.crossAccount.syncInterval)
            if now - lastTombstoneSweep >= max(config.crossAccount.syncInterval, config.crossAccount.tombstoneRetention / 10) {
                lastTombstoneSweep = now
                DeletePropagation.expireTombstones(self, now: now)
            }
        case .outboxRetry(let entryID):
            if let entry = state.outbox[entryID] { Outbox.deliver(self, entry) }
        case .messageTimeout(let token):
            return peerAnswered(token, .unreachable("no answer within its time-out"), now: now)
        case .finishDelete(let id):
            JobWork.finishDelete(self, jobID: id)
        case .finishModelDelete(let arn):
            AudienceModelHandlers.finishDelete(self, modelArn: arn)
        }
        return effectsOfInternalStep()
    }

    /// A link to `account`'s node has (re)opened: redeliver what it has not acknowledged and
    /// compare notes.
    public func peerConnected(_ account: String, now: Double) -> [Effect] {
        guard storageOutage == nil else { return [] }
        clock = now
        for e in state.outbox.values.sorted(by: { $0.createdAt < $1.createdAt }) where e.account == account {
            Outbox.deliver(self, e)
        }
        JobSync.send(self, to: account, now: now)
        return effectsOfInternalStep()
    }

    /// After recovery: starts nobody answered are aborted (presumed abort), undelivered
    /// messages go out again, interrupted work resumes, and the periodic sync is set.
    public func resumeAfterRecovery(now: Double) -> [Effect] {
        clock = now
        if !syncChainStarted {
            syncChainStarted = true
            setTimer(.sync, at: now + config.crossAccount.syncInterval)
        }
        // Deletes begun before the node stopped end now.
        for j in state.audienceGenerationJobs.values.sorted(by: { $0.arn < $1.arn }) where JobStatusOrder.isDeleting(j.status) {
            setTimer(.finishDelete(jobID: j.id), at: now)
        }
        for m in state.audienceModels.values.sorted(by: { $0.arn < $1.arn }) where JobStatusOrder.isDeleting(m.status) {
            setTimer(.finishModelDelete(modelArn: m.arn), at: now)
        }
        for intent in state.startIntents.values.sorted(by: { $0.createdAt < $1.createdAt }) {
            emit(.startIntentResolved(jobID: intent.jobID))
            DeletePropagation.tombstone(self, jobID: intent.jobID, counterpart: intent.owner, now: now, tellCounterpart: true)
        }
        for e in state.outbox.values.sorted(by: { $0.createdAt < $1.createdAt }) where outboxSends.latest(e.id) == nil {
            if config.breaks.contains("drop-outbox") {
                emit(.outboxDelivered(id: e.id))  // deliberately broken: forgotten
            } else {
                Outbox.deliver(self, e)
            }
        }
        return resumableWork()
    }

    /// A fresh number for a message this node sends (part of its token).
    func nextMessageNumber() -> UInt64 {
        messageCounter += 1
        return messageCounter
    }
}

/// Reading the params of a peer request: the sender is a node of the cluster, but its input is
/// still checked (a wrong type is a `ValidationException`, never a crash).
extension PeerRequest {
    func string(_ name: String) throws(AWSError) -> String {
        guard let s = params[name]?.stringValue, !s.isEmpty, s.utf8.count <= 2048 else {
            throw AWSError(.validation, "\(method): \(name) must be a non-empty string")
        }
        return s
    }

    func optionalString(_ name: String) -> String? { params[name]?.stringValue }

    /// A job id: the UUID both copies share.
    func jobID(_ name: String = "jobID") throws(AWSError) -> String {
        let id = try string(name)
        guard id.utf8.count == 36, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }) else {
            throw AWSError(.validation, "\(method): \(name) \(id) is not a job id")
        }
        return id
    }

    func statusDetails() -> StatusDetails? {
        guard let d = params["statusDetails"], d.objectValue != nil else { return nil }
        return StatusDetails(statusCode: d["statusCode"]?.stringValue, message: d["message"]?.stringValue)
    }
}

/// Job statuses in the order a job moves through them (a status never goes back).
enum JobStatusOrder {
    static func rank(_ status: String) -> Int? {
        switch status {
        case "CREATE_PENDING": return 0
        case "CREATE_IN_PROGRESS": return 1
        case "ACTIVE", "CREATE_FAILED": return 2
        default: return nil
        }
    }

    /// The delete states (XA-8): a job in one is on its way out and never comes back to another.
    static func isDeleting(_ status: String) -> Bool { status.hasPrefix("DELETE_") }

    static func isForward(from old: String, to new: String) -> Bool {
        guard let n = rank(new) else { return false }
        return n > (rank(old) ?? 0)
    }
}

/// PV-1: nothing about the owner's storage leaves its account. The other account sees a status
/// code and, for failures about the seed it sent, the message (with any `s3://` location
/// replaced); every other failure reaches it as a fixed sentence, since such messages may name
/// buckets, files or the owner's setup.
enum LocationScrubber {
    /// Failures whose message is about the submitter's own seed.
    static let seedFailures: Set<String> = ["INSUFFICIENT_SEED_MATCHES", "INVALID_SEED"]

    static func scrub(_ details: StatusDetails?) -> StatusDetails? {
        guard var d = details else { return nil }
        if let code = d.statusCode, seedFailures.contains(code) {
            d.message = d.message.map(scrub)
        } else if d.statusCode != nil || d.message != nil {
            d.message = "The run failed in the model owner's account\(d.statusCode.map { " (\($0))" } ?? "")."
        }
        return d
    }

    static func scrub(_ text: String) -> String {
        guard text.contains("s3://") else { return text }
        return text.split(separator: " ", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("s3://") || $0.hasPrefix("(s3://") ? "(a location in the owner's account)" : String($0) }
            .joined(separator: " ")
    }
}
