import AccountNode
import Campaign
import Checker
import JSON

/// The campaign's clients and nemesis on simulated time: the same choices, calls and
/// interpretation as `crml check run` (`CampaignWorkload`, `FaultSchedule`), or, when the world
/// replays a schedule, exactly the operations and faults it lists.
extension SimWorld {
    var interval: Double { Double(options.concurrency) / max(0.1, options.rate) }

    func startClients() {
        var byProcess: [Int: [Schedule.Op]] = [:]
        for op in script?.ops ?? [] { byProcess[op.process, default: []].append(op) }
        clients = (0..<options.concurrency).map { p in
            var c = campaign.makeClient(process: p)
            let first = campaign.firstDelay(&c, interval: interval)
            return ClientState(client: c, nextDue: t0 + first, script: byProcess[p] ?? [])
        }
        for p in clients.indices {
            let due = script == nil ? clients[p].nextDue : t0 + (clients[p].script.first?.time ?? options.duration)
            schedule(at: due) { [unowned self] in self.turn(p) }
        }
    }

    /// A client's next operation, now.
    private func turn(_ p: Int) {
        guard now - t0 < options.duration else { return }
        let account = clients[p].client.account
        guard script != nil else {
            let op = campaign.next(&clients[p].client, now: now - t0)
            clients[p].nextDue += interval
            invoke(p, account, op, id: scheduleOps.count) { [unowned self] kind, value in
                if let delete = self.campaign.deleteRightAway(&self.clients[p].client, after: op, kind, value) {
                    self.invoke(p, account, delete, id: self.scheduleOps.count) { _, _ in self.afterOperation(p) }
                } else {
                    self.afterOperation(p)
                }
            }
            return
        }
        guard !clients[p].script.isEmpty else { return }
        let planned = clients[p].script.removeFirst()
        var args = planned.args
        if let (start, owner) = Schedule.reference(args) {
            guard let id = jobOfStart[start] else { return afterOperation(p) }  // its start did not happen: skipped
            args["arn"] = .string("arn:aws:cleanrooms-ml:\(region):\(owner):audience-generation-job/\(id)")
        }
        invoke(p, account, CampaignOperation(planned.f, args), id: planned.id) { [unowned self] _, _ in self.afterOperation(p) }
    }

    /// The client goes on at its next due time (at once if that has passed).
    private func afterOperation(_ p: Int) {
        let due = script == nil ? clients[p].nextDue : t0 + (clients[p].script.first?.time ?? options.duration)
        if due <= now { turn(p) } else { schedule(at: due) { [unowned self] in self.turn(p) } }
    }

    /// Runs one operation: its invoke and completion in the history, and in the schedule with
    /// its jobs named by the starts that created them.
    private func invoke(_ p: Int, _ account: String, _ op: CampaignOperation, id: Int, _ done: @escaping (HistoryEvent.Kind, JSON) -> Void) {
        var symbolic = op.args
        if let arn = op.args["arn"]?.stringValue, let job = arn.split(separator: "/").last.map(String.init), let start = startOfJob[job] {
            let owner = arn.split(separator: ":").dropFirst(4).first.map(String.init) ?? account
            symbolic["arn"] = ["job": .int(start), "account": .string(owner)]
        }
        scheduleOps.append(Schedule.Op(id: id, time: now - t0, process: p, account: account, f: op.f, args: symbolic))
        record(String(p), account, .invoke, op.f, op.args)
        let (method, params, timeout) = campaign.request(op, account: account)
        clientCall(account, method, params, timeout: timeout) { [unowned self] outcome in
            let (kind, value) = self.campaign.interpret(op, account: account, outcome, now: self.now - self.t0)
            if op.f == "start", kind == .ok, let job = value["arn"]?.stringValue?.split(separator: "/").last.map(String.init) {
                self.jobOfStart[id] = job
                self.startOfJob[job] = id
            }
            self.record(String(p), account, kind, op.f, value)
            done(kind, value)
        }
    }

    // MARK: Nemesis

    /// Starts `fault` at its time and ends it at its end (or when the workload ends).
    func scheduleFault(_ fault: Fault) {
        let end = min(fault.end, options.duration)
        schedule(at: t0 + fault.start) { [unowned self] in
            self.scheduleFaults.append(fault)
            self.record("nemesis", nil, .info, "fault-start", fault.json)
            let undo = self.apply(fault, until: self.t0 + end)
            self.schedule(at: self.t0 + end) {
                undo()
                self.record("nemesis", nil, .info, "fault-end", fault.json)
            }
        }
    }

    /// Applies a fault now; returns what ends it.
    private func apply(_ fault: Fault, until end: Double) -> () -> Void {
        switch fault.action {
        case .link(let from, let to, let f, let bothWays):
            return link(from, to, f, bothWays: bothWays)
        case .crash(let account):
            guard let n = nodes[account] else { return {} }
            crash(n)
            return { [unowned self] in self.start(n) }
        case .pause(let account):
            guard let n = nodes[account] else { return {} }
            pause(n)
            return { [unowned self] in self.resume(n) }
        case .failpoint(let account, let name):
            guard let n = nodes[account] else { return {} }
            if n.isUp { n.armed.insert(name) }
            return { [unowned self] in
                if n.isUp { n.armed.remove(name) } else { self.start(n) }
            }
        case .isolateCrash(let account, let others, let crashAfter):
            guard let n = nodes[account] else { return {} }
            let heals = others.map { link(account, $0, Fault.LinkFault(drop: 1), bothWays: true) }
            var ended = false
            if now + crashAfter < end {
                schedule(at: now + crashAfter) { [unowned self] in if !ended { self.crash(n) } }
            }
            return { [unowned self] in
                ended = true
                self.start(n)
                for heal in heals { heal() }
            }
        case .none:
            return {}
        }
    }

    private func link(_ from: String, _ to: String, _ f: Fault.LinkFault, bothWays: Bool) -> () -> Void {
        linkFaults[Pair(from: from, to: to)] = f
        if bothWays { linkFaults[Pair(from: to, to: from)] = f }
        return { [unowned self] in
            self.linkFaults[Pair(from: from, to: to)] = nil
            if bothWays { self.linkFaults[Pair(from: to, to: from)] = nil }
        }
    }
}
