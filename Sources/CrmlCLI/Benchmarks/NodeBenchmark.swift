#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Synchronization
import Wire

/// `crml bench node`: round trips to a real node process, beside a raw loopback TCP round trip
/// measured the same way (one request in flight per connection, timed by the caller).
enum NodeBenchmark {
    static let spec = CommandSpec(
        command: "crml bench node",
        summary: """
            Measures authenticated round trips to an account node: cleanroomsml.GetTrainingDataset (a read)
            and cleanroomsml.TagResource (a durable write, fsync'd before the answer) over one connection and
            over N concurrent connections, and a raw loopback TCP round trip for comparison. Each connection
            has one request in flight at a time; one thread drives them all, as redis-benchmark does (--threads:
            a thread per connection, each blocking in its call). Without --dir it starts a temporary one-account
            cluster and removes it afterwards. Build with -c release.

            Cases that load the node first (not run by default): fairness (another client's calls while one
            connection keeps 256 LookupEvents of 50 events in flight over a full audit trail), idle (reads with
            thousands of idle authenticated connections open), users (CreateUser and a ListUsers page in an
            account of 100,000 users), restart (a million durable writes, the node's memory after them, then
            three restarts after kill -9, each timed to ready).
            """,
        options: [("seconds", "how long to measure each case (default 3)"),
                  ("calls", "stop each read and write case after this many calls instead (for counting instructions per call: scripts/instructions-per-call.sh)"),
                  ("connections", "concurrent connections for the parallel cases (default 16)"),
                  ("cases", "which cases, comma-separated: raw, fsync, read, write, fairness, idle, users, restart (default raw,read,write)"),
                  ("idle", "idle connections for the idle case (default 2000)"),
                  ("users", "users in the account for the users case (default 100000)"),
                  ("writes", "durable writes before the restart case's kills (default 1000000)"),
                  ("audit-events", "audit events recorded before the fairness case (default 60000)"),
                  ("cpus", "run the benchmark, and the node it starts, on these CPUs only (e.g. 0): on virtual machines a wake-up across CPUs can cost more than the request"),
                  ("spin-us", "while messages come back to back, the node's event loop and the benchmark's client look for the next one this long before sleeping (CRML_SPIN_US; default 200, 0: never)"),
                  ClusterCommand.dirOption],
        flags: [("threads", "drive each connection from a thread of its own, blocking in its call")])

    /// The `p` quantile (0 to 1) of `sorted`, ascending; 0 when empty.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    struct Figures {
        var name: String
        var connections: Int
        var calls: Int
        var seconds: Double
        var latencies: [Double]  // seconds, sorted
        /// CPU seconds the node process (in user space and in the kernel) and this process used
        /// during the case.
        var nodeCPU: (user: Double, system: Double)? = nil
        var clientCPU: Double? = nil

        var rate: Double { Double(calls) / seconds }
        func percentile(_ p: Double) -> Double { NodeBenchmark.percentile(latencies, p) }

