import AccountNode
import Campaign
import CleanRoomsModel
import JSON

/// The simulated network: each node has one connection to each other node it talks to (as
/// `PeerLinks` does), carrying its requests one way and the answers back. A connection is
/// opened when there is something to send (refused at once if the other node is down, never
/// completed while a fault drops its handshake), breaks when either node crashes, when a
/// message on it times out, and (in some worlds) at random; a message in flight when its
/// connection breaks is lost or delivered, and its answer is lost. Every message goes through
/// the link faults set on its direction, as `LinkShaper` applies them: dropped, delayed with
/// jitter, duplicated (the copy's answer is ignored), or held back so the next one overtakes.
extension SimWorld {
    struct Link {
        enum State { case down, connecting, ready }
        var state = State.down
        /// Bumped on every new connection and every break.
        var epoch = 0
        /// The incarnation of the other node this connection reached.
        var remote = 0
        /// Messages expecting an answer, by id.
        var inflight: [Int: MessageToken] = [:]
        /// Messages waiting for the connection to be ready.
        var queued: [(id: Int?, method: String, params: JSON)] = []
        var nextID = 0
    }

    /// Sends a core's message, with the blobs it carries read from the node's disk.
    func sendPeer(_ node: SimNode, _ m: PeerMessage) {
        var parts: [[UInt8]] = []
        for b in m.attachBlobs {
            guard let bytes = node.disk.blobs[b] else { return report(node, m.token, .refused(PeerMessage.attachmentGone)) }
            parts.append(bytes)
        }
        let params: JSON
        switch m.paramsWithAttachments(parts) {
        case .success(let p): params = p
        case .failure(let refusal): return report(node, m.token, .refused(refusal))
        }
        trace(node, "out", m.account, m.method, m.params["jobID"]?.stringValue)
        node.sentByMethod[m.method, default: 0] += 1
        let pair = Pair(from: node.account, to: m.account)
        var link = links[pair] ?? Link()
        link.nextID += 1
        let id = link.nextID
        let token = m.expectsAnswer ? m.token : nil
        links[pair] = link
        if link.state == .down {
            guard let other = nodes[m.account], other.isUp else {
                // Connection refused, reported from the loop a round trip later.
                if let token {
                    let incarnation = node.incarnation
                    schedule(at: now + latency(pair)) { [unowned self] in
                        self.report(node, token, .unreachable("cannot connect to account \(m.account)'s node"), incarnation: incarnation)
                    }
                }
                return
            }
            connect(pair)
        }
        guard let l = links[pair] else { return }
        if let token {
            links[pair]?.inflight[id] = token
            let epoch = l.epoch, incarnation = node.incarnation
            schedule(at: now + m.timeout) { [unowned self] in
                self.onLoop(node, incarnation) { core in
                    guard self.links[pair]?.inflight.removeValue(forKey: id) != nil else { return }
                    self.perform(node, core.peerAnswered(token, .unreachable("no answer from account \(m.account)'s node within \(m.timeout) s"), now: self.clock(node)))
                    if self.links[pair]?.epoch == epoch { self.fail(pair, "a request timed out") }
                }
            }
        }
        if l.state == .ready { transmit(pair, id: token == nil ? nil : id, m.method, params) } else { links[pair]?.queued.append((token == nil ? nil : id, m.method, params)) }
    }

    /// Opens the connection of `pair` to a node that is up: ready after the handshake's round trips, unless a fault drops them or the other node is
    /// paused (then it stays connecting until a message on it times out).
    private func connect(_ pair: Pair) {
        guard var link = links[pair], let sender = nodes[pair.from], let other = nodes[pair.to] else { return }
        link.state = .connecting
        link.epoch += 1
        link.remote = other.incarnation
        links[pair] = link
        let epoch = link.epoch, incarnation = sender.incarnation
        let forward = linkFaults[pair]?.drop ?? 0, back = linkFaults[Pair(from: pair.to, to: pair.from)]?.drop ?? 0
        let handshakeLost = other.paused || draw(pair) { $0.chance(forward) || $0.chance(back) || $0.chance(back) }
        guard !handshakeLost else { return }
        let handshake = 3 * latency(pair)
        schedule(at: now + handshake) { [unowned self] in
            self.onLoop(sender, incarnation) { core in
                guard var l = self.links[pair], l.epoch == epoch, l.state == .connecting else { return }
                guard let o = self.nodes[pair.to], o.isUp, o.incarnation == l.remote else { return self.fail(pair, "the other node went away while connecting") }
                l.state = .ready
                let queued = l.queued
                l.queued = []
                self.links[pair] = l
                for q in queued { self.transmit(pair, id: q.id, q.method, q.params) }
                self.perform(sender, core.peerConnected(pair.to, now: self.clock(sender)))
            }
        }
    }

