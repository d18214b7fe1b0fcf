import AccountNode
import JSON

/// Nodes: start (recovery through the real node's code), crash, pause, and the effects of their
/// cores, performed as the real runtime performs them, with simulated durations.
extension SimWorld {
    /// Runs `body` on the node's loop: now, or when it resumes if paused; never if it crashed
    /// since `incarnation`.
    func onLoop(_ node: SimNode, _ incarnation: Int, _ body: @escaping (AccountNodeCore) -> Void) {
        guard node.incarnation == incarnation, let core = node.core else { return }
        if node.paused {
            node.deferred.append { [unowned self] in self.onLoop(node, incarnation, body) }
            return
        }
        body(core)
    }

    /// An input to the node's core; its effects are performed at once.
    func input(_ node: SimNode, _ incarnation: Int, _ f: @escaping (AccountNodeCore) -> [Effect]) {
        onLoop(node, incarnation) { [unowned self] core in self.perform(node, f(core)) }
    }

    /// Starts a node that is down: its state is read back from its disk as a real start reads
    /// it (a damaged log stops it, as it would stop a real node), blobs and work files nothing
    /// refers to are removed, the audit file is loaded, and work and messages left pending
    /// resume.
    func start(_ node: SimNode) {
        guard !node.isUp else { return }
        let state: NodeState
        do { state = try node.disk.recover(account: node.account).state } catch {
            problems.append("at \(format(now - t0)) s the node of account \(node.account) would not start again: \(error)")
            return
        }
        node.starts += 1
        let core = AccountNodeCore(config: node.config, state: state, seed: node.random.next())
        let referenced = state.referencedBlobs
        for b in node.disk.blobs.keys.sorted() where !referenced.contains(b) { node.disk.blobs[b] = nil }
        let files = core.referencedWorkFiles
        for m in node.models.keys.sorted() where !files.models.contains(m) { node.models[m] = nil }
        for a in node.audiences.keys.sorted() where !files.audiences.contains(a) { node.audiences[a] = nil }
        node.audit = Array(node.audit.suffix(node.config.auditCapacity))
        core.restoreAudit(node.audit)
        node.core = core
        node.syncedUntil = now
        (node.workQueue, node.working, node.cancelled, node.routes) = ([], false, [], [:])
        node.execution = WorkExecution()
        // The first start's administrator is durable before anyone can connect.
        for case .persist(let commit, let events) in core.bootstrapIfNeeded(now: clock(node)) {
            node.disk.sync(through: node.disk.append(encode(events)))
            _ = core.committed(commit, now: clock(node))
        }
        perform(node, core.resumeAfterRecovery(now: clock(node)))
    }

    /// Kills a node: what its disk had not synced is lost (or, with torn writes, a random part
    /// of it kept), its connections break, its clients' calls end without an answer.
    func crash(_ node: SimNode) {
        guard node.isUp else { return }
        node.core = nil
        node.incarnation += 1
        node.paused = false
        node.deferred = []
        node.routes = [:]
        node.armed = []
        (node.workQueue, node.working) = ([], false)
        let unsynced = node.disk.unsyncedBytes
        node.disk.crash(keeping: swarm.tornWrites && unsynced > 0 ? node.random.below(unsynced + 1) : 0)
        for id in calls.keys.sorted() where calls[id]?.account == node.account { complete(id, .unknown("the connection to the node was lost")) }
        connectionsLost(node)
    }

    func pause(_ node: SimNode) {
        guard node.isUp else { return }
        node.paused = true
    }

    func resume(_ node: SimNode) {
        guard node.paused else { return }
        node.paused = false
        let waiting = node.deferred
        node.deferred = []
        for f in waiting { f() }
    }

    func encode(_ events: [StateEvent]) -> [UInt8] {
        // Events always encode (they are the node's own values); a failure would be a bug.
        (try? JSONWriter.bytes(JSON(encoding: events))) ?? []
    }

    /// Performs a core's effects in order, as `AccountNodeRuntime.perform` does.
    func perform(_ node: SimNode, _ effects: [Effect]) {
        let incarnation = node.incarnation
        for e in effects {
            guard node.incarnation == incarnation else { return }  // crashed at a failpoint
            switch e {
            case .writeBlob(let id, let bytes): node.disk.blobs[id] = bytes
            case .persist(let commit, let events):
                let length = node.disk.append(encode(events))
                let at = max(now + node.uniform(swarm.diskSync), node.syncedUntil)
                node.syncedUntil = at
                schedule(at: at) { [unowned self] in
                    self.input(node, incarnation) { core in
                        node.disk.sync(through: length)
                        return core.committed(commit, now: self.clock(node))
                    }
                }
            case .deleteBlob(let id): node.disk.blobs[id] = nil
            case .audit(let event): node.audit.append(event)
            case .reply(let token, let reply):
                guard let route = node.routes.removeValue(forKey: token) else { continue }
                answer(node, route, reply)
            case .startWork(let w):
                node.cancelled.remove(w.id)
                node.workQueue.append(w)
                runWork(node)
            case .cancelWork(let id):
                node.cancelled.insert(id)
                node.workQueue.removeAll { $0.id == id }
            case .deleteFile(.model(let id)): node.models[id] = nil
            case .deleteFile(.audience(let id)): node.audiences[id] = nil
            case .sendPeer(let m): sendPeer(node, m)
            case .peerDeleteAcknowledged(let account, let jobID): trace(node, "ack", account, "peer.DeleteJob", jobID)
            case .setTimer(let timer, let at):
                schedule(at: at - SimWorld.epoch - node.skew) { [unowned self] in
                    self.input(node, incarnation) { $0.timerFired(timer, now: self.clock(node)) }
                }
            case .failpoint(let f):
                if node.armed.contains(f.rawValue) {
                    crash(node)
                    return
                }
            }
        }
    }

    /// Work runs one piece at a time, for real, taking a simulated time.
    func runWork(_ node: SimNode) {
        guard !node.working else { return }
        while let w = node.workQueue.first, node.cancelled.contains(w.id) { node.workQueue.removeFirst() }
        guard !node.workQueue.isEmpty else { return }
        let w = node.workQueue.removeFirst()
        node.working = true
        let incarnation = node.incarnation
        // Reported from the loop, after the effects being performed now (as WorkRunner posts it).
        schedule(at: now) { [unowned self] in
            self.input(node, incarnation) { core in
                if core.state.audienceGenerationJobs[w.id] != nil { node.runsStarted[w.id, default: 0] += 1 }
                return core.workStarted(w.id, now: self.clock(node))
            }
        }
        schedule(at: now + node.uniform(swarm.workTime)) { [unowned self] in
            self.onLoop(node, incarnation) { core in
                node.working = false
                if !node.cancelled.contains(w.id) {
                    let result = node.perform(w)
                    if !node.cancelled.contains(w.id) { self.perform(node, core.workFinished(result, now: self.clock(node))) }
                }
                if node.incarnation == incarnation { self.runWork(node) }
            }
        }
    }

    func trace(_ node: SimNode, _ direction: String, _ peer: String, _ method: String, _ jobID: String?) {
        node.trace.append(.compactObject(["t": .number(SimWorld.epoch + now), "dir": .string(direction), "peer": .string(peer),
                                          "method": .string(method), "jobID": jobID.map { .string($0) }]))
    }

    func format(_ t: Double) -> String { String(Double(Int((t * 1000).rounded())) / 1000) }
}
