import CleanRoomsModel
import JSON

/// What a node does while its storage takes no writes (a full disk): it serves reads and
/// refuses everything that would change state, and resumes by itself.
///
/// The shell reports the outage with the state its disk holds (`storageFailed`): the node goes
/// back to exactly what was acknowledged, as after a restart, and forgets whatever it had in
/// hand (calls waiting for other nodes, sends in flight; their senders retry). Until
/// `storageRecovered`:
/// - client calls that only read (`Get…`, `List…`, `Head…`, `Describe…`, `Lookup…`,
///   `Simulate…`) are served; every other call is refused with the service's 500 error saying
///   storage is full;
/// - requests from other nodes are refused with a 500 (so their outboxes and pushes retry),
///   but for the collaboration check, which only reads;
/// - work reports, peer outcomes, connections and sync ticks change nothing.
/// `storageRecovered` then resumes as a start does: presumed aborts, outbox redelivery, work.
extension AccountNodeCore {
    static let readOnlyPeerMethods: Set<String> = [CollaborationReplication.check]

    /// Whether `operation` only reads (the audit trail's `readOnly` too).
    static func isReadOnly(operation: String) -> Bool {
        readOnlyPrefixes.contains { operation.hasPrefix($0) }
    }

    /// The shell could not make a commit durable: none submitted so far will be. Go back to
    /// `durableState` (what the disk holds), answer every request still open with the storage
    /// refusal (what was held for the failed commits is dropped), and refuse writes.
    public func storageFailed(durableState: NodeState, reason: String) -> [Effect] {
        storageOutage = reason
        var out: [Effect] = []
        let held = gate.failAll()
        // A sync timer held for the failed commits is dropped: recovery starts the chain again.
        for case .setTimer(.sync, _) in held { syncChainStarted = false }
        // The calls whose records waited for the failed commits are recorded as refused.
        for case .audit(var event) in held {
            let refusal = storageRefusalError(service: AccountNodeCore.service(ofEventSource: event.eventSource))
            (event.errorCode, event.errorMessage) = (refusal.code.name, refusal.message)
            auditTrail.append(event)
            out.append(.audit(event))
        }
        for (token, service) in requestServices.sorted(by: { $0.key.value < $1.key.value }) {
            out.append(.reply(token, .error(storageRefusalError(service: service == "peer" ? "cleanroomsml" : service))))
        }
        requestServices.removeAll()
        state = durableState
        policyCache.removeAll()
        callerCache.removeAll()
        calls = PendingCalls()
        earlyStatus.removeAll()
        outboxSends = OutboxSends()
        pushes = StatusPushes()
        syncCursors = SyncCursors()
        checks = CollaborationChecks()
        peerAnswerDeferred = false
        deliveryWaits = DeliveryWaits()
        pending.removeAll()
        pendingEvents.removeAll()
        afterPersist.removeAll()
        return out
    }

    /// Effects of a step taken while writes are refused (only timers: nothing to commit).
    func takeEffectsDuringOutage() -> [Effect] {
        var out: [Effect] = []
        for e in afterPersist { if case .setTimer = e { out.append(e) } }
        afterPersist.removeAll()
        pending.removeAll()
        pendingEvents.removeAll()
        return out
    }

    /// The disk takes writes again: resume as after a start.
    public func storageRecovered(now: Double) -> [Effect] {
        guard storageOutage != nil else { return [] }
        storageOutage = nil
        return resumeAfterRecovery(now: now)
    }

    /// Why writes are refused now, as `service` answers it; nil while storage works.
    func storageRefusal(service: String) -> AWSError? {
        storageOutage == nil ? nil : storageRefusalError(service: service)
    }

    /// The error a write gets while storage takes none, as `service` answers it (a 500, so
    /// callers and other nodes retry). It names no path on the node's host.
    public func storageRefusalError(service: String) -> AWSError {
        AWSError(.internalError(service: service),
                 "Storage is full on account \(config.account)'s node, so nothing was changed; reads still work, and writes resume by themselves once there is space")
    }
}
