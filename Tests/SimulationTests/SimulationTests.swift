import Foundation
import AccountNode
import Campaign
import JSON
@testable import Simulation
import StorageFormat
import Testing
import TestSupport

/// Runs CPU-bound work on a thread of its own (never on the cooperative pool), while no
/// timing-sensitive test runs (`ExclusiveCPU`).
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await ExclusiveCPU.run {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            Thread.detachNewThread { c.resume(with: Result { try work() }) }
        }
    }
}

func world(seed: UInt64, duration: Double = 30, breaks: [String] = [], swarm: Bool = true) -> SimOptions {
    var o = SimOptions(seed: seed)
    o.duration = duration
    o.breaks = breaks
    o.swarm = swarm
    return o
}

/// The simulator (SIM-4, SIM-5): the real cores on simulated time, replayed exactly, caught
/// when broken, shrunk.
@Suite(.serialized) struct SimulationTests {
    @Test("SIM-4 a seed replays to the same history, and its schedule replays to it too")
    func replaysAreIdentical() async throws {
        let (a, b, c) = try await onThread { () -> (SimRun, SimRun, SimRun) in
            let o = world(seed: 7, swarm: false)
            let first = SimWorld(options: o).run()
            return (first, SimWorld(options: o).run(), SimWorld(options: o, schedule: first.schedule).run())
        }
        #expect(a.historyDigest == b.historyDigest)
        #expect(a.historyDigest == c.historyDigest, "replaying the recorded schedule gives the same run")
        #expect(a.history.count > 300, "a 30-second run at 20 operations/s has hundreds of events, got \(a.history.count)")
        #expect(!a.schedule.faults.isEmpty, "every fault kind is on (no swarm): faults were applied")
        #expect(a.verdict == .valid, "\(a.firstProblem ?? "")")
        // Jobs are named by the start that made them, so a schedule survives edits.
        let refs = a.schedule.ops.filter { Schedule.reference($0.args) != nil }
        #expect(!refs.isEmpty)
        for r in refs { #expect(a.schedule.ops.contains { $0.id == Schedule.reference(r.args)!.start && $0.f == "start" }) }
    }

    @Test("SIM-5 sound seeds are valid under every swarm the seeds draw")
    func soundSeedsAreValid() async throws {
        let runs = try await onThread { (20..<26).map { SimWorld(options: world(seed: $0)).run() } }
        for r in runs { #expect(r.verdict == .valid, "seed \(r.options.seed): \(r.firstProblem ?? "")") }
        // The swarm varies the worlds: not every seed gets the same fault kinds.
        #expect(Set(runs.map(\.swarm.kinds)).count > 1)
    }

    @Test("XA-8 SIM-5 tombstones past their retention are dropped, and no deleted job comes back")
    func tombstonesExpire() async throws {
        let runs = try await onThread { () -> [(kept: SimRun, expiring: SimRun)] in
            (UInt64(40)..<46).map { seed in
                var o = world(seed: seed, duration: 90)
                let kept = SimWorld(options: o).run()
                o.tombstoneRetention = 20
                return (kept, SimWorld(options: o).run())
            }
        }
        func tombstones(_ r: SimRun) -> Int { r.dumps.values.map { $0["tombstones"]?.arrayValue?.count ?? 0 }.reduce(0, +) }
        for (kept, expiring) in runs {
            #expect(expiring.verdict == .valid, "seed \(expiring.options.seed): \(expiring.firstProblem ?? "")")
            #expect(kept.verdict == .valid, "seed \(kept.options.seed): \(kept.firstProblem ?? "")")
        }
        let before = runs.map { tombstones($0.kept) }.reduce(0, +), after = runs.map { tombstones($0.expiring) }.reduce(0, +)
        #expect(before > 20 && after * 2 < before, "tombstones at the end: \(before) kept for a day, \(after) with a 20 s retention")
    }

    @Test("SIM-5 each deliberately broken mode is caught within 100 seeds", arguments: ["no-tombstones", "drop-outbox"])
    func brokenModesAreCaught(mode: String) async throws {
        let caught = try await onThread { () -> SimRun? in
            for seed in UInt64(1)...100 {
                let r = SimWorld(options: world(seed: seed, duration: 60, breaks: [mode])).run()
                if r.verdict == .invalid { return r }
            }
            return nil
        }
        let run = try #require(caught, "\(mode) was not caught in 100 seeds")
        #expect(run.broken.contains { ["both-or-neither", "no-resurrection", "delete-removes-everything"].contains($0) }, "\(run.broken)")
    }

    @Test("SIM-5 a failing run shrinks to a few operations and faults that still break the same invariant")
    func shrinking() async throws {
        let (original, outcome) = try await onThread { () -> (SimRun, Shrinker.Outcome) in
            var found: SimRun?
            for seed in UInt64(1)...100 {
                let r = SimWorld(options: world(seed: seed, duration: 60, breaks: ["drop-outbox"])).run()
                if r.verdict == .invalid { found = r; break }
            }
            let r = found!
            return (r, try Shrinker(maxTrials: 300).shrink(r.schedule))
        }
        #expect(outcome.invariant == original.broken.first)
        #expect(outcome.run.broken.contains(outcome.invariant))
        let before = original.schedule.ops.count + original.schedule.faults.count
        let after = outcome.schedule.ops.count + outcome.schedule.faults.count
        #expect(after < before / 10, "from \(before) entries to \(after)")
        // The result stands alone: replayed from its JSON, it fails the same way.
        let again = try await onThread { SimWorld(options: outcome.schedule.options, schedule: try Schedule(json: outcome.schedule.json)).run() }
        #expect(again.broken.contains(outcome.invariant))
    }

    @Test("SIM-4 a valid run has nothing to shrink")
    func validRunsDoNotShrink() async throws {
        let run = try await onThread { SimWorld(options: world(seed: 3, duration: 10)).run() }
        #expect(run.verdict == .valid)
        #expect(throws: Shrinker.Failure.self) { try Shrinker(maxTrials: 5).shrink(run.schedule) }
    }

    @Test("SIM-4 schedules are checked when read: a missing field is named")
    func badSchedules() throws {
        let good = Schedule(options: SimOptions(seed: 1), ops: [], faults: []).json
        #expect(throws: Never.self) { try Schedule(json: good) }
        var noSeed = good
        noSeed["options"] = [:]
        #expect { try Schedule(json: noSeed) } throws: { "\($0)".contains("seed") }
        var badOp = good
        badOp["operations"] = [["t": 1]]
        #expect { try Schedule(json: badOp) } throws: { "\($0)".contains("operation 0") }
        var badFault = good
        badFault["faults"] = [["start": 5, "end": 1, "fault": ["kind": "kill"]]]
        #expect { try Schedule(json: badFault) } throws: { "\($0)".contains("fault 0") }
    }

    @Test("SIM-4 the simulated disk: a crash loses what was not synced, tears the last record, and recovery cuts the tear")
    func simulatedDisk() throws {
        var disk = SimDisk()
        let events = JSONWriter.bytes(try JSON(encoding: [StateEvent.bootstrapped]))
        disk.sync(through: disk.append(events))
        _ = disk.append(events)
        let whole = disk.unsyncedBytes
        #expect(whole > 0)
        var torn = disk
        torn.crash(keeping: whole - 3)  // the second record, torn
        let recovered = try torn.recover(account: "111111111111")
        #expect(recovered.replayed == 1 && recovered.torn == whole - 3)
        var lost = disk
        lost.crash(keeping: 0)
        #expect(try lost.recover(account: "111111111111").replayed == 1)
        var kept = disk
        kept.crash(keeping: whole)
        #expect(try kept.recover(account: "111111111111").replayed == 2, "written but not synced may survive a crash whole")
    }

    @Test("SIM-4 events run in time order, and in the order scheduled at the same time")
    func eventOrder() {
        var q = EventQueue()
        var seen: [Int] = []
        let box = Box()
        for (t, k) in [(3.0, 0), (1.0, 1), (3.0, 2), (2.0, 3), (1.0, 4)] { q.schedule(at: t) { box.seen.append(k) } }
        while let e = q.pop() { e() }
        seen = box.seen
        #expect(seen == [1, 4, 3, 0, 2])
        #expect(q.now == 3)
    }

    final class Box: @unchecked Sendable { var seen: [Int] = [] }

    @Test("SIM-5 every stream of a seed draws its own sequence (clients, nodes and links never share choices)")
    func streamsAreIndependent() {
        for seed in [UInt64(0), 1, 2, 15, 1 << 40] {
            var firsts: Set<[UInt64]> = []
            for stream in UInt64(0)..<200 {
                var r = ScheduleRandom(seed: seed, stream: stream)
                firsts.insert((0..<4).map { _ in r.next() })
            }
            #expect(firsts.count == 200, "seed \(seed): two streams drew the same numbers")
        }
    }
}

/// `crml sim` from the command line, as a user runs it.
@Suite(.serialized) struct SimCommandTests {
    @Test("SIM-4 two processes replay a seed to byte-identical files and print the same history sha256")
    func replayAcrossProcesses() async throws {
        let dir = FileManagerTemp.directory("sim")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (a, b) = try await ExclusiveCPU.run {
            (try await crml(["sim", "replay", "--seed", "5", "--duration", "15", "--dir", dir + "/a"]),
             try await crml(["sim", "replay", "--seed", "5", "--duration", "15", "--dir", dir + "/b"]))
        }
        #expect(a.exitCode == 0, "\(a.stdoutText)\(a.stderrText)")
        let digest = a.stdoutText.split(separator: "\n").first { $0.hasPrefix("history sha256 ") }
        #expect(digest != nil && digest == b.stdoutText.split(separator: "\n").first { $0.hasPrefix("history sha256 ") })
        let files = directoryContents(dir + "/a")
        for name in ["history.jsonl", "schedule.json", "results.json", "report.txt", "report.html", "run.json"] { #expect(files[name] != nil, "\(name) written") }
        #expect(files == directoryContents(dir + "/b"))
        // `crml check analyze` reads a replay's directory as it reads a real run's.
        let analyzed = try await crml(["check", "analyze", dir + "/a"])
        #expect(analyzed.exitCode == 0 && analyzed.stdoutText.contains("verdict: VALID"), "\(analyzed.stdoutText)")
    }

    @Test("SIM-5 exit codes: 0 all valid, 1 a broken mode caught (with its replay command), 252 usage")
    func exitCodes() async throws {
        let ok = try await ExclusiveCPU.run { try await crml(["sim", "run", "--seeds", "3", "--duration", "10", "--check-determinism"]) }
        #expect(ok.exitCode == 0, "\(ok.stdoutText)\(ok.stderrText)")
        #expect(ok.stdoutText.contains("3 seeds: 3 valid"))
        let broken = try await ExclusiveCPU.run {
            try await crml(["sim", "run", "--seeds", "2", "--first-seed", "2", "--break", "drop-outbox", "--nemesis", "isolate-crash", "--no-swarm"])
        }
        #expect(broken.exitCode == 1, "\(broken.stdoutText)\(broken.stderrText)")
        #expect(broken.stdoutText.contains("replay: crml sim replay --seed"))
        let usage = try await crml(["sim", "run", "--nemesis", "earthquake"])
        #expect(usage.exitCode == 252 && usage.stderrText.contains("unknown fault earthquake"))
    }
}
