#if canImport(Glibc)
import Glibc
#endif
import Campaign
import Checker
import Foundation
import JSON
import Simulation
import Synchronization

/// `crml sim run|replay|shrink`: whole clusters on simulated time (the `Simulation` target),
/// many seeds at a time, a seed replayed to its files, a failure shrunk to a minimal schedule.
enum SimCommand {
    static var group: CommandGroup {
        CommandGroup(command: "crml sim", summary: """
            The real account cores on a simulated clock, network and disk, driven by the same clients, faults and
            checker as `crml check run`; a seed gives the same run, byte for byte.
            Exit codes: 0 valid, 1 invalid, 2 unknown; 252 usage.
            """, subcommands: [
            ("run", runSpec, "many seeds, in parallel; for each failing seed, what broke and the command that replays it"),
            ("replay", replaySpec, "one seed (or an edited schedule) to its history, schedule and reports"),
            ("shrink", shrinkSpec, "remove operations and faults from a failing run while the same invariant still breaks"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        reexecWithDeterministicHashing()
        return try group.run(args) { sub, rest in
            switch sub {
            case "run": return try runSeeds(rest)
            case "replay": return try replay(rest)
            default: return try shrink(rest)
            }
        }
    }

    /// Swift seeds its hashing at random in every process, which changes the order of
    /// dictionaries and so of events; `crml sim` runs itself again with the seed fixed, so
    /// two processes replay a seed identically.
    static func reexecWithDeterministicHashing() {
        guard ProcessInfo.processInfo.environment["SWIFT_DETERMINISTIC_HASHING"] == nil else { return }
        setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
        let argv = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        // If exec fails the run goes on, deterministic within this process only.
        Console.err("crml sim: could not run itself with deterministic hashing (\(String(cString: strerror(errno)))); runs are reproducible within this process only")
    }

    static let worldOptions: [(name: String, help: String)] = [
        ("accounts", "accounts, 2 to 50 (default 3)"), ("duration", "simulated seconds of workload (default 60)"),
        ("rate", "operations per simulated second, in all (default 20)"),
        ("nemesis", "fault kinds a seed may use, comma-separated (\(FaultSchedule.kinds.joined(separator: ", "))), all, or none (default all)"),
        ("break", "a deliberately broken node mode: no-tombstones, drop-outbox"),
        ("tombstone-retention", "simulated seconds nodes keep an acknowledged delete's tombstone (default a day: longer than any run)"),
    ]
    static let worldFlags: [(name: String, help: String)] = [
        ("no-swarm", "every seed uses every fault kind and the default timings (no per-seed subsets)"),
    ]

    /// The options the flags give, for `seed`.
    static func options(_ p: ParsedArguments, seed: UInt64) throws -> SimOptions {
        var o = SimOptions(seed: seed)
        o.accounts = try p.int("accounts", default: 3)
        o.duration = try p.double("duration", default: 60)
        o.rate = try p.double("rate", default: 20)
        guard (2...50).contains(o.accounts) else { throw CommandFailure.usage("--accounts takes 2 to 50") }
        guard o.duration > 0, o.duration <= 86_400, o.rate > 0, o.rate <= 10_000 else { throw CommandFailure.usage("--duration (up to 86400) and --rate (up to 10000) must be positive") }
        let named = (p.value("nemesis") ?? "all").split(separator: ",").map(String.init).filter { $0 != "none" }
        o.nemesis = named.flatMap { $0 == "all" ? FaultSchedule.kinds : [$0] }
        for k in o.nemesis where !FaultSchedule.kinds.contains(k) { throw CommandFailure.usage("unknown fault \(k) in --nemesis; known: \(FaultSchedule.kinds.joined(separator: ", "))") }
        o.breaks = (p.value("break") ?? "").split(separator: ",").map(String.init)
        for b in o.breaks where !["no-tombstones", "drop-outbox"].contains(b) { throw CommandFailure.usage("unknown --break \(b); known: no-tombstones, drop-outbox") }
        o.swarm = !p.has("no-swarm")
        if p.value("tombstone-retention") != nil {
            let r = try p.double("tombstone-retention", default: 86_400)
            guard r >= 1 else { throw CommandFailure.usage("--tombstone-retention takes at least 1 simulated second") }
            o.tombstoneRetention = r
        }
        return o
    }

    static func seed(_ p: ParsedArguments, _ name: String, default d: Int) throws -> UInt64 {
        let s = try p.int(name, default: d)
        guard s >= 0 else { throw CommandFailure.usage("--\(name) takes a seed of 0 or more") }
        return UInt64(s)
    }

    // MARK: run

    static let runSpec = CommandSpec(command: "crml sim run", summary: """
        Runs seeds S to S+N-1, each a whole cluster on simulated time: set-up, the campaign's clients and
        faults for the duration, heal, settle, the checker. Each seed draws its own world (swarm testing):
        which fault kinds it uses, network latency, disk speed, clock skew, connection breaks, torn writes.
        Prints progress every second and, for each failing seed, the invariant broken and the command
        that replays it; with --dir, each failing seed's files go in DIR/seed-S.
        Exit codes: 0 all valid, 1 any invalid, 2 any unknown (none invalid); 252 usage.
        """, options: [("seeds", "how many seeds (default 100)"), ("first-seed", "the first seed (default 1)")] + worldOptions
        + [("jobs", "seeds run at once, in threads (default: the number of cores)"), ("dir", "where failing seeds' files go (default: not written)")],
        flags: worldFlags + [("check-determinism", "run each seed twice and fail if the two histories differ"),
                             ("stop-on-failure", "stop at the first failing seed (seeds already running finish)")])

    static func runSeeds(_ args: [String]) throws -> ExitCode {
        guard let p = try runSpec.parse(args) else { return .ok }
        let count = try p.int("seeds", default: 100)
        let first = try seed(p, "first-seed", default: 1)
        let jobs = try p.int("jobs", default: ProcessInfo.processInfo.activeProcessorCount)
        guard count >= 1, jobs >= 1 else { throw CommandFailure.usage("--seeds and --jobs must be at least 1") }
        let template = try options(p, seed: first)
        let twice = p.has("check-determinism")
        let dir = p.value("dir")
        if !template.breaks.isEmpty { Console.err("*** DELIBERATELY BROKEN NODES: \(template.breaks.joined(separator: ", ")) — these runs are meant to show the checker failing ***") }
        Console.err("running seeds \(first) to \(first + UInt64(count) - 1) (\(template.accounts) accounts, \(SimOptions.number(template.duration)) simulated s at \(SimOptions.number(template.rate)) operations/s each) in \(jobs) threads …")

        struct Tally {
            var done = 0, valid = 0, invalid = 0, unknown = 0, nondeterministic = 0
            var simulated = 0.0
            var lines: [String] = []
        }
        let tally = Mutex(Tally())
        let nextSeed = Atomic<Int>(0)
        let stopOnFailure = p.has("stop-on-failure")
        let stopped = Atomic<Bool>(false)
        let started = Date()
        let threads = (0..<min(jobs, count)).map { _ in
            Thread {
                while true {
                    let k = nextSeed.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard k < count, !stopped.load(ordering: .relaxed) else { return }
                    var o = template
                    o.seed = first + UInt64(k)
                    let run = SimWorld(options: o).run()
                    var line: String?
                    var differs = false
                    if twice {
                        let again = SimWorld(options: o).run()
                        if again.historyDigest != run.historyDigest {
                            differs = true
                            line = "seed \(o.seed): NOT DETERMINISTIC: history sha256 \(run.historyDigest) then \(again.historyDigest)"
                        }
                    }
                    if run.verdict != .valid {
                        let where_ = dir.map { "\($0)/seed-\(o.seed)" } ?? "sim-\(o.seed)"
                        if let dir { try? write(run, to: "\(dir)/seed-\(o.seed)") }
                        line = (line.map { $0 + "\n" } ?? "") + "seed \(o.seed): \(run.verdict.rawValue.uppercased()) \(run.firstProblem ?? "")\n"
                            + "  world: \(run.swarm.summary)\n  replay: \(run.replayCommand(dir: where_))"
                    }
                    tally.withLock { t in
                        t.done += 1
                        t.simulated += run.simulatedSeconds
                        switch run.verdict {
                        case .valid: t.valid += 1
                        case .invalid: t.invalid += 1
                        case .unknown: t.unknown += 1
                        }
                        if differs { t.nondeterministic += 1 }
                        if let line { t.lines.append(line) }
                        if stopOnFailure && (differs || run.verdict != .valid) { stopped.store(true, ordering: .relaxed) }
                    }
                }
            }
        }
        for t in threads { t.start() }
        var printed = 0
        var nextProgress = started.addingTimeInterval(1)
        while true {
            let t = tally.withLock { $0 }
            for l in t.lines.dropFirst(printed) { Console.out(l + "\n") }
            printed = t.lines.count
            if t.done == count || (stopped.load(ordering: .relaxed) && threads.allSatisfy(\.isFinished)) { break }
            if Date() >= nextProgress {
                let wall = Date().timeIntervalSince(started)
                Console.err(String(format: "  %d/%d seeds done, %.0f simulated s per wall s, %d failing", t.done, count, t.simulated / wall, t.invalid + t.unknown + t.nondeterministic))
                nextProgress = nextProgress.addingTimeInterval(1)
            }
            usleep(20_000)  // polling the workers' tally (the progress line comes once a second)
        }
        let t = tally.withLock { $0 }
        for l in t.lines.dropFirst(printed) { Console.out(l + "\n") }
        let wall = Date().timeIntervalSince(started)
        if t.done < count { Console.out("stopped at the first failure, after \(t.done) of \(count) seeds\n") }
        Console.out(String(format: "%d seeds: %d valid, %d invalid, %d unknown%@; %.0f simulated s in %.1f wall s (%.0f× real time, %.0f seeds/min)\n",
                           t.done, t.valid, t.invalid, t.unknown, twice ? ", \(t.nondeterministic) not deterministic" : "", t.simulated, wall,
                           t.simulated / max(wall, 1e-9), Double(t.done) / max(wall, 1e-9) * 60))
        if t.invalid > 0 || t.nondeterministic > 0 { return .failed }
        return t.unknown > 0 ? .unknown : .ok
    }

    // MARK: replay

    static let replaySpec = CommandSpec(command: "crml sim replay", summary: """
        Runs one seed (or the schedule in FILE, which may be edited: remove or move operations and faults)
        and writes DIR/history.jsonl, schedule.json, results.json, report.txt, report.html, run.json (and
        setup.json and final/, so `crml check analyze DIR` reads it too). Prints the verdict and the
        history's sha256: two replays of a seed give byte-identical files.
        Exit codes: 0 valid, 1 invalid, 2 unknown; 252 usage.
        """, options: [("seed", "the seed (default 1)"), ("schedule", "replay this schedule.json instead (its options are used)")] + worldOptions
        + [("dir", "where the files go (default ./sim-SEED); an existing directory's files are replaced")], flags: worldFlags)

    static func replay(_ args: [String]) throws -> ExitCode {
        guard let p = try replaySpec.parse(args) else { return .ok }
        let (options, schedule) = try loadRun(p)
        let dir = p.value("dir") ?? "sim-\(options.seed)"
        let run = SimWorld(options: options, schedule: schedule).run()
        try write(run, to: dir)
        return report(run, dir: dir)
    }

    /// The options (and schedule, if one was given) a replay or shrink runs.
    static func loadRun(_ p: ParsedArguments) throws -> (SimOptions, Schedule?) {
        guard let path = p.value("schedule") else { return (try options(p, seed: try seed(p, "seed", default: 1)), nil) }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw CommandFailure.usage("cannot read \(path)") }
        let json: JSON
        do { json = try JSONParser.parse([UInt8](bytes)) } catch { throw CommandFailure.usage("\(path) is not JSON: \(error)") }
        do {
            let s = try Schedule(json: json)
            return (s.options, s)
        } catch { throw CommandFailure.usage("\(path): \(error.description)") }
    }

    static func write(_ run: SimRun, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir + "/final", withIntermediateDirectories: true)
        for (name, bytes) in run.files(version: CrmlVersion.number) {
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
    }

    static func report(_ run: SimRun, dir: String) -> ExitCode {
        Console.out("seed \(run.options.seed): \(run.verdict.rawValue.uppercased())\(run.firstProblem.map { " \($0)" } ?? "")\n")
        Console.out("world: \(run.swarm.summary)\n")
        Console.out("\(run.schedule.ops.count) operations, \(run.schedule.faults.count) faults, \(Int(run.simulatedSeconds)) simulated s\n")
        Console.out("history sha256 \(run.historyDigest)\n")
        Console.out("written: \(dir)/history.jsonl, schedule.json, results.json, report.txt, report.html, run.json\n")
        switch run.verdict {
        case .valid: return .ok
        case .invalid: return .failed
        case .unknown: return .unknown
        }
    }

    // MARK: shrink

    static let shrinkSpec = CommandSpec(command: "crml sim shrink", summary: """
        Replays a failing seed (or schedule) and removes operations and faults, by halves and then one by one,
        while the same invariant still breaks; writes the smallest failing schedule.json and its reports to
        DIR and prints how many operations and faults remain.
        Exit codes: 1 shrunk (the run in DIR is invalid); 0 the run was valid (nothing to shrink);
        2 the schedule did not fail again; 252 usage.
        """, options: [("seed", "the seed (default 1)"), ("schedule", "shrink this schedule.json instead")] + worldOptions
        + [("invariant", "the invariant that must keep breaking (default: the first one broken)"),
           ("max-runs", "give up after this many trial runs (default 400)"), ("dir", "where the result goes (default ./shrink-SEED)")],
        flags: worldFlags)

    static func shrink(_ args: [String]) throws -> ExitCode {
        guard let p = try shrinkSpec.parse(args) else { return .ok }
        var (options, schedule) = try loadRun(p)
        let dir = p.value("dir") ?? "shrink-\(options.seed)"
        let maxRuns = try p.int("max-runs", default: 400)
        if schedule == nil {
            let run = SimWorld(options: options).run()
            guard run.verdict != .valid else {
                Console.out("seed \(options.seed) is valid: there is nothing to shrink\n")
                return .ok
            }
            schedule = run.schedule
            Console.err("seed \(options.seed): \(run.firstProblem ?? run.verdict.rawValue); \(run.schedule.ops.count) operations and \(run.schedule.faults.count) faults to shrink …")
        }
        let started = Date()
        var lastPrint = Date()
        let shrinker = Shrinker(maxTrials: maxRuns) { trials, left in
            if Date().timeIntervalSince(lastPrint) >= 1 {
                lastPrint = Date()
                Console.err("  \(trials) runs, \(left) operations and faults left")
            }
        }
        let outcome: Shrinker.Outcome
        do { outcome = try shrinker.shrink(schedule!, invariant: p.value("invariant")) } catch {
            Console.out(error.description + "\n")
            if case .valid = error { return .ok }
            return .unknown
        }
        options = outcome.schedule.options
        try write(outcome.run, to: dir)
        Console.out("shrunk to \(outcome.schedule.ops.count) operations and \(outcome.schedule.faults.count) faults (from \(schedule!.ops.count) and \(schedule!.faults.count)) in \(outcome.trials) runs, \(String(format: "%.1f", Date().timeIntervalSince(started))) s; still broken: \(outcome.invariant)\(outcome.minimal ? "" : " (run budget spent: maybe not minimal)")\n")
        _ = report(outcome.run, dir: dir)
        Console.out("replay it: crml sim replay --schedule \(dir)/schedule.json --dir \(dir)\n")
        return .failed
    }
}
