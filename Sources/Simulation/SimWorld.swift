import AccountNode
import Campaign
import Checker
import CleanRoomsModel
import JSON

/// A whole cluster in one process on simulated time: every account's node runs the real
/// `AccountNodeCore` over a simulated disk (`SimDisk`), network (`SimWorld+Network`) and
/// clock, driven by the campaign's clients (`CampaignWorkload`) and nemesis (`FaultSchedule`),
/// and judged by the same checker as `crml check run`.
///
/// Guarantees: everything that happens comes out of one event queue (`EventQueue`) and
/// generators seeded from the options, so the same options (and the same schedule, when one is
/// given) give the same history, byte for byte, in any process started with deterministic
/// hashing (`SWIFT_DETERMINISTIC_HASHING=1`, which `crml sim` sets for itself).
public final class SimWorld {
    public let options: SimOptions
    public let swarm: Swarm
    public let accounts: [String]
    let region = "us-west-1"
    /// The epoch second that simulated time 0 stands for (fixed: reports are reproducible).
    static let epoch = 1_790_000_000.0
    var queue = EventQueue()
    /// The world's set-up choices (clock skews). Each node (its disk, work, ids, clients'
    /// latency) and each direction of the network draw from streams of their own, so removing
    /// one operation from a schedule leaves the choices elsewhere as they were (shrinking
    /// converges); the clients and the nemesis have their own streams too.
    var rng: ScheduleRandom
    var pairRandom: [Pair: ScheduleRandom] = [:]
    var nodes: [String: SimNode] = [:]
    var links: [Pair: Link] = [:]
    var linkFaults: [Pair: Fault.LinkFault] = [:]
    /// When the last message on each direction arrives (messages keep their order on a
    /// connection unless a fault reorders them).
    var lastArrival: [Pair: Double] = [:]
    let campaign: CampaignWorkload
    public internal(set) var history: [HistoryEvent] = []
    /// Simulated time the workload began at (after set-up).
    var t0 = 0.0
    var calls: [Int: PendingCall] = [:]
    var nextCall = 0
    var clients: [ClientState] = []
    let script: Schedule?
    /// The operations run and the faults applied, as `schedule.json` records them.
    var scheduleOps: [Schedule.Op] = []
    var scheduleFaults: [Fault] = []
    /// Start operation id → job id, and back.
    var jobOfStart: [Int: String] = [:]
    var startOfJob: [String: Int] = [:]
    /// What went wrong outside the checker's view (a node that would not start again).
    public internal(set) var problems: [String] = []

    struct Pair: Hashable {
        let from: String
        let to: String
    }

    struct PendingCall {
        let account: String
        let done: (CallOutcome) -> Void
    }

    struct ClientState {
        var client: CampaignWorkload.Client
        var nextDue: Double
        /// Scripted mode: this process's operations still to run.
        var script: [Schedule.Op] = []
        var idle = false
    }

    /// A world for `options`; with `schedule`, its clients and nemesis do exactly what it says
    /// instead of drawing their choices from the seed.
    public init(options: SimOptions, schedule: Schedule? = nil) {
        self.options = options
        swarm = Swarm.draw(options)
        accounts = (1...max(1, options.accounts)).map { k in k <= 9 ? String(repeating: String(k), count: 12) : String(100_000_000_000 + k) }
        rng = ScheduleRandom(seed: options.seed, stream: 8_000)
        campaign = CampaignWorkload(accounts: accounts, region: region, seed: options.seed)
        script = schedule
        for a in accounts {
            var config = NodeConfig(account: AccountID(a)!, region: region,
                                    admin: .init(accessKeyID: "AKIASIM" + a + "0", secretAccessKey: "simulated-secret-of-account-" + a))
            config.breaks = Set(options.breaks)
            config.crossAccount.callTimeout = options.peerTimeout
            if let r = options.tombstoneRetention { config.crossAccount.tombstoneRetention = r }
            config.peers = Set(accounts.filter { $0 != a })
            let skew = swarm.clockSkew > 0 ? rng.uniform(-swarm.clockSkew, swarm.clockSkew) : 0
            nodes[a] = SimNode(account: a, config: config, skew: skew, random: ScheduleRandom(seed: options.seed, stream: 9_000 + UInt64(nodes.count)))
        }
    }

    var now: Double { queue.now }

    /// The node's own clock, epoch seconds (what its core is told).
    func clock(_ node: SimNode) -> Double { SimWorld.epoch + queue.now + node.skew }

    func schedule(at time: Double, _ run: @escaping () -> Void) { queue.schedule(at: time, run) }

    /// A draw from the stream of one direction of the network.
    func draw<T>(_ pair: Pair, _ f: (inout ScheduleRandom) -> T) -> T {
        let index = { (a: String) in UInt64(self.accounts.firstIndex(of: a) ?? 0) }
        var r = pairRandom[pair] ?? ScheduleRandom(seed: options.seed, stream: 10_000 + index(pair.from) * 64 + index(pair.to))
        let v = f(&r)
        pairRandom[pair] = r
        return v
    }

    func latency(_ pair: Pair) -> Double { draw(pair) { $0.uniform(swarm.latency.lowerBound, swarm.latency.upperBound) } }

    /// Runs every event up to `time`, and moves the clock there.
    func run(until time: Double) {
        while let t = queue.nextTime, t <= time, let event = queue.pop() { event() }
        queue.advance(to: time)
    }

