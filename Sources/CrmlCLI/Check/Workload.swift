import Checker
import ClusterConfig
import Foundation
import JSON
import Lookalike
import Synchronization
import Wire

/// The clients of `crml check run`: each is a process of the history, bound to one account,
/// with its own connection to that account's node. They start jobs (on other accounts' CAMs and
/// on their own; a fifth of them deleted at once), read, list, export, retag and delete them
/// from either side, and switch their CAM's resource policy to deny everything and back (to try
/// to block what others do).
///
/// Every account gets the same set-up: interaction data in `data-ACCOUNT`, a trained model, a CAM
/// whose resource policy lets every other account start jobs (its tags are `cam-…`, passed to
/// jobs), outputs to `out-ACCOUNT`, and a seed in `seeds-ACCOUNT`. Bucket names carry the
/// account id so the checker can tell whose location a string is.
final class Workload: @unchecked Sendable {
    struct Job {
        var id: String
        var submitter: String
        var owner: String
        /// A client saw it deleted (its own delete, or a read that found nothing).
        var gone = false
        func arn(in account: String, region: String) -> String {
            "arn:aws:cleanrooms-ml:\(region):\(account):audience-generation-job/\(id)"
        }
    }

    let cluster: ClusterFile
    let dir: ClusterDirectory
    let history: HistoryRecorder
    let seed: UInt64
    var cams: [String: String] = [:]
    private let jobs = Mutex<[Job]>([])
    /// Reads of the other account's copy due after a delete (so that a copy that comes back
    /// after the delete reached its node is seen), by account: when due, and the ARN.
    private let followUps = Mutex<[String: [(due: Double, arn: String)]]>([:])
    /// When, after an acknowledged delete, the other account's copy is read again.
    static let followUpDelays = [0.5, 2.5]
    private let stopping = Atomic<Bool>(false)

    init(cluster: ClusterFile, dir: ClusterDirectory, history: HistoryRecorder, seed: UInt64) {
        self.cluster = cluster
        self.dir = dir
        self.history = history
        self.seed = seed
    }

    var accounts: [String] { cluster.accounts.map(\.id.rawValue) }

    static func buckets(_ account: String) -> [String] { ["data-\(account)", "out-\(account)", "seeds-\(account)"] }

    func client(_ account: String) throws -> RPCClient {
        guard let a = cluster.accounts.first(where: { $0.id.rawValue == account }) else { throw CommandFailure.usage("no account \(account)") }
        return try dir.adminClient(cluster, a, timeout: 10, readerThread: false)
    }