    /// The connection of `pair` breaks: every message waiting for an answer on it is unreachable.
    func fail(_ pair: Pair, _ why: String) {
        guard var link = links[pair], link.state != .down, let sender = nodes[pair.from] else { return }
        link.state = .down
        link.epoch += 1
        let tokens = link.inflight.sorted { $0.key < $1.key }.map(\.value)
        link.inflight = [:]
        link.queued = []
        links[pair] = link
        for t in tokens { report(sender, t, .unreachable("the connection to account \(pair.to)'s node broke (\(why))")) }
    }

    /// A node crashed: its own connections are gone with it; the others' connections to it
    /// break when its reset reaches them.
    func connectionsLost(_ node: SimNode) {
        for other in accounts where other != node.account {
            let mine = Pair(from: node.account, to: other)
            if var l = links[mine] {
                (l.state, l.inflight, l.queued) = (.down, [:], [])
                l.epoch += 1
                links[mine] = l
            }
            let theirs = Pair(from: other, to: node.account)
            guard let l = links[theirs], l.state != .down else { continue }
            let epoch = l.epoch
            schedule(at: now + latency(theirs)) { [unowned self] in
                if self.links[theirs]?.epoch == epoch { self.fail(theirs, "connection reset") }
            }
        }
    }

    /// Reports a message's outcome from the loop (never from inside the send).
    func report(_ node: SimNode, _ token: MessageToken, _ outcome: PeerOutcome, incarnation: Int? = nil) {
        let incarnation = incarnation ?? node.incarnation
        schedule(at: now) { [unowned self] in
            self.input(node, incarnation) { $0.peerAnswered(token, outcome, now: self.clock(node)) }
        }
    }

    /// When a message sent now on `direction` arrives, after the link faults on it (nil: lost),
    /// and when its duplicate arrives, if it is duplicated.
    /// `answer`: an answer travels on the other node's connection, not on this direction's own
    /// requests' one, so the two keep no order between them.
    private func shape(_ direction: Pair, answer: Bool = false) -> (arrival: Double?, copy: Double?) {
        let lane = answer ? Pair(from: direction.from, to: direction.to + "/answers") : direction
        let base = max(now + latency(direction), lastArrival[lane] ?? 0)
        lastArrival[lane] = base
        guard let f = linkFaults[direction] else { return (base, nil) }
        return draw(direction) { rng in
            if f.drop >= 1 || (f.drop > 0 && rng.chance(f.drop)) { return (nil, nil) }
            func delay() -> Double { f.delay > 0 || f.jitter > 0 ? max(0, f.delay + (f.jitter > 0 ? rng.uniform(-f.jitter, f.jitter) : 0)) : 0 }
            var copy: Double?
            if f.duplicate > 0, rng.chance(f.duplicate) { copy = base + delay() + rng.uniform(0, 4 * (f.delay + f.jitter)) }
            var arrival = base + delay()
            if f.reorder > 0, rng.chance(f.reorder) { arrival += rng.uniform(0, 0.05) }
            return (arrival, copy)
        }
    }

    /// Puts a request on the ready connection of `pair`.
    private func transmit(_ pair: Pair, id: Int?, _ method: String, _ params: JSON) {
        guard let link = links[pair] else { return }
        let (epoch, remote) = (link.epoch, link.remote)
        let (arrival, copy) = shape(pair)
        if let arrival { schedule(at: arrival) { [unowned self] in self.arrive(pair, epoch: epoch, remote: remote, id: id, method, params) } }
        if let copy { schedule(at: copy) { [unowned self] in self.arrive(pair, epoch: epoch, remote: remote, id: nil, method, params) } }
        maybeBreak(pair)
    }

