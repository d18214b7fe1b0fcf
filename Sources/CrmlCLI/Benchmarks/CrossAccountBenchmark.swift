import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Lookalike
import Synchronization
import Wire

/// `crml bench cross-account`: the cross-account protocols on two real node processes, no faults.
enum CrossAccountBenchmark {
    static let spec = CommandSpec(
        command: "crml bench cross-account",
        summary: """
            Starts a temporary two-account cluster: B trains a small model and shares it with A. Then measures
            StartAudienceGenerationJob called in A on B's CAM (each start: A's intent, B's durable copy, A's
            commit) with 1 and N concurrent clients, and the time from A's delete being acknowledged to B's copy
            being gone as a reader of B sees it. With --hosts netns (root) the accounts run in network namespaces,
            and --kernel-cuts N times N deletes made while the kernel drops everything between A and B: the time
            from the heal to B's copy being gone. Build with -c release.
            """,
        options: [("seconds", "how long to measure each start case (default 3)"),
                  ("connections", "concurrent clients for the parallel case (default 16)"),
                  ("deletes", "deletes to time (default 200)"),
                  ("hosts", "local (default) or netns: each account in a network namespace of its own (root)"),
                  ("kernel-cuts", "with --hosts netns: deletes made during a kernel partition, timed from its heal (default 0)"),
                  ("cut-seconds", "how long each kernel partition is held after the delete (default 2)")],
        flags: [("hold-runs", "hold B's runs (an injected delay) while starts are measured, to see the start path alone")])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let seconds = try parsed.double("seconds", default: 3)
        let connections = try parsed.int("connections", default: 16)
        let deletes = try parsed.int("deletes", default: 200)
        let hosts = parsed.value("hosts") ?? "local"
        guard hosts == "local" || hosts == "netns" else { throw CommandFailure.usage("--hosts takes local or netns; got \(hosts)") }
        let cuts = try parsed.int("kernel-cuts", default: 0)
        let cutSeconds = try parsed.double("cut-seconds", default: 2)
        guard cuts == 0 || hosts == "netns" else { throw CommandFailure.usage("--kernel-cuts needs --hosts netns") }
        let shared = try SharedModel(label: "xa", hosts: hosts)
        defer { shared.remove() }
        let (a, b, adminA, adminB, start) = (shared.a, shared.b, shared.adminA, shared.adminB, shared.start)
        let connect = shared.connect
        Console.out("cross-account benchmark: A \(a.id) at \(a.host):\(a.port), B \(b.id) at \(b.host):\(b.port), \(seconds) s per case\n")

        if parsed.has("hold-runs") { _ = try adminB.call("admin.SetWorkDelay", ["seconds": 3600]) }
        var results: [NodeBenchmark.Figures] = []
        let started = Atomic<Int>(0)  // every start needs a name of its own
        for n in Array(Set([1, connections])).sorted() {
            results.append(try NodeBenchmark.measureFromOneThread("cross-account StartAudienceGenerationJob", connections: n, seconds: seconds, connect: { try connect(a) }) { _ in
                ("cleanroomsml.StartAudienceGenerationJob", start("job-\(started.add(1, ordering: .relaxed).newValue)"))
            })
        }
        for r in results { Console.out(r.line + "\n") }
        if parsed.has("hold-runs") { _ = try adminB.call("admin.SetWorkDelay", ["seconds": 0]) }