    func allowPolicy(owner: String, cam: String) -> String {
        let others = accounts.filter { $0 != owner }.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[\#(others)]},"Action":["cleanrooms-ml:StartAudienceGenerationJob"],"Resource":["\#(cam)","arn:aws:cleanrooms-ml:\#(cluster.region):\#(owner):audience-generation-job/*"]}]}"#
    }

    static let denyPolicy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#

    /// Every account's data, model, CAM and seed.
    func setUp() throws {
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seedUsers, o.seed) = (400, 100, 6000, 4, 40, 11)
        let files = SyntheticData.generate(o)
        let trust = DemoCommand.trust
        for account in accounts {
            let c = try client(account)
            defer { c.close() }
            let (data, out, seeds) = ("data-\(account)", "out-\(account)", "seeds-\(account)")
            _ = try c.call("s3.CreateBucket", ["Bucket": .string(data)])
            _ = try c.call("s3.PutObject", ["Bucket": .string(data), "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(files.interactions))])
            _ = try c.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
            _ = try c.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": .string("s3://\(data)/interactions/")]]])
            _ = try c.call("iam.CreateRole", ["RoleName": "ml", "AssumeRolePolicyDocument": .string(trust)])
            _ = try c.call("iam.CreateRole", ["RoleName": "seed-reader", "AssumeRolePolicyDocument": .string(trust)])
            let ds = try c.call("cleanroomsml.CreateTrainingDataset", [
                "name": "ds", "roleArn": .string("arn:aws:iam::\(account):role/ml"),
                "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                    "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                    "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]]])
            let model = try c.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": ds["trainingDatasetArn"] ?? .null])["audienceModelArn"] ?? .null
            guard try DemoCommand.poll(c, "cleanroomsml.GetAudienceModel", ["audienceModelArn": model])["status"] == "ACTIVE" else {
                throw CommandFailure(code: .failed, message: "set-up: the model of account \(account) did not train")
            }
            _ = try c.call("s3.CreateBucket", ["Bucket": .string(out)])
            let cam = try c.call("cleanroomsml.CreateConfiguredAudienceModel", [
                "name": "cam", "audienceModelArn": model, "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
                "outputConfig": ["roleArn": .string("arn:aws:iam::\(account):role/ml"), "destination": ["s3Destination": ["s3Uri": .string("s3://\(out)/audiences")]]],
                "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [20, 40]],
                "childResourceTagOnCreatePolicy": "FROM_PARENT_RESOURCE", "tags": ["cam-owner": .string(account)],
            ])["configuredAudienceModelArn"]?.stringValue ?? ""
            cams[account] = cam
            _ = try c.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(allowPolicy(owner: account, cam: cam))])
            _ = try c.call("s3.CreateBucket", ["Bucket": .string(seeds)])
            _ = try c.call("s3.PutObject", ["Bucket": .string(seeds), "Key": "seed.csv", "Body": .string(Base64.encode(files.seed))])
        }
    }

    func stop() { stopping.store(true, ordering: .sequentiallyConsistent) }

    /// Runs `concurrency` clients until `stop`, together making about `rate` operations a second.
    func runClients(concurrency: Int, rate: Double) -> [Thread] {
        (0..<concurrency).map { p in
            let t = Thread { [self] in self.client(process: p, concurrency: concurrency, rate: rate) }
            t.name = "client-\(p)"
            t.start()
            return t
        }
    }

    private func client(process p: Int, concurrency: Int, rate: Double) {
        let account = accounts[p % accounts.count]
        var rng = ScheduleRandom(seed: seed, stream: UInt64(p + 1))
        var connection: RPCClient?
        let interval = Double(concurrency) / max(0.1, rate)
        var next = EventLoop.now() + interval * Double(rng.below(1000)) / 1000
        var counter = 0
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let wait = next - EventLoop.now()
            if wait > 0 { usleep(UInt32(min(wait, 1) * 1_000_000)) }  // pacing the load, not synchronisation
            if EventLoop.now() < next { continue }
            next += interval
            counter += 1
            let (f, args) = choose(&rng, account: account, process: p, counter: counter)
            history.record(process: String(p), account: account, .invoke, f, args)
            if connection == nil { connection = try? client(account) }
            guard let c = connection else {
                history.record(process: String(p), account: account, .info, f, ["error": "cannot connect to the node"])
                continue
            }
            let (kind, value) = perform(c, f, args, account: account)
            if kind == .info { c.close(); connection = nil }
            history.record(process: String(p), account: account, kind, f, value)
            // A fifth of the starts are deleted at once, while the start's messages may still
            // be travelling (duplicated, reordered): what tombstones are for.
            if f == "start", kind == .ok, let arn = value["arn"]?.stringValue, rng.chance(0.2), let c = connection {
                history.record(process: String(p), account: account, .invoke, "delete", ["arn": .string(arn)])
                let (k2, v2) = perform(c, "delete", ["arn": .string(arn)], account: account)
                if k2 == .info { c.close(); connection = nil }
                history.record(process: String(p), account: account, k2, "delete", v2)
            }
        }
        connection?.close()
    }

    /// What to do next. Targets are picked among the jobs known so far that concern `account`.
    private func choose(_ rng: inout ScheduleRandom, account: String, process p: Int, counter: Int) -> (String, JSON) {
        let roll = rng.below(100)
        let now = EventLoop.now()
        let due: String? = followUps.withLock { all in
            guard let k = all[account]?.firstIndex(where: { $0.due <= now }) else { return nil }
            return all[account]?.remove(at: k).arn
        }
        if let due { return ("get", ["arn": .string(due)]) }
        let mine = jobs.withLock { $0.filter { $0.submitter == account || $0.owner == account } }
        // Mostly jobs not yet seen deleted (a delete of a deleted job teaches little), sometimes any.
        let live = mine.filter { !$0.gone }
        let pool = live.isEmpty || rng.chance(0.2) ? mine : live
        let target = pool.isEmpty ? nil : pool[rng.below(pool.count)]
        let arn = target.map { $0.arn(in: account, region: cluster.region) }
        switch roll {
        case 0..<30:
            let owner = rng.chance(0.8) ? rng.pick(accounts.filter { $0 != account }.isEmpty ? accounts : accounts.filter { $0 != account }) : account
            var args: JSON = ["name": .string("p\(p)-\(counter)"), "owner": .string(owner)]
            if rng.chance(0.5) { args["tags"] = ["req-p": .string(String(p))] }
            return ("start", args)
        case 30..<58 where arn != nil: return ("get", ["arn": .string(arn!)])
        case 58..<68: return ("list", [:])
        case 68..<80 where arn != nil:
            // Any known job: some are deleted already (a delete must then fail), most jobs live on
            // long enough for the end-of-run checks.
            let any = mine[rng.below(mine.count)]
            return ("delete", ["arn": .string(any.arn(in: account, region: cluster.region))])
        case 80..<87 where arn != nil: return ("export", ["arn": .string(arn!), "name": .string("x\(counter)"), "size": .int(rng.chance(0.5) ? 20 : 40)])
        case 87..<95 where arn != nil: return ("tag", ["arn": .string(arn!), "key": .string("retag-\(counter)"), "value": "v"])
        case 95..<98: return ("block", ["cam": .string(cams[account] ?? "")])
        case 98..<100: return ("unblock", ["cam": .string(cams[account] ?? "")])
        default: return ("list", [:])
        }
    }

    /// Schedules reads of the other account's copy of a job just deleted.
    private func followUp(_ arn: JSON?, deletedIn account: String) {
        guard let id = arn?.stringValue?.split(separator: "/").last.map(String.init),
              let job = jobs.withLock({ $0.first { $0.id == id } }), job.submitter != job.owner else { return }
        let other = job.submitter == account ? job.owner : job.submitter
        let now = EventLoop.now()
        followUps.withLock { all in
            for d in Self.followUpDelays { all[other, default: []].append((now + d, job.arn(in: other, region: cluster.region))) }
        }
    }

    private func markGone(_ arn: JSON?) {
        guard let id = arn?.stringValue?.split(separator: "/").last.map(String.init) else { return }
        jobs.withLock { js in for k in js.indices where js[k].id == id { js[k].gone = true } }
    }

    /// Calls the node; a service error is `fail` (it did not happen), a time-out or lost
    /// connection `info` (it may have). A read that finds nothing is an `ok` saying so.
    private func perform(_ c: RPCClient, _ f: String, _ args: JSON, account: String) -> (HistoryEvent.Kind, JSON) {
        do {
            switch f {
            case "start":
                let owner = args["owner"]?.stringValue ?? account
                let params: JSON = .compactObject([
                    "name": args["name"], "configuredAudienceModelArn": .string(cams[owner] ?? ""), "tags": args["tags"],
                    "seedAudience": ["dataSource": ["s3Uri": .string("s3://seeds-\(account)/seed.csv")], "roleArn": .string("arn:aws:iam::\(account):role/seed-reader")],
                ])
                let r = try c.call("cleanroomsml.StartAudienceGenerationJob", params, timeout: 20)
                if let arn = r["audienceGenerationJobArn"]?.stringValue {
                    let id = String(arn.split(separator: "/").last ?? "")
                    jobs.withLock { $0.append(Job(id: id, submitter: account, owner: owner)) }
                    return (.ok, ["arn": .string(arn)])
                }
                return (.ok, r)
            case "get":
                let r: JSON
                do { r = try c.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": args["arn"] ?? .null], timeout: 10) } catch {
                    if case .service(let e) = error, e.type == "ResourceNotFoundException" {
                        markGone(args["arn"])
                        return (.ok, ["present": false])
                    }
                    throw error
                }
                return (.ok, .compactObject(["present": true, "status": r["status"], "name": r["name"], "view": r]))
            case "list":
                let r = try c.call("cleanroomsml.ListAudienceGenerationJobs", ["maxResults": 100], timeout: 10)
                return (.ok, ["arns": .array((r["audienceGenerationJobs"]?.arrayValue ?? []).compactMap { $0["audienceGenerationJobArn"] })])
            case "delete":
                _ = try c.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": args["arn"] ?? .null], timeout: 10)
                markGone(args["arn"])
                followUp(args["arn"], deletedIn: account)
                return (.ok, [:])
            case "export":
                let r = try c.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": args["arn"] ?? .null, "name": args["name"] ?? .null,
                                                                           "audienceSize": ["type": "ABSOLUTE", "value": args["size"] ?? 20]], timeout: 20)
                return (.ok, r)
            case "tag":
                guard let key = args["key"]?.stringValue else { return (.fail, ["error": "no key"]) }
                _ = try c.call("cleanroomsml.TagResource", ["resourceArn": args["arn"] ?? .null, "tags": [key: args["value"] ?? "v"]], timeout: 10)
                return (.ok, [:])
            case "block", "unblock":
                let cam = args["cam"]?.stringValue ?? ""
                let policy = f == "block" ? Workload.denyPolicy : allowPolicy(owner: account, cam: cam)
                _ = try c.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(policy)], timeout: 10)
                return (.ok, [:])
            default:
                return (.fail, ["error": .string("unknown operation \(f)")])
            }
        } catch {
            if case RPCCallError.service(let e) = error { return (.fail, ["error": .string(e.type), "message": .string(e.message)]) }
            return (.info, ["error": .string("\(error)")])
        }
    }
}