    /// In worlds where connections break, any message may be the last one on its connection.
    private func maybeBreak(_ pair: Pair) {
        guard swarm.connectionBreaks > 0, draw(pair, { $0.chance(swarm.connectionBreaks) }), let epoch = links[pair]?.epoch else { return }
        schedule(at: now + latency(pair)) { [unowned self] in
            if self.links[pair]?.epoch == epoch { self.fail(pair, "connection reset") }
        }
    }

    /// A request reaches the other node (if its connection still holds, or by luck if it broke
    /// after the bytes left).
    private func arrive(_ pair: Pair, epoch: Int, remote: Int, id: Int?, _ method: String, _ params: JSON) {
        guard let node = nodes[pair.to], node.incarnation == remote, node.isUp else { return }
        if links[pair]?.epoch != epoch, !draw(pair, { $0.chance(0.5) }) { return }
        onLoop(node, remote) { [unowned self] core in
            self.trace(node, "in", pair.from, method, params["jobID"]?.stringValue)
            let token = node.route(.peer(from: pair.from, epoch: epoch, id: id))
            self.perform(node, core.handlePeer(PeerRequest(token: token, from: pair.from, method: method, params: params, now: self.clock(node))))
        }
    }

    /// Sends a core's reply where its request came from.
    func answer(_ node: SimNode, _ route: SimNode.Route, _ reply: Reply) {
        switch route {
        case .client(let call):
            let outcome: CallOutcome
            switch reply {
            case .result(let r): outcome = .result(r)
            case .resultWithBody(var r, let blob):
                if let bytes = node.disk.blobs[blob] {
                    r["Body"] = .string(Base64.encode(bytes))
                    outcome = .result(r)
                } else {
                    outcome = .serviceError(type: "InternalError", message: "blob \(blob) is missing")
                }
            case .error(let e, _): outcome = .serviceError(type: e.code.name, message: e.message)
            }
            schedule(at: now + clientLatency(node)) { [unowned self] in self.complete(call, outcome) }
        case .peer(let from, let epoch, let id):
            guard let id else { return }
            let outcome: PeerOutcome
            switch reply {
            case .result(let r), .resultWithBody(let r, _): outcome = .answered(r)
            case .error(let e, _): outcome = .refused(e)
            }
            let pair = Pair(from: from, to: node.account)
            let (arrival, copy) = shape(Pair(from: node.account, to: from), answer: true)
            for t in [arrival, copy].compactMap({ $0 }) {
                schedule(at: t) { [unowned self] in
                    guard let sender = self.nodes[from], self.links[pair]?.epoch == epoch, sender.isUp else { return }
                    self.onLoop(sender, sender.incarnation) { core in
                        guard let token = self.links[pair]?.inflight.removeValue(forKey: id) else { return }
                        self.perform(sender, core.peerAnswered(token, outcome, now: self.clock(sender)))
                    }
                }
            }
            maybeBreak(pair)
        }
    }

    func clientLatency(_ node: SimNode) -> Double { node.random.uniform(0.0001, 0.0005) }

    /// A client's call to its account's node (as the admin); `done` gets its outcome once.
    func clientCall(_ account: String, _ method: String, _ params: JSON, timeout: Double, _ done: @escaping (CallOutcome) -> Void) {
        nextCall += 1
        let id = nextCall
        calls[id] = PendingCall(account: account, done: done)
        guard let node = nodes[account], node.isUp else {
            schedule(at: now + (nodes[account].map(clientLatency) ?? 0)) { [unowned self] in self.complete(id, .unknown("cannot connect to the node of account \(account)")) }
            return
        }
        let incarnation = node.incarnation
        schedule(at: now + clientLatency(node)) { [unowned self] in
            // Run even if the caller gave up (a time-out while the node was paused): the bytes
            // were on the socket; only the answer goes nowhere.
            self.input(node, incarnation) { core in
                let token = node.route(.client(call: id))
                return core.handle(ClientRequest(token: token, method: method, params: params, accessKeyID: node.config.admin.accessKeyID,
                                                 sourceIP: "10.0.0.1", now: self.clock(node)))
            }
        }
        schedule(at: now + timeout) { [unowned self] in self.complete(id, .unknown("no answer within \(Int(timeout)) s")) }
    }

    func complete(_ call: Int, _ outcome: CallOutcome) {
        guard let c = calls.removeValue(forKey: call) else { return }
        c.done(outcome)
    }
}