        // Delete propagation, measured on jobs whose runs are over (so no backlog of runs competes).
        let jobs = try (0..<(deletes + cuts)).map { k in try adminA.call("cleanroomsml.StartAudienceGenerationJob", start("del-\(k)"))["audienceGenerationJobArn"]?.stringValue ?? "" }
        let arns = Array(jobs.prefix(deletes)), cutARNs = Array(jobs.dropFirst(deletes))
        let idA = a.id.rawValue, idB = b.id.rawValue
        guard let lastA = jobs.last else { throw CommandFailure.usage("--deletes and --kernel-cuts are both 0: nothing to time") }
        let lastB = lastA.replacingOccurrences(of: ":\(idA):", with: ":\(idB):")
        let drained = DemoCommand.waitUntil(600) {
            ((try? adminB.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(lastB)]))?["status"]?.stringValue ?? "") == "ACTIVE"
        }
        guard drained else { throw CommandFailure(code: .failed, message: "B's runs did not finish within 10 minutes") }
        func goneInB(_ arn: String, since: Double, limit: Double = 30) throws -> Double {
            try secondsUntilGone(adminB, arn.replacingOccurrences(of: ":\(idA):", with: ":\(idB):"), since: since, limit: limit)
        }
        func report(_ name: String, _ times: [Double], _ what: String) {
            let sorted = times.sorted(), pct = NodeBenchmark.percentile
            Console.out(name.padding(toLength: 41, withPad: " ", startingAt: 0)
                + String(format: "p50 %7.1f µs   p99 %7.1f µs   max %7.1f µs   (%d %@)\n", pct(sorted, 0.5) * 1e6, pct(sorted, 0.99) * 1e6, (sorted.last ?? 0) * 1e6, sorted.count, what))
        }
        var visible: [Double] = []
        for arn in arns {
            _ = try adminA.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            visible.append(try goneInB(arn, since: EventLoop.now()))
        }
        if !arns.isEmpty { report("delete: A acknowledged → gone in B", visible, "deletes") }

        // Deletes across a kernel partition: cut, delete in A (acknowledged there), hold the cut,
        // heal, and time the heal → B's copy gone.
        if let n = shared.cluster.netns, !cutARNs.isEmpty {
            var afterHeal: [Double] = []
            for arn in cutARNs {
                try KernelFaults.setDrop(n, from: idA, fromAddress: a.host, to: idB, toAddress: b.host, fraction: 1)
                try KernelFaults.setDrop(n, from: idB, fromAddress: b.host, to: idA, toAddress: a.host, fraction: 1)
                _ = try adminA.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
                Thread.sleep(forTimeInterval: cutSeconds)  // the fault's duration, not a wait for an event
                let healed = EventLoop.now()
                try KernelFaults.heal(n, between: nil)
                afterHeal.append(try goneInB(arn, since: healed, limit: 60))
            }
            report("kernel cut \(cutSeconds) s: heal → gone in B", afterHeal, "deletes")
        }
        return .ok
    }

    /// Seconds from `since` until a reader of `client`'s account no longer finds its copy of the
    /// job `arn` (asking again at once, until `limit`).
    static func secondsUntilGone(_ client: RPCClient, _ arn: String, since: Double, limit: Double = 30) throws -> Double {
        while true {
            do { _ = try client.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)]) } catch {
                guard case .service(let e) = error, e.type == "ResourceNotFoundException" else { throw error }
                return EventLoop.now() - since
            }
            if EventLoop.now() - since > limit { throw CommandFailure(code: .failed, message: "\(arn) was still there \(Int(limit)) s later") }
        }
    }

    /// A temporary two-account cluster in which B has trained a model and shared it with A:
    /// admin clients of both, and the parameters of A's start on B's CAM. `remove` stops it.
    struct SharedModel {
        let dir: ClusterDirectory
        let cluster: ClusterFile
        let a: ClusterFile.Account, b: ClusterFile.Account
        let adminA: RPCClient, adminB: RPCClient
        let start: @Sendable (String) -> JSON

        init(label: String, hosts: String = "local") throws {
            dir = ClusterDirectory(path: NSTemporaryDirectory() + "crml-bench-\(label)-\(getpid())")
            do {
                // Inside the `do`: a launch that fails half-way stops the nodes it started.
                let launched = try ClusterCommand.launch(dir, ids: ClusterCommand.defaultIDs(2), hosts: hosts)
                cluster = launched
                (a, b) = (launched.accounts[0], launched.accounts[1])
                let d = dir
                func connect(_ acct: ClusterFile.Account) throws -> RPCClient { try SharedModel.connect(d, launched, acct) }
                (adminA, adminB) = (try connect(a), try connect(b))
                start = try CrossAccountBenchmark.setUp(a: adminA, b: adminB, idA: a.id.rawValue, idB: b.id.rawValue, region: launched.region)
            } catch {
                try? ClusterCommand.stopAll(dir)
                try? FileManager.default.removeItem(atPath: dir.path)
                throw error
            }
        }

        /// A new admin client of `acct`'s node.
        func connect(_ acct: ClusterFile.Account) throws -> RPCClient { try SharedModel.connect(dir, cluster, acct) }

        static func connect(_ dir: ClusterDirectory, _ cluster: ClusterFile, _ acct: ClusterFile.Account) throws -> RPCClient {
            do { return try dir.adminClient(cluster, acct, readerThread: false) } catch { throw NodeConnection.failure(error, operation: "connect", endpoint: "\(acct.host):\(acct.port)") }
        }

        func remove() {
            try? ClusterCommand.stopAll(dir)
            try? FileManager.default.removeItem(atPath: dir.path)
        }
    }

    /// B: sample data, a trained model, a CAM with the seed's policy for A. A: a seed and a role.
    /// Returns the params of a start named as given.
    static func setUp(a: RPCClient, b: RPCClient, idA: String, idB: String, region: String) throws -> @Sendable (String) -> JSON {
        let files = sampleData()
        let cam = try shareModel(b, account: idB, with: [idA], region: region, files: files)
        let seed = try holdSeed(a, account: idA, files: files)
        return { name in start(name: name, cam: cam, seed: seed) }
    }

    /// The benchmarks' small data set: 800 users, 200 items, 12,000 interactions, a 60-user seed.
    static func sampleData() -> SyntheticData.Files {
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seedUsers, o.seed) = (800, 200, 12_000, 4, 60, 11)
        return SyntheticData.generate(o)
    }

    /// In account `b`: the data, a trained model and a CAM whose resource policy lets `accounts`
    /// start jobs on it. Returns the CAM's ARN.
    static func shareModel(_ b: RPCClient, account idB: String, with accounts: [String], region: String, files: SyntheticData.Files) throws -> String {
        let trust = DemoCommand.trust
        _ = try b.call("s3.CreateBucket", ["Bucket": "data"])
        _ = try b.call("s3.PutObject", ["Bucket": "data", "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(files.interactions))])
        _ = try b.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
        _ = try b.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": "s3://data/interactions/"]]])
        _ = try b.call("iam.CreateRole", ["RoleName": "ml", "AssumeRolePolicyDocument": .string(trust)])
        let ds = try b.call("cleanroomsml.CreateTrainingDataset", [
            "name": "ds", "roleArn": .string("arn:aws:iam::\(idB):role/ml"),
            "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]]])
        let model = try b.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": ds["trainingDatasetArn"] ?? .null])["audienceModelArn"] ?? .null
        guard try DemoCommand.poll(b, "cleanroomsml.GetAudienceModel", ["audienceModelArn": model])["status"] == "ACTIVE" else {
            throw CommandFailure(code: .failed, message: "the benchmark's model did not train in account \(idB)")
        }
        _ = try b.call("s3.CreateBucket", ["Bucket": "out"])
        let cam = try b.call("cleanroomsml.CreateConfiguredAudienceModel", [
            "name": "cam", "audienceModelArn": model, "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
            "outputConfig": ["roleArn": .string("arn:aws:iam::\(idB):role/ml"), "destination": ["s3Destination": ["s3Uri": "s3://out/audiences"]]],
            "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [50]],
        ])["configuredAudienceModelArn"]?.stringValue ?? ""
        let principals = accounts.map { "\"\($0)\"" }.joined(separator: ",")
        let policy = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[\(principals)]},"Action":["cleanrooms-ml:StartAudienceGenerationJob"],
             "Resource":["\(cam)","arn:aws:cleanrooms-ml:\(region):\(idB):audience-generation-job/*"]}]}
            """
        _ = try b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(policy)])
        return cam
    }

    /// In account `a`: a seed audience in its S3 and a role to pass. Returns the start's
    /// `seedAudience`.
    static func holdSeed(_ a: RPCClient, account idA: String, files: SyntheticData.Files) throws -> JSON {
        _ = try a.call("s3.CreateBucket", ["Bucket": "seeds"])
        _ = try a.call("s3.PutObject", ["Bucket": "seeds", "Key": "seed.csv", "Body": .string(Base64.encode(files.seed))])
        _ = try a.call("iam.CreateRole", ["RoleName": "seed", "AssumeRolePolicyDocument": .string(DemoCommand.trust)])
        return ["dataSource": ["s3Uri": "s3://seeds/seed.csv"], "roleArn": .string("arn:aws:iam::\(idA):role/seed")]
    }

    /// The parameters of a start named `name` on `cam` with `seed`.
    static func start(name: String, cam: String, seed: JSON) -> JSON {
        ["name": .string(name), "configuredAudienceModelArn": .string(cam), "seedAudience": seed]
    }
}
