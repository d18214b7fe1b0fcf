#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Synchronization
import Wire

/// The cases of `crml bench node` that load a node first and then measure what a client sees:
/// a hog pipelining expensive reads beside another client (`fairness`), thousands of idle
/// connections (`idle`), a hundred thousand users (`users`), a million durable writes and then
/// restarts after `kill -9` (`restart`).
extension NodeBenchmark {
    /// Options these cases take.
    struct LoadOptions {
        var seconds: Double
        var connections: Int
        var auditEvents = 60_000
        var idleConnections = 2000
        var users = 100_000
        var restartWrites = 1_000_000
        var restarts = 3
    }

    /// Keeps one request in flight on each of `connections` clients until `calls` are answered
    /// (filling a node before a case).
    static func fill(_ name: String, calls: Int, connections: Int, connect: () throws -> RPCClient, _ request: @escaping Request) throws {
        let clients = try (0..<connections).map { _ in try connect() }
        _ = try drive(clients, seconds: .infinity, maxCalls: calls, name: name, tolerated: { $0.type == "EntityAlreadyExists" }, request)
        for c in clients { c.close() }
    }

    /// `fairness`: one connection keeps 256 `LookupEvents` (50 events each, over a full audit
    /// trail) in flight while another client makes calls; the other client's latency is the
    /// figure, beside the hog's rate.
    static func fairness(_ o: LoadOptions, nodePID: pid_t?, connect: @escaping () throws -> RPCClient) throws -> [Figures] {
        Console.out("fairness: filling the audit trail with \(o.auditEvents) events …\n")
        try fill("audit events", calls: o.auditEvents, connections: o.connections, connect: connect) { _ in ("sts.GetCallerIdentity", [:]) }
        let hog = try connect()
        let stop = Atomic<Bool>(false)
        let answered = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let hogDone = DispatchSemaphore(value: 0)
        let lookup: JSON = ["MaxResults": 50]
        Thread.detachNewThread {
            defer { hogDone.signal() }
            var inFlight = 0
            var p = pollfd(fd: hog.socket, events: Int16(POLLIN), revents: 0)
            do {
                while !stop.load(ordering: .relaxed) {
                    while inFlight < 256 { _ = try hog.submit("cloudtrail.LookupEvents", lookup); inFlight += 1 }
                    _ = poll(&p, 1, 100)
                    for m in try hog.receiveAvailable() {
                        if case .error(_, let e) = m { throw CommandFailure(code: .failed, message: "fairness hog: \(e)") }
                        inFlight -= 1
                        answered.add(1, ordering: .relaxed)
                    }
                }
            } catch { failure.withLock { $0 = "\(error)" } }
        }
        // Under way before the other client starts.
        let deadline = EventLoop.now() + 10
        while answered.load(ordering: .relaxed) < 256 && EventLoop.now() < deadline { usleep(1000) }  // polling, with the deadline above
        let start = EventLoop.now(), before = answered.load(ordering: .relaxed)
        let other = try measureFromOneThread("GetCallerIdentity beside a hog", connections: 1, seconds: o.seconds, nodePID: nodePID, connect: connect) { _ in
            ("sts.GetCallerIdentity", [:])
        }
        let hogCalls = answered.load(ordering: .relaxed) - before
        let elapsed = EventLoop.now() - start
        stop.store(true, ordering: .relaxed)
        hogDone.wait()
        hog.close()
        if let f = failure.withLock({ $0 }) { throw CommandFailure(code: .failed, message: f) }
        Console.out(String(format: "fairness: the hog's LookupEvents (50 events each) ran at %.0f/s beside the other client\n", Double(hogCalls) / elapsed))
        return [other]
    }

    /// `idle`: reads on 1 and N connections with `idleConnections` more connections open,
    /// authenticated and silent.
    static func idle(_ o: LoadOptions, nodePID: pid_t?, connect: () throws -> RPCClient, arn: String) throws -> [Figures] {
        Socket.raiseFileLimit()
        Console.out("idle: opening \(o.idleConnections) idle connections …\n")
        let idle = try (0..<o.idleConnections).map { _ in try connect() }
        defer { for c in idle { c.close() } }
        let read: JSON = ["trainingDatasetArn": .string(arn)]
        return try Array(Set([1, o.connections])).sorted().map { n in
            try measureFromOneThread("GetTrainingDataset, \(o.idleConnections) idle", connections: n, seconds: o.seconds, nodePID: nodePID, connect: connect) { _ in
                ("cleanroomsml.GetTrainingDataset", read)
            }
        }
    }

