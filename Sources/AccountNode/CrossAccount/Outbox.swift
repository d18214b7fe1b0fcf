import CleanRoomsModel
import JSON

/// Messages to other accounts' nodes that must arrive (deletes, collaboration changes, leaves):
/// each is logged with the change that made it, sent at once, and redelivered with capped
/// exponential backoff and jitter (and at once whenever the link reopens) until the other node
/// acknowledges it; only then is it removed, durably.
enum Outbox {
    /// Logs a new entry (replacing one of the same id not yet delivered) and sends it at once.
    static func add(_ core: AccountNodeCore, _ entry: OutboxEntry) {
        core.emit(.outboxAdded(entry))
        core.outboxAttempts[entry.id] = 0
        deliver(core, entry, delay: 0)
    }

    /// Sends an outbox entry (again), after `delay`. Each send has a token of its own, so an
    /// answer to an earlier send, or to an entry this one replaced, is never taken for its.
    /// (A delayed send carries the entry as it was; receivers take repeats and stale copies:
    /// deletes and leaves are idempotent, collaborations and associations ordered.)
    static func deliver(_ core: AccountNodeCore, _ entry: OutboxEntry, delay: Double) {
        let attempt = (core.outboxAttempts[entry.id] ?? 0) + 1
        core.outboxAttempts[entry.id] = attempt
        core.messageCounter += 1
        core.outboxSends[entry.id] = core.messageCounter
        core.send(PeerMessage(token: "outbox:\(attempt):\(core.messageCounter):\(entry.id)", account: entry.account, method: entry.method,
                              params: entry.params, delay: delay, timeout: core.config.crossAccount.callTimeout))
    }

    static func answered(_ core: AccountNodeCore, _ token: String, _ outcome: PeerOutcome) {
        let parts = token.split(separator: ":", maxSplits: 3)
        guard parts.count == 4, let attempt = Int(parts[1]), let send = UInt64(parts[2]) else { return }
        let id = String(parts[3])
        // Only the newest send counts: an older one's answer (or time-out) changes nothing.
        guard let entry = core.state.outbox[id], core.outboxSends[id] == send else { return }
        switch outcome {
        case .answered:
            core.outboxAttempts[id] = nil
            core.outboxSends[id] = nil
            core.emit(.outboxDelivered(id: id))
        case .refused where entry.method == CollaborationReplication.changed || entry.method == SharedAssociations.changed:
            // The other node heard it and will not take it (a collaboration held under another
            // creator, a member no longer active): asking again changes nothing.
            core.outboxAttempts[id] = nil
            core.outboxSends[id] = nil
            core.emit(.outboxDelivered(id: id))
        case .refused, .unreachable:
            deliver(core, entry, delay: backoff(core, attempt: attempt))
        }
        core.firstDeliveryOver(id)
    }

    /// Capped exponential backoff with jitter: `base · 2^(attempt-1)`, at most `cap`, scaled by
    /// a random factor in [0.5, 1) so that many retries do not fire together.
    static func backoff(_ core: AccountNodeCore, attempt: Int) -> Double {
        let t = core.config.crossAccount
        let raw = min(t.retryCap, t.retryBase * Double(1 << min(attempt - 1, 30)))
        return raw * (0.5 + 0.5 * Double(core.rng.next() % 1_000_000) / 1_000_000)
    }
}
