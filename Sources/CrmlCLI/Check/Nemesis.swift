import AccountNode
import Campaign
import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Synchronization
import Wire

/// The faults of `crml check run` on real nodes: the schedule of `FaultSchedule`, applied with
/// the nodes' `admin.` fault methods and the launcher's signals. On a cluster of network
/// namespaces, faults that only drop (partitions, loss, the cut before an isolated crash) are
/// the kernel's instead (`KernelFaults`): packets vanish between the namespaces and the nodes
/// learn of it only by their own time-outs. Each start and end is an `info` event of the process
/// `nemesis` in the history, with an id that pairs them; a kernel fault's says `"kernel": true`.
final class Nemesis: @unchecked Sendable {
    static var kinds: [String] { FaultSchedule.kinds }

    let cluster: ClusterFile
    let dir: ClusterDirectory
    let history: HistoryRecorder
    private var schedule: FaultSchedule
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(kinds: [String], interval: Double, cluster: ClusterFile, dir: ClusterDirectory, history: HistoryRecorder, seed: UInt64) {
        self.cluster = cluster
        self.dir = dir
        self.history = history
        schedule = FaultSchedule(kinds: kinds, interval: interval, accounts: cluster.accounts.map(\.id.rawValue), seed: seed)
    }

    var accounts: [String] { cluster.accounts.map(\.id.rawValue) }

    func start() {
        guard !schedule.kinds.isEmpty else { done.signal(); return }
        let t = Thread { [self] in self.run() }
        t.name = "nemesis"
        t.start()
    }

    /// Ends the faults in force (if any) and stops.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        done.wait()
    }

    private func run() {
        defer { done.signal() }
        let t0 = EventLoop.now()
        var upcoming = schedule.next()
        var active: [(fault: Fault, undo: () -> Void)] = []
        func end(_ a: (fault: Fault, undo: () -> Void)) {
            a.undo()
            history.record(process: "nemesis", account: nil, .info, "fault-end", a.fault.json)
        }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let now = EventLoop.now() - t0
            for a in active where a.fault.end <= now { end(a) }
            active.removeAll { $0.fault.end <= now }
            if let fault = upcoming, now >= fault.start {
                var described = fault.json
                if inKernel(fault) { described["kernel"] = true }
                history.record(process: "nemesis", account: nil, .info, "fault-start", described)
                active.append((fault, apply(fault)))
                upcoming = schedule.next()
            }
            usleep(20_000)  // the schedule's clock, not synchronisation
        }
        for a in active { end(a) }
    }

    private func admin(_ account: String, _ method: String, _ params: JSON = [:]) {
        guard let a = cluster.accounts.first(where: { $0.id.rawValue == account }), let c = try? dir.adminClient(cluster, a, timeout: 5, readerThread: false) else { return }
        _ = try? c.call(method, params, timeout: 5)
        c.close()
    }

    /// A link fault that drops packets and does nothing else: what the kernel can apply.
    static func onlyDrops(_ f: Fault.LinkFault) -> Bool { f == Fault.LinkFault(drop: f.drop) && f.drop > 0 }

    /// Whether `fault` is applied by the kernel: a drop and nothing else, on namespaces.
    func inKernel(_ fault: Fault) -> Bool {
        guard cluster.netns != nil else { return false }
        switch fault.action {
        case .link(_, _, let f, _): return Nemesis.onlyDrops(f)
        case .isolateCrash: return true
        default: return false
        }
    }

    /// Sets the kernel's drop of `fraction` of the packets `from` sends `to` (0 removes it).
    private func kernelDrop(_ n: ClusterFile.Netns, _ from: String, _ to: String, _ fraction: Double) {
        guard let a = cluster.accounts.first(where: { $0.id.rawValue == from }), let b = cluster.accounts.first(where: { $0.id.rawValue == to }) else { return }
        do {
            try KernelFaults.setDrop(n, from: from, fromAddress: a.host, to: to, toAddress: b.host, fraction: fraction)
        } catch {
            history.record(process: "nemesis", account: nil, .info, "fault-error", ["from": .string(from), "to": .string(to), "error": .string("\(error)")])
        }
    }

    private func link(_ from: String, _ to: String, _ fault: Fault.LinkFault, bothWays: Bool) -> () -> Void {
        if let n = cluster.netns, Nemesis.onlyDrops(fault) {
            kernelDrop(n, from, to, fault.drop)
            if bothWays { kernelDrop(n, to, from, fault.drop) }
            return { [self] in
                kernelDrop(n, from, to, 0)
                if bothWays { kernelDrop(n, to, from, 0) }
            }
        }
        var p = fault.json
        p["peer"] = .string(to)
        admin(from, "admin.SetLinkFault", p)
        if bothWays {
            var q = fault.json
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
    private func apply(_ fault: Fault) -> () -> Void {
        switch fault.action {
        case .link(let from, let to, let f, let bothWays): return link(from, to, f, bothWays: bothWays)
        case .crash(let account):
            signal("kill", account)
            return { [self] in signal("restart", account) }
        case .isolateCrash(let account, let others, let crashAfter):
            // A node cut off from every other crashes with whatever it could not yet tell them.
            let heals = others.map { link(account, $0, Fault.LinkFault(drop: 1), bothWays: true) }
            let crash = DispatchWorkItem { [self] in signal("kill", account) }
            DispatchQueue.global().asyncAfter(deadline: .now() + crashAfter, execute: crash)
            return { [self] in
                crash.cancel()  // ended early (the run is over): no crash after the heal
                signal("restart", account)
                for heal in heals { heal() }
            }
        case .pause(let account):
            signal("pause", account)
            return { [self] in signal("resume", account) }
        case .failpoint(let account, let name):
            admin(account, "admin.ArmFailpoint", ["name": .string(name)])
            return { [self] in
                // If it fired the node is down: start it again; if not, take the failpoint back.
                if let c = try? dir.load(), let a = c.accounts.first(where: { $0.id.rawValue == account }), ProcessControl.isAlive(a.pid ?? 0) {
                    admin(account, "admin.DisarmFailpoint", ["name": .string(name)])
                } else {
                    signal("restart", account)
                }
            }
        case .none:
            return {}
        }
    }
}
