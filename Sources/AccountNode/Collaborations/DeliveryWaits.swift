/// Answers that wait for the first delivery attempt of what a change pushed to other accounts.
///
/// A change to a collaboration reaches the members through the outbox, which retries until it
/// is acknowledged, so the caller need not wait. But a caller who creates a collaboration and
/// at once asks a member to join should find the invitation there: so the answer goes out once
/// every push has been acknowledged or its first attempt has failed (a member that is down or
/// cut off does not hold the caller up beyond one attempt; the outbox keeps trying).
struct DeliveryWaits {
    private struct Wait {
        var call: Call
        var reply: Reply
        var entries: Set<String>
    }

    private var waits: [Int: Wait] = [:]
    private var byEntry: [String: [Int]] = [:]
    private var next = 0

    mutating func add(_ call: Call, _ reply: Reply, entries: [String]) {
        next += 1
        waits[next] = Wait(call: call, reply: reply, entries: Set(entries))
        for e in entries { byEntry[e, default: []].append(next) }
    }

    /// The first attempt of `entry` is over: the calls whose waits are now empty.
    mutating func attempted(_ entry: String) -> [(Call, Reply)] {
        var done: [(Call, Reply)] = []
        for w in byEntry.removeValue(forKey: entry) ?? [] {
            waits[w]?.entries.remove(entry)
            if let wait = waits[w], wait.entries.isEmpty {
                waits[w] = nil
                done.append((wait.call, wait.reply))
            }
        }
        return done
    }
}

extension AccountNodeCore {
    /// Answers `call` with `reply` once the first delivery attempt of each of `entries` is over
    /// (at once if there are none).
    func answerAfterFirstDelivery(_ call: Call, _ reply: Reply, of entries: [String]) -> Reply {
        guard !entries.isEmpty else { return reply }
        deliveryWaits.add(call, reply, entries: entries)
        call.deferred = true
        return reply
    }

    /// An outbox entry's current attempt has an outcome.
    func firstDeliveryOver(_ entry: String) {
        for (call, reply) in deliveryWaits.attempted(entry) { finish(call, reply) }
    }
}
