#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Randomness
import Synchronization
import Wire

/// `crml bench accounts`: many accounts on one machine, with jobs between random pairs.
enum AccountsBenchmark {
    static let spec = CommandSpec(
        command: "crml bench accounts",
        summary: """
            Starts a temporary cluster of N accounts and reports how long it took to be ready and each node's
            memory while idle. Then every account trains a small model, shares it with all the others and holds a
            seed; one client per account starts jobs on the models of randomly chosen other accounts (runs held,
            so the figure is the start path), and deletes made in the submitting account are timed until the
            owner's copy is gone. Reports starts per second with their p50 and p99, delete propagation p50 and
            p99, the links open, and the nodes' memory at the end. Build with -c release.
            """,
        options: [("accounts", "how many accounts (default 100)"),
                  ("seconds", "how long to start jobs (default 5)"),
                  ("deletes", "deletes to time (default 200)"),
                  ("seed", "the random choice of pairs (default 1)")])

    struct Memory {
        var privateBytes: [Int]
        var line: String {
            let s = privateBytes.sorted()
            guard !s.isEmpty else { return "memory unknown" }
            let mib = { (b: Int) in Double(b) / 1_048_576 }
            return String(format: "private memory per node: median %.2f MiB, max %.2f MiB; all %d nodes %.0f MiB",
                          mib(s[s.count / 2]), mib(s.last!), s.count, mib(s.reduce(0, +)))
        }

        static func of(_ cluster: ClusterFile) -> Memory {
            Memory(privateBytes: cluster.accounts.compactMap { $0.pid.flatMap(ProcessControl.memory)?.private })
        }
    }

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let n = try parsed.int("accounts", default: 100)
        let seconds = try parsed.double("seconds", default: 5)
        let deletes = try parsed.int("deletes", default: 200)
        var random = SplitMix64(seed: UInt64(try parsed.int("seed", default: 1)))
        guard (2...200).contains(n) else { throw CommandFailure.usage("--accounts takes 2 to 200") }
        let dir = ClusterDirectory(path: NSTemporaryDirectory() + "crml-bench-accounts-\(getpid())")
        defer {
            try? ClusterCommand.stopAll(dir)
            try? FileManager.default.removeItem(atPath: dir.path)
        }
        let t0 = EventLoop.now()
        let cluster = try ClusterCommand.launch(dir, ids: ClusterCommand.defaultIDs(n))
        let upSeconds = EventLoop.now() - t0
        // Idle: nothing has been asked of the nodes yet.
        let idle = Memory.of(cluster)
        Console.out(String(format: "accounts benchmark: %d accounts ready in %.2f s; idle %@\n", n, upSeconds, idle.line))

        // Every account shares a model with every other and holds a seed (in parallel: the nodes
        // train on both cores).
        let ids = cluster.accounts.map(\.id.rawValue)
        let files = CrossAccountBenchmark.sampleData()
        let cams = Mutex<[String: String]>([:]), seeds = Mutex<[String: JSON]>([:]), failure = Mutex<String?>(nil)
        let t1 = EventLoop.now()
        DispatchQueue.concurrentPerform(iterations: n) { k in
            let account = cluster.accounts[k]
            do {
                let c = try dir.adminClient(cluster, account, timeout: 30, readerThread: false)
                defer { c.close() }
                let cam = try CrossAccountBenchmark.shareModel(c, account: ids[k], with: ids.filter { $0 != ids[k] }, region: cluster.region, files: files)
                let seed = try CrossAccountBenchmark.holdSeed(c, account: ids[k], files: files)
                _ = try c.call("admin.SetWorkDelay", ["seconds": 3600])
                cams.withLock { $0[ids[k]] = cam }
                seeds.withLock { $0[ids[k]] = seed }
            } catch { failure.withLock { $0 = "setting up \(ids[k]): \(error)" } }
        }
        if let f = failure.withLock({ $0 }) { throw CommandFailure(code: .failed, message: f) }
        Console.out(String(format: "set up %d models, CAMs and seeds in %.1f s\n", n, EventLoop.now() - t1))

        // One client per account; each start goes to a random other account's CAM.
        let camOf = cams.withLock { $0 }, seedOf = seeds.withLock { $0 }
        let clients = try cluster.accounts.map { try dir.adminClient(cluster, $0, readerThread: false) }
        defer { for c in clients { c.close() } }
        var inFlight = [Int](repeating: 0, count: n)
        var started: [(a: Int, b: Int, arn: String?)] = []
        var pending = [Int: Int](minimumCapacity: n)  // connection → index into started
        let pct = NodeBenchmark.percentile
        // Two rounds: in the first most pairs meet for the first time (a link opens, with its
        // handshake and first sync); the second finds more links open.
        for round in 1...2 {
            var fds = clients.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            let before = started.count
            let (latencies, elapsed) = try NodeBenchmark.driveFromOneThread(&fds, seconds: seconds, name: "starts between random pairs", send: { k in
                var b = Int(random.next() % UInt64(n - 1))
                if b >= k { b += 1 }
                pending[k] = started.count
                started.append((k, b, nil))
                inFlight[k] = try clients[k].submit("cleanroomsml.StartAudienceGenerationJob",
                                                    CrossAccountBenchmark.start(name: "pair-\(started.count)", cam: camOf[ids[b]]!, seed: seedOf[ids[k]]!))
            }, answered: { k in
                var answers = 0
                for message in try clients[k].receiveAvailable() {
                    switch message {
                    case .result(.number(inFlight[k]), let r):
                        if let i = pending[k] { started[i].arn = r["audienceGenerationJobArn"]?.stringValue }
                        answers += 1
                    case .error(_, let e): throw CommandFailure(code: .failed, message: "start in \(ids[k]): \(e)")
                    default: continue
                    }
                }
                return answers
            })
            let sorted = latencies.sorted()
            var pairs = Set(started[..<before].map { min($0.a, $0.b) * n + max($0.a, $0.b) })
            let newPairs = started[before...].filter { pairs.insert(min($0.a, $0.b) * n + max($0.a, $0.b)).inserted }.count
            Console.out(String(format: "starts between random pairs, round %d: %d connections, %.0f/s, p50 %.2f ms, p99 %.2f ms (%d starts, %d of them the first between their two accounts; runs held)\n",
                               round, n, Double(sorted.count) / elapsed, pct(sorted, 0.5) * 1e3, pct(sorted, 0.99) * 1e3, sorted.count, newPairs))
        }

        // Delete in the submitter's account, timed until the owner's copy is gone.
        var times: [Double] = []
        for job in started.compactMap({ j in j.arn.map { (j.a, j.b, $0) } }).prefix(deletes) {
            let (a, b, arn) = job
            let arnB = arn.replacingOccurrences(of: ":\(ids[a]):", with: ":\(ids[b]):")
            _ = try clients[a].call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            times.append(try CrossAccountBenchmark.secondsUntilGone(clients[b], arnB, since: EventLoop.now()))
        }
        times.sort()
        Console.out(String(format: "delete acknowledged in the submitter → gone in the owner: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d deletes)\n",
                           pct(times, 0.5) * 1e3, pct(times, 0.99) * 1e3, (times.last ?? 0) * 1e3, times.count))
        var links = 0
        for c in clients { links += (try c.call("admin.Status")["peersConnected"]?.arrayValue?.count) ?? 0 }
        Console.out("links open between nodes at the end: \(links) (of \(n * (n - 1)) possible)\n")
        Console.out("at the end: \(Memory.of(cluster).line)\n")
        return .ok
    }

}