    /// `users`: `CreateUser` and a `ListUsers` page, one connection, in an account holding
    /// `users` users.
    static func users(_ o: LoadOptions, nodePID: pid_t?, connect: () throws -> RPCClient) throws -> [Figures] {
        Console.out("users: creating \(o.users) users …\n")
        try fill("users", calls: o.users, connections: o.connections, connect: connect) { i in ("iam.CreateUser", ["UserName": .string("bench-\(i)")]) }
        let run = Int(EventLoop.now() * 1000) % 1_000_000
        return [
            try measureFromOneThread("CreateUser, \(o.users / 1000)k users", connections: 1, seconds: o.seconds, nodePID: nodePID, connect: connect) { i in
                ("iam.CreateUser", ["UserName": .string("more-\(run)-\(i)")])
            },
            try measureFromOneThread("ListUsers page of 100, \(o.users / 1000)k", connections: 1, seconds: o.seconds, nodePID: nodePID, connect: connect) { _ in
                ("iam.ListUsers", ["MaxItems": 100])
            },
        ]
    }

    /// `restart`: `restartWrites` durable `TagResource` calls over N connections, the node's
    /// memory after them, then `restarts` times a `kill -9` and a restart, each timed from the
    /// spawn to the node's ready file (what recovery itself took, by phase, from `admin.Status`).
    static func restart(_ o: LoadOptions, dir: ClusterDirectory, account id: AccountID, arn: String) throws -> [String] {
        var cluster = try dir.load()
        func node() throws -> ClusterFile.Account { try cluster.account(id).orThrow("account \(id) is not in \(dir.clusterFile)") }
        func connect() throws -> RPCClient { try dir.adminClient(cluster, try node(), readerThread: false) }
        Console.out("restart: \(o.restartWrites) durable writes over \(o.connections) connections …\n")
        let t0 = EventLoop.now()
        try fill("writes", calls: o.restartWrites, connections: o.connections, connect: connect) { i in
            ("cleanroomsml.TagResource", ["resourceArn": .string(arn), "tags": ["bench": .string(String(i % 1000))]])
        }
        let writeSeconds = EventLoop.now() - t0
        var lines: [String] = []
        func memoryText(_ pid: pid_t?) -> String {
            guard let m = pid.flatMap(ProcessControl.memory) else { return "memory unknown" }
            return String(format: "private %.1f MiB, resident %.1f MiB", Double(m.private) / 1048576, Double(m.resident) / 1048576)
        }
        lines.append(String(format: "restart: %d durable writes in %.1f s (%.0f/s); the node after them: %@", o.restartWrites, writeSeconds,
                            Double(o.restartWrites) / writeSeconds, memoryText(try node().pid)))
        for k in 1...o.restarts {
            _ = try ClusterCommand.signal("kill", [id.rawValue, "--dir", dir.path])
            cluster = try dir.load()
            let start = EventLoop.now()
            try ClusterCommand.start([id], in: dir, cluster: &cluster)
            let ready = EventLoop.now() - start
            let c = try connect()
            let r = try c.call("admin.Status")["recovery"] ?? [:]
            c.close()
            lines.append(String(format: "restart %d after kill -9: ready in %.3f s (state %.3f s: snapshot at LSN %.0f, %d log records replayed; audit trail %.3f s: %d events); then %@",
                                k, ready, r["stateSeconds"]?.numberValue ?? 0, r["snapshotLSN"]?.numberValue ?? 0, r["replayedRecords"]?.intValue ?? 0,
                                r["auditSeconds"]?.numberValue ?? 0, r["auditEvents"]?.intValue ?? 0, memoryText(try node().pid)))
        }
        return lines
    }
}

extension Optional {
    /// The value, or a failure saying `message`.
    func orThrow(_ message: @autoclosure () -> String) throws -> Wrapped {
        guard let v = self else { throw CommandFailure(code: .failed, message: message()) }
        return v
    }
}