        var line: String {
            var text = name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + String(format: " %4d conn  %9.0f /s   p50 %7.1f µs   p99 %7.1f µs   (%d calls)", connections, rate, percentile(0.5) * 1e6, percentile(0.99) * 1e6, calls)
            if let nodeCPU, let clientCPU, calls > 0 {
                let perCall = 1e6 / Double(calls)
                text += String(format: "   CPU per call: node %.1f µs (user %.1f), client %.1f µs",
                               (nodeCPU.user + nodeCPU.system) * perCall, nodeCPU.user * perCall, clientCPU * perCall)
            }
            return text
        }
    }

    /// The CPU the node (process `node`) and this process use from `start` until `stop`: the
    /// measured calls only, not connecting or warming up.
    struct CPUWindow {
        let node: pid_t?
        let node0: (user: Double, system: Double)?
        let own0: (user: Double, system: Double)?

        static func start(node: pid_t?) -> CPUWindow {
            CPUWindow(node: node, node0: node.flatMap(ProcessControl.cpuSeconds), own0: ProcessControl.cpuSeconds(getpid()))
        }

        func stop(_ f: inout Figures) {
            guard let node0, let own0, let node1 = node.flatMap(ProcessControl.cpuSeconds), let own1 = ProcessControl.cpuSeconds(getpid()) else { return }
            f.nodeCPU = (node1.user - node0.user, node1.system - node0.system)
            f.clientCPU = own1.user + own1.system - own0.user - own0.system
        }
    }

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let calls = try parsed.value("calls").map { _ in try parsed.int("calls", default: 0) }
        let seconds = calls == nil ? try parsed.double("seconds", default: 3) : .infinity
        let connections = try parsed.int("connections", default: 16)
        if let spin = parsed.value("spin-us") {
            guard let us = Double(spin), us >= 0, us <= 10_000 else { throw CommandFailure.usage("--spin-us takes microseconds from 0 to 10000; got \(spin)") }
            // Before anything reads the limit (once, on first use): for this process, its clients
            // and the node the benchmark starts.
            setenv("CRML_SPIN_US", spin, 1)
        }
        if let list = parsed.value("cpus") {
            let cpus = list.split(separator: ",").compactMap { Int($0) }
            guard !cpus.isEmpty, cpus.count == list.split(separator: ",").count, cpus.allSatisfy({ $0 >= 0 && $0 < 1024 }) else {
                throw CommandFailure.usage("--cpus takes CPU numbers separated by commas, e.g. 0 or 0,1; got \(list)")
            }
            try pinToCPUs(cpus)
        }
        let temporary = parsed.value("dir") == nil && ProcessInfo.processInfo.environment["CRML_DIR"] == nil
        let dir = temporary ? ClusterDirectory(path: NSTemporaryDirectory() + "crml-bench-\(getpid())") : ClusterDirectory.resolve(parsed)
        let cluster = try ClusterCommand.launch(dir, ids: [AccountID("111111111111")!])
        defer {
            if temporary {
                try? ClusterCommand.stopAll(dir)
                try? FileManager.default.removeItem(atPath: dir.path)
            }
        }
        let account = cluster.accounts[0]
        func connect() throws -> RPCClient {
            do { return try dir.adminClient(cluster, account, readerThread: false) } catch { throw NodeConnection.failure(error, operation: "connect", endpoint: "\(account.host):\(account.port)") }
        }
        let admin = try connect()
        let arn = try setUp(admin, account: account.id)
        Console.out("node benchmark: account \(account.id) at \(account.host):\(account.port), \(seconds) s per case\n")

        let cases = Set((parsed.value("cases") ?? "raw,read,write").split(separator: ",").map(String.init))
        let known: Set<String> = ["raw", "fsync", "read", "write", "fairness", "idle", "users", "restart"]
        if let unknown = cases.subtracting(known).first { throw CommandFailure.usage("--cases: unknown case \(unknown); known: \(known.sorted().joined(separator: ", "))") }
        var results: [Figures] = []
        let counts = Array(Set([1, connections])).sorted()
        let threads = parsed.has("threads")
        if calls != nil, threads || !cases.isSubset(of: ["read", "write"]) {
            throw CommandFailure.usage("--calls counts the read and write cases only, driven from one thread: give --cases read, write or read,write")
        }
        if cases.contains("raw") {
            for n in counts {
                results.append(threads ? rawTCPWithThreads(connections: n, seconds: seconds) : rawTCPFromOneThread(connections: n, seconds: seconds))
            }
        }
        if cases.contains("fsync") { results.append(try fsyncFloor(directory: account.dataDir ?? dir.path, seconds: seconds)) }
        func measure(_ name: String, _ n: Int, _ request: @escaping Request) throws -> Figures {
            threads ? try measureWithThreads(name, connections: n, seconds: seconds, nodePID: account.pid, connect: connect, request)
                : try measureFromOneThread(name, connections: n, seconds: seconds, maxCalls: calls ?? .max, nodePID: account.pid, connect: connect, request)
        }
        if cases.contains("read") {
            let read: JSON = ["trainingDatasetArn": .string(arn)]
            for n in counts {
                results.append(try measure("GetTrainingDataset (read)", n) { _ in ("cleanroomsml.GetTrainingDataset", read) })
            }
        }
        if cases.contains("write") {
            for n in counts {
                results.append(try measure("TagResource (durable write)", n) { i in
                    ("cleanroomsml.TagResource", ["resourceArn": .string(arn), "tags": ["bench": .string(String(i % 1000))]])
                })
            }
        }
        var load = LoadOptions(seconds: seconds, connections: connections)
        load.idleConnections = try parsed.int("idle", default: 2000)
        load.users = try parsed.int("users", default: 100_000)
        load.auditEvents = try parsed.int("audit-events", default: 60_000)
        if cases.contains("idle") { results += try idle(load, nodePID: account.pid, connect: connect, arn: arn) }
        if cases.contains("fairness") { results += try fairness(load, nodePID: account.pid, connect: connect) }
        if cases.contains("users") { results += try users(load, nodePID: account.pid, connect: connect) }
        for r in results { Console.out(r.line + "\n") }
        if cases.contains("restart") {
            load.restartWrites = try parsed.int("writes", default: 1_000_000)
            admin.close()
            for line in try restart(load, dir: dir, account: account.id, arn: arn) { Console.out(line + "\n") }
        }
        return .ok
    }

    /// Restricts this thread, and every thread and process it starts from now on (the node
    /// included), to `cpus`.
    static func pinToCPUs(_ cpus: [Int]) throws {
        // Glibc declares sched_setaffinity only under _GNU_SOURCE, which Swift's Glibc module
        // leaves out: look it up instead. The mask is the kernel's: one bit per CPU.
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "sched_setaffinity") else {
            throw CommandFailure(code: .failed, message: "--cpus: this system's C library has no sched_setaffinity")
        }
        var mask = [UInt8](repeating: 0, count: 128)
        for c in cpus { mask[c / 8] |= UInt8(1 << (c % 8)) }
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        guard mask.withUnsafeBytes({ setAffinity(0, $0.count, $0.baseAddress!) }) == 0 else {
            throw CommandFailure(code: .failed, message: "cannot run on CPUs \(cpus.map(String.init).joined(separator: ",")): \(String(cString: strerror(errno)))")
        }
    }

    /// A bucket, a Glue table, a role and a training dataset to read and tag.
    static func setUp(_ c: RPCClient, account: AccountID) throws -> String {
        // Tolerates "already exists", so the benchmark can run against a cluster twice.
        func tolerate(_ method: String, _ params: JSON) throws {
            do {
                _ = try c.call(method, params)
            } catch {
                guard case .service(let e) = error, e.type.contains("Exist") || e.type == "BucketAlreadyOwnedByYou" else { throw error }
            }
        }
        try tolerate("s3.CreateBucket", ["Bucket": "bench"])
        try tolerate("glue.CreateDatabase", ["DatabaseInput": ["Name": "bench"]])
        try tolerate("glue.CreateTable", ["DatabaseName": "bench", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": "s3://bench/interactions/"]]])
        try tolerate("iam.CreateRole", ["RoleName": "bench", "AssumeRolePolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#])
        let existing = try c.call("cleanroomsml.ListTrainingDatasets")["trainingDatasets"]?.arrayValue ?? []
        if let arn = existing.first(where: { $0["name"] == "bench" })?["trainingDatasetArn"]?.stringValue { return arn }
        let r = try c.call("cleanroomsml.CreateTrainingDataset", [
            "name": "bench", "roleArn": .string("arn:aws:iam::\(account):role/bench"),
            "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                "dataSource": ["glueDataSource": ["databaseName": "bench", "tableName": "interactions"]]]]],
        ])
        return r["trainingDatasetArn"]?.stringValue ?? ""
    }

    /// The `i`th request of a case: method and parameters.
    typealias Request = @Sendable (Int) -> (method: String, params: JSON)

    /// Keeps one request in flight on each of `connections` clients for `seconds`, all from this
    /// thread (`driveFromOneThread`).
    static func measureFromOneThread(_ name: String, connections: Int, seconds: Double, maxCalls: Int = .max,
                                     nodePID: pid_t? = nil, connect: () throws -> RPCClient, _ request: @escaping Request) throws -> Figures {
        let clients = try (0..<connections).map { _ in try connect() }
        for (k, c) in clients.enumerated() {  // warm up, with requests of their own (negative numbers)
            let (method, params) = request(-1 - k)
            _ = try c.call(method, params)
        }
        let cpu = CPUWindow.start(node: nodePID)
        let (latencies, elapsed) = try drive(clients, seconds: seconds, maxCalls: maxCalls, name: name, request)
        var figures = Figures(name: name, connections: connections, calls: latencies.count, seconds: elapsed, latencies: latencies.sorted())
        cpu.stop(&figures)
        return figures
    }

    /// Keeps one request in flight on each client, from this thread, until `seconds` pass or
    /// `maxCalls` are answered; an error answer stops it unless `tolerated` says it may be.
    static func drive(_ clients: [RPCClient], seconds: Double, maxCalls: Int = .max, name: String,
                      tolerated: (RPCError) -> Bool = { _ in false }, _ request: @escaping Request) throws -> (latencies: [Double], seconds: Double) {
        var inFlight = [Int](repeating: 0, count: clients.count)
        var next = 0
        var fds = clients.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
        return try driveFromOneThread(&fds, seconds: seconds, maxCalls: maxCalls, name: name, send: { k in
            let (method, params) = request(next)
            next += 1
            inFlight[k] = try clients[k].submit(method, params)
        }, answered: { k in
            var answers = 0
            for message in try clients[k].receiveAvailable() {
                switch message {
                case .result(.number(inFlight[k]), _): answers += 1
                case .error(.number(inFlight[k]), let e) where tolerated(e): answers += 1
                case .error(_, let e): throw CommandFailure(code: .failed, message: "\(name): \(e)")
                default: continue
                }
            }
            return answers
        })
    }

    /// The one-thread load loop: sends a first request on each connection in `fds`, then polls
    /// them all (spinning as the node does, see `AdaptiveSpin`), and for each answer records its
    /// latency (from just before its request was written) and sends that connection its next
    /// request, until `seconds` have passed. `answered(k)` reads connection `k` and says how many
    /// answers completed (nil: the connection is gone).
    static func driveFromOneThread(_ fds: inout [pollfd], seconds: Double, maxCalls: Int = .max, name: String, send: (Int) throws -> Void,
                                   answered: (Int) throws -> Int?) throws -> (latencies: [Double], seconds: Double) {
        var sent = [Double](repeating: 0, count: fds.count)
        var latencies: [Double] = []
        latencies.reserveCapacity(1_000_000)
        func sendNext(_ k: Int) throws {
            sent[k] = EventLoop.now()
            try send(k)
        }
        let start = EventLoop.now()
        for k in fds.indices { try sendNext(k) }
        var open = fds.count
        var last = start
        var spin = AdaptiveSpin()
        while open > 0 {
            guard spin.poll(&fds, timeout: 5000) > 0 else { throw CommandFailure(code: .failed, message: "\(name): no answer within 5 s") }
            for k in fds.indices where fds[k].revents != 0 && fds[k].fd >= 0 {
                guard let answers = try answered(k) else {
                    fds[k].fd = -1  // gone: poll skips negative descriptors
                    open -= 1
                    continue
                }
                for _ in 0..<answers {
                    last = EventLoop.now()
                    latencies.append(last - sent[k])
                    if last - start < seconds && latencies.count + open - 1 < maxCalls {
                        try sendNext(k)
                    } else {
                        fds[k].fd = -1  // this connection is done
                        open -= 1
                    }
                }
            }
        }
        return (latencies, last - start)
    }

    /// Runs the requests in a loop on `connections` threads, each with its own client blocking in
    /// its call, for `seconds`.
    static func measureWithThreads(_ name: String, connections: Int, seconds: Double, nodePID: pid_t? = nil, connect: () throws -> RPCClient,
                                   _ request: @escaping Request) throws -> Figures {
        let clients = try (0..<connections).map { _ in try connect() }
        let body: @Sendable (RPCClient, Int) throws -> Void = { c, i in
            let (method, params) = request(i)
            _ = try c.call(method, params)
        }
        for c in clients { try body(c, 0) }  // warm up
        let samples = Mutex<[Double]>([])
        let errors = Mutex<[String]>([])
        let group = DispatchGroup()
        let cpu = CPUWindow.start(node: nodePID)
        let start = EventLoop.now()
        for (k, client) in clients.enumerated() {
            group.enter()
            Thread.detachNewThread {
                var mine: [Double] = []
                mine.reserveCapacity(200_000)
                var i = k * 1_000_000
                while EventLoop.now() - start < seconds {
                    let t0 = EventLoop.now()
                    do { try body(client, i) } catch { errors.withLock { $0.append("\(error)") }; break }
                    mine.append(EventLoop.now() - t0)
                    i += 1
                }
                samples.withLock { $0 += mine }
                group.leave()
            }
        }
        group.wait()
        let elapsed = EventLoop.now() - start
        if let e = errors.withLock({ $0.first }) { throw CommandFailure(code: .failed, message: "\(name): \(e)") }
        let all = samples.withLock { $0 }.sorted()
        var figures = Figures(name: name, connections: connections, calls: all.count, seconds: elapsed, latencies: all)
        cpu.stop(&figures)
        return figures
    }
}