    /// Runs events until `done` holds or the clock passes `limit`; says whether it held.
    @discardableResult
    func run(until limit: Double, or done: () -> Bool) -> Bool {
        while !done() {
            guard let t = queue.nextTime, t <= limit, let event = queue.pop() else {
                queue.advance(to: limit)
                return done()
            }
            event()
        }
        return true
    }

    // MARK: The run

    /// Runs the whole campaign: start, set-up, workload under faults, heal, settle; then reads
    /// every node and runs the checker.
    public func run() -> SimRun {
        for a in accounts { start(nodes[a]!) }
        let setUp = setUpAccounts()
        let setUpTime = now
        // The workload begins at a power of two past the set-up, longer than the rest of the
        // run: then `t0 + t` and `x - t0` are exact (Sterbenz), so a schedule's relative times
        // give back exactly the instants they were taken at, and a replayed schedule runs
        // exactly as the seed did. The idle stretch is not counted as simulated work.
        t0 = 256
        while t0 < setUpTime || t0 < options.duration + options.converge + 120 { t0 *= 2 }
        run(until: t0)
        if setUp {
            startClients()
            let faults: [Fault]
            if let script { faults = script.faults } else {
                var s = FaultSchedule(kinds: swarm.kinds, interval: options.nemesisInterval, accounts: accounts, seed: options.seed)
                var list: [Fault] = []
                while let f = s.next(), f.start < options.duration { list.append(f) }
                faults = list
            }
            for f in faults where f.start < options.duration { scheduleFault(f) }
            run(until: t0 + options.duration)
            // The clients' last calls end (each has a time-out).
            run(until: now + 60) { calls.isEmpty }
            record("nemesis", nil, .info, "heal-all", [:])
            healAll()
            settle()
        }
        let dumps = Dictionary(uniqueKeysWithValues: accounts.map { a in (a, nodes[a]!.dump(wallClock: clock(nodes[a]!))) })
        let setup = RunSetup(accounts: accounts, buckets: Dictionary(uniqueKeysWithValues: accounts.map { ($0, CampaignWorkload.buckets($0)) }))
        let analysis = Checker.analyze(history: history, dumps: dumps.compactMapValues(NodeDump.init), setup: setup)
        let result = SimRun(options: options, swarm: swarm, analysis: analysis, history: history, dumps: dumps, setup: setup,
                            schedule: script ?? Schedule(options: options, ops: scheduleOps, faults: scheduleFaults), problems: problems,
                            simulatedSeconds: setUpTime + (now - t0), events: queue.count)
        queue.removeAll()  // events hold references to the world
        return result
    }

    /// Every account's data, model, CAM and seed, through the same calls as `crml check run`.
    private func setUpAccounts() -> Bool {
        let files = CampaignWorkload.files
        for a in accounts {
            do {
                try campaign.setUp(a, interactions: files.interactions, seedFile: files.seed, call: { method, params in try self.callNow(a, method, params) },
                                   modelTrained: { model in
                                       for _ in 0..<600 {
                                           let m = try self.callNow(a, "cleanroomsml.GetAudienceModel", ["audienceModelArn": model])
                                           if m["status"] == "ACTIVE" { return true }
                                           if m["status"] == "CREATE_FAILED" { return false }
                                           self.run(until: self.now + 0.5)
                                       }
                                       return false
                                   })
            } catch {
                problems.append("set-up of account \(a) failed: \(error)")
                return false
            }
        }
        return true
    }

    struct SetUpError: Error, CustomStringConvertible {
        var description: String
    }

    /// A call that the set-up waits for (nothing else is running yet).
    private func callNow(_ account: String, _ method: String, _ params: JSON) throws -> JSON {
        var outcome: CallOutcome?
        clientCall(account, method, params, timeout: 30) { outcome = $0 }
        run(until: now + 60) { outcome != nil }
        switch outcome {
        case .result(let r)?: return r
        case .serviceError(let type, let message)?: throw SetUpError(description: "\(method): \(type): \(message)")
        case .unknown(let why)?: throw SetUpError(description: "\(method): \(why)")
        case nil: throw SetUpError(description: "\(method): no answer")
        }
    }

    /// Resumes paused nodes, starts stopped ones, clears every link fault and failpoint.
    private func healAll() {
        linkFaults.removeAll()
        for a in accounts {
            let n = nodes[a]!
            resume(n)
            start(n)
            n.armed.removeAll()
        }
    }

    /// Until no node has an undelivered message or a start in flight (seen twice in a row),
    /// for at most `converge` seconds.
    private func settle() {
        let deadline = now + options.converge
        var quiet = 0
        while now < deadline {
            let busy = accounts.contains { a in
                guard let s = nodes[a]!.core?.state else { return true }
                return !s.outbox.isEmpty || !s.startIntents.isEmpty
            }
            quiet = busy ? 0 : quiet + 1
            if quiet >= 2 { return }
            run(until: now + 0.2)
        }
    }

    func record(_ process: String, _ account: String?, _ kind: HistoryEvent.Kind, _ f: String, _ value: JSON) {
        history.append(HistoryEvent(index: history.count, time: now - t0, wall: SimWorld.epoch + now, process: process, account: account,
                                    kind: kind, f: f, value: value))
    }
}
