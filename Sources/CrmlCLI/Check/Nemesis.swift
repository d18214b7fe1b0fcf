import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Synchronization
import Wire

/// The faults of `crml check run`, on a schedule drawn from the seed: every `interval` seconds
/// one fault from the list starts, and it lasts 1.6 intervals, so each overlaps the next (a node
/// can be killed while its link is cut, say) and some of the time only one is in force. Each
/// start and end is an `info` event of the process `nemesis` in the history, with an id that
/// pairs them.
final class Nemesis: @unchecked Sendable {
    /// How long a fault lasts, in intervals.
    static let span = 1.6
    static let kinds = ["partition", "one-way", "delay", "loss", "duplicate", "reorder", "kill", "pause", "failpoint", "isolate-crash"]

    let kinds: [String]
    let interval: Double
    let cluster: ClusterFile
    let dir: ClusterDirectory
    let history: HistoryRecorder
    private var rng: ScheduleRandom
    private let stopping = Atomic<Bool>(false)
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    init(kinds: [String], interval: Double, cluster: ClusterFile, dir: ClusterDirectory, history: HistoryRecorder, seed: UInt64) {
        self.kinds = kinds
        self.interval = interval
        self.cluster = cluster
        self.dir = dir
        self.history = history
        rng = ScheduleRandom(seed: seed, stream: 0)
    }

    var accounts: [String] { cluster.accounts.map(\.id.rawValue) }

    func start() {
        guard !kinds.isEmpty else { done.signal(); return }
        let t = Thread { [self] in self.run() }
        t.name = "nemesis"
        t.start()
        thread = t
    }

    /// Ends the fault in force (if any) and stops.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        done.wait()
    }

    private func run() {
        defer { done.signal() }
        let t0 = EventLoop.now()
        var k = 1
        var active: [(end: Double, fault: JSON, undo: () -> Void)] = []
        func end(_ a: (end: Double, fault: JSON, undo: () -> Void)) {
            a.undo()
            history.record(process: "nemesis", account: nil, .info, "fault-end", a.fault)
        }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let now = EventLoop.now()
            for a in active where a.end <= now { end(a) }
            active.removeAll { $0.end <= now }
            if now >= t0 + Double(k) * interval {
                let fault = plan(rng.pick(kinds), id: k)
                history.record(process: "nemesis", account: nil, .info, "fault-start", fault)
                active.append((t0 + (Double(k) + Nemesis.span) * interval, fault, apply(fault)))
                k += 1
            }
            usleep(20_000)  // the schedule's clock, not synchronisation
        }
        for a in active { end(a) }
    }

    /// The fault's targets, drawn from the schedule's generator.
    private func plan(_ kind: String, id: Int) -> JSON {
        let a = rng.pick(accounts)
        let others = accounts.filter { $0 != a }
        let b = others.isEmpty ? a : rng.pick(others)
        var v: JSON = ["kind": .string(kind), "id": .string(String(id))]
        switch kind {
        case "partition", "one-way", "delay", "loss", "duplicate", "reorder":
            v["from"] = .string(a)
            v["to"] = .string(b)
        case "failpoint":
            v["account"] = .string(a)
            v["name"] = .string(rng.pick(Failpoints.names))
        default:
            v["account"] = .string(a)
        }
        return v
    }

    private func admin(_ account: String, _ method: String, _ params: JSON = [:]) {
        guard let a = cluster.accounts.first(where: { $0.id.rawValue == account }), let c = try? dir.adminClient(cluster, a, timeout: 5, readerThread: false) else { return }
        _ = try? c.call(method, params, timeout: 5)
        c.close()
    }

    private func link(_ from: String, _ to: String, _ fault: JSON, bothWays: Bool) -> () -> Void {
        var p = fault
        p["peer"] = .string(to)
        admin(from, "admin.SetLinkFault", p)
        if bothWays {
            var q = fault
            q["peer"] = .string(from)
            admin(to, "admin.SetLinkFault", q)
        }
        return { [self] in
            admin(from, "admin.HealLinks", ["peer": .string(to)])
            if bothWays { admin(to, "admin.HealLinks", ["peer": .string(from)]) }
        }
    }

    private func signal(_ what: String, _ account: String) {
        _ = try? ClusterCommand.signal(what, [account, "--dir", dir.path])
    }

    /// Applies a fault; returns what ends it.
    private func apply(_ v: JSON) -> () -> Void {
        let kind = v["kind"]?.stringValue ?? ""
        let from = v["from"]?.stringValue ?? "", to = v["to"]?.stringValue ?? ""
        let account = v["account"]?.stringValue ?? ""
        switch kind {
        case "partition": return link(from, to, ["drop": 1], bothWays: true)
        case "one-way": return link(from, to, ["drop": 1], bothWays: false)
        case "delay": return link(from, to, ["delay": 0.05, "jitter": 0.05], bothWays: true)
        case "loss": return link(from, to, ["drop": 0.3], bothWays: true)
        case "duplicate": return link(from, to, ["duplicate": 0.8, "delay": 0.02, "jitter": 0.02], bothWays: true)
        case "reorder": return link(from, to, ["reorder": 0.5], bothWays: true)
        case "kill":
            signal("kill", account)
            return { [self] in signal("restart", account) }
        case "isolate-crash":
            // A node cut off from every other crashes with whatever it could not yet tell them.
            let heals = accounts.filter { $0 != account }.map { link(account, $0, ["drop": 1], bothWays: true) }
            let crash = DispatchWorkItem { [self] in signal("kill", account) }
            DispatchQueue.global().asyncAfter(deadline: .now() + Nemesis.span * interval * 0.6, execute: crash)
            return { [self] in
                crash.cancel()  // ended early (the run is over): no crash after the heal
                signal("restart", account)
                for heal in heals { heal() }
            }
        case "pause":
            signal("pause", account)
            return { [self] in signal("resume", account) }
        case "failpoint":
            admin(account, "admin.ArmFailpoint", ["name": v["name"] ?? ""])
            return { [self] in
                // If it fired the node is down: start it again; if not, take the failpoint back.
                if let c = try? dir.load(), let a = c.accounts.first(where: { $0.id.rawValue == account }), ProcessControl.isAlive(a.pid ?? 0) {
                    admin(account, "admin.DisarmFailpoint", ["name": v["name"] ?? ""])
                } else {
                    signal("restart", account)
                }
            }
        default:
            return {}
        }
    }
}
