import AccountNode
import Campaign
import Checker
import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Wire

/// `crml check run|analyze`: a workload with faults against a fresh cluster, recorded as a
/// history, then the checker's verdict on it (Jepsen's way: invoke/ok/fail/info, a nemesis, a
/// checker that says valid, invalid or unknown, with exit codes 0, 1, 2).
enum CheckCommand {
    static var group: CommandGroup {
        CommandGroup(command: "crml check", summary: "Exit codes: 0 valid, 1 invalid, 2 unknown; 252 usage; 255 the cluster could not be reached.", subcommands: [
            ("run", runSpec, "a workload under faults against a fresh cluster, recorded as a history, then the checker's verdict"),
            ("analyze", analyzeSpec, "the checker on a run's directory again (results.json, report.txt, report.html)"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        try group.run(args) { sub, rest in sub == "run" ? try runCampaign(rest) : try analyze(rest) }
    }

    static let runSpec = CommandSpec(command: "crml check run", summary: """
        Starts a fresh cluster in DIR, sets each account up with data, a trained model, a CAM open to the
        others and a seed; runs the clients for the time limit at about the rate given, in all (starts across
        accounts and within one, gets, lists, exports, retags, deletes from either side, deny-all resource
        policies); meanwhile the nemesis applies faults from its list every interval; then heals everything,
        waits for the cluster to settle, reads every node's final state and runs the checker. While it runs
        it prints its progress every second. The same seed gives the same schedule of operations and faults.
        --break starts every node in a deliberately broken mode, to see the checker fail.
        Exit codes: 0 valid, 1 invalid, 2 unknown; 252 usage; 255 the cluster could not be reached.
        """, options: [
        ("accounts", "accounts, 2 to 50 (default 3)"), ("time-limit", "seconds of workload (default 30)"), ("rate", "operations per second in all (default 20)"),
        ("concurrency", "clients, each acting as one account in turn (default 6, or one per account when there are more)"),
        ("nemesis", "faults, comma-separated (\(Nemesis.kinds.joined(separator: ", "))), all, or none (default partition,kill)"),
        ("nemesis-interval", "seconds between faults (default 5)"), ("seed", "the schedule's seed (default 1)"),
        ("break", "a deliberately broken node mode: no-tombstones, drop-outbox"), ("converge", "seconds to wait for the cluster to settle (default 30)"),
        ("peer-timeout", "seconds a node waits for another before counting it unreachable (default 1, shorter than the faults)"),
        ("dir", "the run's directory, which must not exist yet (default: $CRML_DIR, else ./check-SEED)"),
        ("hosts", "local (the default) or netns: each account in a network namespace of its own (root; see crml cluster up)"),
    ])

    static func runCampaign(_ args: [String]) throws -> ExitCode {
        guard let p = try runSpec.parse(args) else { return .ok }
        let n = try p.int("accounts", default: 3)
        let seconds = try p.double("time-limit", default: 30)
        let rate = try p.double("rate", default: 20)
        // Every account gets a client of its own.
        let concurrency = try p.int("concurrency", default: max(6, n))
        let interval = try p.double("nemesis-interval", default: 5)
        let seed = UInt64(try p.int("seed", default: 1))
        let converge = try p.double("converge", default: 30)
        let peerTimeout = try p.double("peer-timeout", default: 1)
        guard peerTimeout >= 0.1 else { throw CommandFailure.usage("--peer-timeout must be at least 0.1 s") }
        let named = (p.value("nemesis") ?? "partition,kill").split(separator: ",").map(String.init).filter { $0 != "none" }
        let kinds = named.flatMap { $0 == "all" ? Nemesis.kinds : [$0] }
        for k in kinds where !Nemesis.kinds.contains(k) { throw CommandFailure.usage("unknown fault \(k) in --nemesis; known: \(Nemesis.kinds.joined(separator: ", "))") }
        guard (2...50).contains(n) else { throw CommandFailure.usage("--accounts takes 2 to 50") }
        guard concurrency >= 1, rate > 0, seconds > 0, interval > 0 else { throw CommandFailure.usage("--concurrency, --rate, --time-limit and --nemesis-interval must be positive") }
        let breaks = (p.value("break") ?? "").split(separator: ",").map(String.init)
        for b in breaks where !["no-tombstones", "drop-outbox"].contains(b) { throw CommandFailure.usage("unknown --break \(b); known: no-tombstones, drop-outbox") }
        let dir = p.value("dir") != nil || ProcessInfo.processInfo.environment["CRML_DIR"] != nil ? ClusterDirectory.resolve(p) : ClusterDirectory(path: "check-\(seed)")
        if dir.exists { throw CommandFailure.usage("\(dir.path) exists; a run starts a fresh cluster (remove it, or give another --dir)") }

        // A fresh cluster, with the broken modes (if any) in its cluster file so restarts keep them.
        let ids = ClusterCommand.defaultIDs(n)
        var cluster = ClusterFile(region: "us-west-1", accounts: ids.map { ClusterCommand.newAccount($0) })
        cluster.breaks = breaks
        cluster.peerTimeout = peerTimeout
        for k in cluster.accounts.indices {
            let id = cluster.accounts[k].id
            (cluster.accounts[k].dataDir, cluster.accounts[k].logFile, cluster.accounts[k].readyFile) = (dir.dataDir(id), dir.logFile(id), dir.readyFile(id))
        }
        let hosts = p.value("hosts") ?? "local"
        guard hosts == "local" || hosts == "netns" else { throw CommandFailure.usage("--hosts takes local or netns; got \(hosts)") }
        if hosts == "netns" { try ClusterCommand.placeOnNamespaces(&cluster, dir) }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        try dir.save(cluster)
        // Registered before the launch: a start that fails half way leaves nothing running.
        defer { try? ClusterCommand.stopAll(dir) }
        cluster = try ClusterCommand.launch(dir, ids: ids)
        let history = try HistoryRecorder(path: dir.path + "/history.jsonl")
        let workload = Workload(cluster: cluster, dir: dir, history: history, seed: seed)
        Console.err("setting up \(n) accounts …")
        try workload.setUp()
        let setup = RunSetup(accounts: workload.accounts, buckets: Dictionary(uniqueKeysWithValues: workload.accounts.map { ($0, CampaignWorkload.buckets($0)) }))
        try Data(JSONWriter.bytes(setup.json, pretty: true)).write(to: URL(fileURLWithPath: dir.path + "/setup.json"))
        let config: JSON = ["accounts": .int(n), "timeLimit": .number(seconds), "rate": .number(rate), "concurrency": .int(concurrency),
                            "nemesis": .array(kinds.map { .string($0) }), "nemesisInterval": .number(interval), "seed": .int(Int(seed)),
                            "breaks": .array(breaks.map { .string($0) }), "peerTimeout": .number(peerTimeout),
                            "version": .string(CrmlVersion.number), "started": .string(ISO8601.format(Date().timeIntervalSince1970))]
        try Data(JSONWriter.bytes(config, pretty: true)).write(to: URL(fileURLWithPath: dir.path + "/run.json"))

        if !breaks.isEmpty { Console.err("\n*** DELIBERATELY BROKEN NODES: \(breaks.joined(separator: ", ")) — this run is meant to show the checker failing ***\n") }
        Console.err("running \(concurrency) clients for \(seconds) s at about \(rate) operations/s; faults: \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")) every \(interval) s …")
        let nemesis = Nemesis(kinds: kinds, interval: interval, cluster: cluster, dir: dir, history: history, seed: seed)
        let clients = workload.runClients(concurrency: concurrency, rate: rate)
        nemesis.start()
        let end = Date().addingTimeInterval(seconds)
        var nextReport = Date().addingTimeInterval(1)
        while Date() < end {
            usleep(50_000)  // the run's length, not synchronisation
            if Date() >= nextReport {
                Console.err(history.progress.line)
                nextReport = nextReport.addingTimeInterval(1)
            }
        }
        workload.stop()
        nemesis.stop()
        while clients.contains(where: { !$0.isFinished }) { usleep(20_000) }  // waiting for the clients' last calls (each has a time-out)

        Console.err("healing and waiting up to \(converge) s for the cluster to settle …")
        history.record(process: "nemesis", account: nil, .info, "heal-all", [:])
        try healAll(dir)
        let settled = waitSettled(dir, timeout: converge)
        if !settled { Console.err("the cluster did not settle within \(converge) s (undelivered messages or starts in flight remain); reading it anyway") }
        try readFinalStates(dir)
        history.close()
        return try analyze([dir.path])
    }

    /// Clears every link fault and failpoint, resumes paused nodes, restarts stopped ones.
    static func healAll(_ dir: ClusterDirectory) throws {
        var cluster = try dir.load()
        for a in cluster.accounts {
            if let pid = a.pid, ProcessControl.state(pid) == "T" { kill(pid, SIGCONT) }
        }
        _ = try ClusterCommand.launch(dir, ids: cluster.accounts.map(\.id))
        cluster = try dir.load()
        for a in cluster.accounts {
            guard let c = try? dir.adminClient(cluster, a, timeout: 5, readerThread: false) else { continue }
            _ = try? c.call("admin.HealLinks", [:], timeout: 5)
            for name in Failpoint.names { _ = try? c.call("admin.DisarmFailpoint", ["name": .string(name)], timeout: 5) }
            c.close()
        }
    }

    /// Until no node has an undelivered message or a start in flight (seen twice in a row).
    static func waitSettled(_ dir: ClusterDirectory, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var quiet = 0
        while Date() < deadline {
            guard let cluster = try? dir.load() else { return false }
            let busy = cluster.accounts.contains { a in
                guard let c = try? dir.adminClient(cluster, a, timeout: 5, readerThread: false) else { return true }
                defer { c.close() }
                guard let s = try? c.call("admin.Status", [:], timeout: 5) else { return true }
                return s["outbox"] != 0 || s["startIntents"] != 0
            }
            quiet = busy ? 0 : quiet + 1
            if quiet >= 2 { return true }
            usleep(200_000)  // polling with the deadline above
        }
        return false
    }

    static func readFinalStates(_ dir: ClusterDirectory) throws {
        let cluster = try dir.load()
        try FileManager.default.createDirectory(atPath: dir.path + "/final", withIntermediateDirectories: true)
        for a in cluster.accounts {
            guard let c = try? dir.adminClient(cluster, a, timeout: 10, readerThread: false), let d = try? c.call("admin.Dump", [:], timeout: 30) else {
                Console.err("could not read the final state of \(a.id)")
                continue
            }
            c.close()
            try Data(JSONWriter.bytes(d)).write(to: URL(fileURLWithPath: dir.path + "/final/\(a.id).json"))
        }
    }

    static let analyzeSpec = CommandSpec(command: "crml check analyze", arguments: "DIR", summary: """
        Runs the checker on DIR's history.jsonl and final/*.json (as `crml check run` left them) and writes
        results.json, report.txt and report.html, with message diagrams for the jobs it flags.
        Exit codes: 0 valid, 1 invalid, 2 unknown; 252 usage.
        """, options: [("job", "also draw the message diagram of this job id")])

    static func analyze(_ args: [String]) throws -> ExitCode {
        guard let p = try analyzeSpec.parse(args) else { return .ok }
        guard let path = p.positional.first else { throw CommandFailure.usage("crml check analyze needs the run's directory\n\n\(analyzeSpec.helpText)") }
        guard let historyBytes = FileManager.default.contents(atPath: path + "/history.jsonl") else {
            throw CommandFailure.usage("\(path)/history.jsonl not found: is \(path) the directory of a `crml check run`?")
        }
        let (events, bad) = HistoryEvent.parse([UInt8](historyBytes))
        if !bad.isEmpty { Console.err("history.jsonl: \(bad.count) line(s) could not be read (first: line \(bad[0])); they are left out") }
        guard let setupBytes = FileManager.default.contents(atPath: path + "/setup.json"), let setupJSON = try? JSONParser.parse([UInt8](setupBytes)),
              let setup = RunSetup(json: setupJSON) else {
            throw CommandFailure.usage("\(path)/setup.json is missing or not readable")
        }
        var dumps: [String: NodeDump] = [:]
        for a in setup.accounts {
            if let b = FileManager.default.contents(atPath: path + "/final/\(a).json"), let j = try? JSONParser(maxDepth: 1024).parse([UInt8](b)), let d = NodeDump(j) { dumps[a] = d }
        }
        let analysis = Checker.analyze(history: events, dumps: dumps, setup: setup)
        // What the run was asked to do (absent for histories from elsewhere).
        let runJSON = FileManager.default.contents(atPath: path + "/run.json").flatMap { try? JSONParser.parse([UInt8]($0)) }
        let run = runJSON.map(RunParameters.init(json:))
        let text = TextReport.render(analysis, run: run)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/report.txt"))
        try Data(JSONWriter.bytes(TextReport.json(analysis, run: runJSON), pretty: true)).write(to: URL(fileURLWithPath: path + "/results.json"))
        let html = HTMLReport.render(analysis, history: events, dumps: dumps, jobs: p.value("job").map { [$0] } ?? [], run: run)
        try Data(html.utf8).write(to: URL(fileURLWithPath: path + "/report.html"))
        Console.out(text)
        Console.out("\nwritten: \(path)/results.json, \(path)/report.txt, \(path)/report.html\n")
        switch analysis.verdict {
        case .valid: return .ok
        case .invalid: return .failed
        case .unknown: return .unknown
        }
    }
}
