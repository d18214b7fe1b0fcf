import CleanRoomsModel
import JSON

/// Messages to other accounts' nodes that must arrive (deletes, collaboration changes, leaves,
/// association changes): each is logged with the change that made it, sent at once, and
/// redelivered with capped exponential backoff and jitter (and at once whenever the link
/// reopens) until the other node acknowledges it or refuses it for good; only then is it
/// removed, durably.
enum Outbox {
    /// Logs a new entry (replacing one of the same id not yet delivered) and sends it at once.
    static func add(_ core: AccountNodeCore, _ entry: OutboxEntry) {
        core.emit(.outboxAdded(entry))
        core.outboxSends.forget(entry.id)
        deliver(core, entry)
    }

    /// Sends an outbox entry (again). Each send has a token of its own, so an answer to an
    /// earlier send, or to an entry this one replaced, is never taken for its. (Receivers take
    /// repeats and stale copies: deletes and leaves are idempotent, collaborations and
    /// associations ordered.)
    static func deliver(_ core: AccountNodeCore, _ entry: OutboxEntry) {
        let n = core.nextMessageNumber()
        let attempt = core.outboxSends.record(entry.id, number: n)
        if attempt == 1, entry.method == PeerMethod.deleteJob { core.failpoint(.deleteAfterLog, beforeLog: false) }
        core.send(PeerMessage(token: .outbox(entryID: entry.id, attempt: attempt, n: n), account: entry.account, method: entry.method,
                              params: entry.params, timeout: core.config.crossAccount.callTimeout))
    }

    /// What became of a send. Delivered once the other node answers, or refuses for good (a
    /// 4xx error other than throttling: it heard the message and asking again changes
    /// nothing); otherwise sent again after a backoff.
    static func answered(_ core: AccountNodeCore, entryID id: String, number: UInt64, _ outcome: PeerOutcome, now: Double) {
        // Only the newest send counts: an older one's answer (or time-out) changes nothing.
        guard let send = core.outboxSends.latest(id), core.state.outbox[id] != nil, core.outboxSends.isCurrent(id, number: number) else { return }
        switch outcome {
        case .answered:
            delivered(core, id)
        case .refused(let e) where e.code.httpStatus < 500 && e.code != .throttling:
            delivered(core, id)
        case .refused, .unreachable:
            core.setTimer(.outboxRetry(entryID: id), at: now + backoff(core, attempt: send.attempt))
        }
        core.firstDeliveryOver(id)
    }

    private static func delivered(_ core: AccountNodeCore, _ id: String) {
        core.outboxSends.forget(id)
        core.emit(.outboxDelivered(id: id))
    }

    /// Capped exponential backoff with jitter: `base · 2^(attempt-1)`, at most `cap`, scaled by
    /// a random factor in [0.5, 1) so that many retries do not fire together.
    static func backoff(_ core: AccountNodeCore, attempt: Int) -> Double {
        let t = core.config.crossAccount
        let raw = min(t.retryCap, t.retryBase * Double(1 << min(attempt - 1, 30)))
        return raw * (0.5 + 0.5 * Double(core.rng.next() % 1_000_000) / 1_000_000)
    }
}
