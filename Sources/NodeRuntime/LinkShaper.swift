import Wire

/// Applies the link faults set on this node (`Faults.link(to:)`) to each message it sends to a
/// peer, requests on its own links and answers on the peer's. Owned by the event loop.
///
/// Per message: dropped with probability `drop` (then `lost` runs instead, so a request still
/// gets its time-out); otherwise sent after `delay` ± `jitter`; sent a second time with
/// probability `duplicate` (later than the original tends to be, like a retransmission: up to
/// five times the delay); and with
/// probability `reorder` held back until the next message to the same peer has gone (or 50 ms
/// have passed), so the two arrive swapped.
final class LinkShaper {
    let loop: EventLoop
    let faults: Faults
    private var held: [String: (release: () -> Void, timer: UInt64)] = [:]
    static let holdLimit = 0.05

    init(loop: EventLoop, faults: Faults) {
        self.loop = loop
        self.faults = faults
    }

    /// Sends one message to `peer`: `send` writes it, `again` writes a duplicate (whose answer
    /// nobody waits for), `lost` stands in for a dropped message.
    func transmit(to peer: String, send: @escaping () -> Void, again: @escaping () -> Void, lost: @escaping () -> Void) {
        guard let f = faults.link(to: peer) else {
            send()
            release(peer)
            return
        }
        if faults.chance(f.drop) {
            lost()
            return
        }
        if faults.chance(f.duplicate) {
            // Like a retransmission, a copy tends to come late: up to five times the delay after.
            let late = faults.delay(f) + faults.uniform(0, 4 * (f.delay + f.jitter))
            if late > 0 { loop.after(late, again) } else { again() }
        }
        let go: () -> Void = { [weak self] in
            send()
            self?.release(peer)
        }
        if held[peer] == nil, faults.chance(f.reorder) {
            let timer = loop.after(LinkShaper.holdLimit) { [weak self] in self?.release(peer) }
            let wait = faults.delay(f)
            held[peer] = ({ [weak self] in
                if wait > 0 { self?.loop.after(wait, go) } else { go() }
            }, timer)
            return
        }
        let wait = faults.delay(f)
        if wait > 0 { loop.after(wait, go) } else { go() }
    }

    /// Sends the message held back for `peer`, if any.
    private func release(_ peer: String) {
        guard let h = held.removeValue(forKey: peer) else { return }
        loop.cancel(h.timer)
        h.release()
    }
}
