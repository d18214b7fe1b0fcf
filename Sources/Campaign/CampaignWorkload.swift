import Checker
import JSON
import Lookalike
import Synchronization

/// A small seedable generator (xorshift64*): the workload's and the nemesis's choices come from
/// it, so a seed gives the same schedule.
public struct ScheduleRandom: Sendable {
    private var s: UInt64

    /// Every (seed, stream) pair starts from its own state: the pair is mixed by a bijection
    /// (SplitMix64's finalizer), so two streams of one seed never share a sequence. (An earlier
    /// mix made streams 2k+1 and 2k+2 identical: two clients, or two simulated nodes, drew the
    /// same choices, and two accounts the same job ids.)
    public init(seed: UInt64, stream: UInt64) {
        var z = (seed ^ (stream &* 0xD1B5_4A32_D192_ED03)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        s = z == 0 ? 0x2545_F491_4F6C_DD1D : z
    }

    public mutating func next() -> UInt64 {
        s ^= s >> 12
        s ^= s << 25
        s ^= s >> 27
        return s &* 0x2545_F491_4F6C_DD1D
    }

    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    public mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(next() % 1_000_000) / 1_000_000 }

    public mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}

/// One operation of a campaign's client, as the history records it: `start`, `get`, `list`,
/// `delete`, `export`, `tag`, `block`, `unblock`, with its arguments.
public struct CampaignOperation: Sendable, Equatable {
    public var f: String
    public var args: JSON

    public init(_ f: String, _ args: JSON) {
        self.f = f
        self.args = args
    }
}

/// How a call ended, as any transport reports it.
public enum CallOutcome: Sendable {
    case result(JSON)
    /// The service answered with an error: the operation did not happen.
    case serviceError(type: String, message: String)
    /// No answer (a time-out, a lost connection): it may or may not have happened.
    case unknown(String)
}

/// The clients of a consistency campaign, without a transport: what each does next, the call
/// that makes it, and what its outcome means for the history. `crml check run` drives it with
/// threads and real connections, `crml sim` with simulated time; both get the same operations
/// for the same seed and the same answers.
///
/// Each client is a process of the history, bound to one account. They start jobs (on other
/// accounts' CAMs and on their own; a fifth of them deleted at once), read, list, export, retag
/// and delete them from either side, and switch their CAM's resource policy to deny everything
/// and back (to try to block what others do). After an acknowledged delete, the other
/// account's copy is read again a little later (so a copy that comes back is seen).
///
/// Every account gets the same set-up (`setUp`): interaction data in `data-ACCOUNT`, a trained
/// model, a CAM whose resource policy lets every other account start jobs (its tags are
/// `cam-…`, passed to jobs), outputs to `out-ACCOUNT`, and a seed in `seeds-ACCOUNT`. Bucket
/// names carry the account id so the checker can tell whose location a string is.
/// Safe from any thread.
public final class CampaignWorkload: @unchecked Sendable {
    public struct Job: Sendable {
        public var id: String
        public var submitter: String
        public var owner: String
        /// A client saw it deleted (its own delete, or a read that found nothing).
        public var gone = false
        public func arn(in account: String, region: String) -> String {
            "arn:aws:cleanrooms-ml:\(region):\(account):audience-generation-job/\(id)"
        }
    }

    /// A client: a process of the history, its account and its own stream of choices.
    public struct Client: Sendable {
        public let process: Int
        public let account: String
        var rng: ScheduleRandom
        var counter = 0
    }

    public let accounts: [String]
    public let region: String
    public let seed: UInt64
    private let state = Mutex<(cams: [String: String], jobs: [Job], followUps: [String: [(due: Double, arn: String)]])>(([:], [], [:]))
    /// When, after an acknowledged delete, the other account's copy is read again.
    public static let followUpDelays = [0.5, 2.5]

    public init(accounts: [String], region: String, seed: UInt64) {
        self.accounts = accounts
        self.region = region
        self.seed = seed
    }

    /// The campaign's data, the same for real runs and simulated ones: interactions of 400
    /// users with 100 items in 4 groups, and a seed of 40 users.
    public static let files: SyntheticData.Files = {
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seedUsers, o.seed) = (400, 100, 6000, 4, 40, 11)
        return SyntheticData.generate(o)
    }()

    public static func buckets(_ account: String) -> [String] { ["data-\(account)", "out-\(account)", "seeds-\(account)"] }

    /// The CAM of each account, once set up.
    public var cams: [String: String] { state.withLock { $0.cams } }

    /// The jobs the clients know of.
    public var jobs: [Job] { state.withLock { $0.jobs } }

    public func makeClient(process: Int) -> Client {
        Client(process: process, account: accounts[process % accounts.count], rng: ScheduleRandom(seed: seed, stream: UInt64(process + 1)))
    }

    /// The client's first call comes at a random point of its first interval.
    public func firstDelay(_ client: inout Client, interval: Double) -> Double { interval * Double(client.rng.below(1000)) / 1000 }

    // MARK: Set-up

    public static let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    /// What a client's "block" puts on its account's CAM: every other account denied everything.
    /// (Not its own principals: the CAM's policy binds them too, and a policy that denied them
    /// would lock the account out of its own CAM, policy included.)
    public func denyPolicy(owner: String) -> String {
        let others = accounts.filter { $0 != owner }.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":[\#(others)]},"Action":"*","Resource":"*"}]}"#
    }

    public func allowPolicy(owner: String, cam: String) -> String {
        let others = accounts.filter { $0 != owner }.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[\#(others)]},"Action":["cleanrooms-ml:StartAudienceGenerationJob"],"Resource":["\#(cam)","arn:aws:cleanrooms-ml:\#(region):\#(owner):audience-generation-job/*"]}]}"#
    }

    /// Sets up `account` through `call` (a synchronous call as its admin); `modelTrained`
    /// waits until the model is ACTIVE (true) or gives up (false).
    public func setUp(_ account: String, interactions: [UInt8], seedFile: [UInt8], call: (String, JSON) throws -> JSON,
                      modelTrained: (_ modelArn: JSON) throws -> Bool) throws {
        let (data, out, seeds) = ("data-\(account)", "out-\(account)", "seeds-\(account)")
        _ = try call("s3.CreateBucket", ["Bucket": .string(data)])
        _ = try call("s3.PutObject", ["Bucket": .string(data), "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(interactions))])
        _ = try call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
        _ = try call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": .string("s3://\(data)/interactions/")]]])
        _ = try call("iam.CreateRole", ["RoleName": "ml", "AssumeRolePolicyDocument": .string(Self.trust)])
        _ = try call("iam.CreateRole", ["RoleName": "seed-reader", "AssumeRolePolicyDocument": .string(Self.trust)])
        let ds = try call("cleanroomsml.CreateTrainingDataset", [
            "name": "ds", "roleArn": .string("arn:aws:iam::\(account):role/ml"),
            "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]]])
        let model = try call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": ds["trainingDatasetArn"] ?? .null])["audienceModelArn"] ?? .null
        guard try modelTrained(model) else { throw SetUpFailure(description: "set-up: the model of account \(account) did not train") }
        _ = try call("s3.CreateBucket", ["Bucket": .string(out)])
        let cam = try call("cleanroomsml.CreateConfiguredAudienceModel", [
            "name": "cam", "audienceModelArn": model, "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
            "outputConfig": ["roleArn": .string("arn:aws:iam::\(account):role/ml"), "destination": ["s3Destination": ["s3Uri": .string("s3://\(out)/audiences")]]],
            "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [20, 40]],
            "childResourceTagOnCreatePolicy": "FROM_PARENT_RESOURCE", "tags": ["cam-owner": .string(account)],
        ])["configuredAudienceModelArn"]?.stringValue ?? ""
        state.withLock { $0.cams[account] = cam }
        _ = try call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(allowPolicy(owner: account, cam: cam))])
        _ = try call("s3.CreateBucket", ["Bucket": .string(seeds)])
        _ = try call("s3.PutObject", ["Bucket": .string(seeds), "Key": "seed.csv", "Body": .string(Base64.encode(seedFile))])
    }

    public struct SetUpFailure: Error, CustomStringConvertible {
        public var description: String
    }

    // MARK: Operations

    /// What `client` does next, at `now` (seconds since the run began). Targets are picked
    /// among the jobs known so far that concern its account; a read due after a delete comes
    /// first.
    public func next(_ client: inout Client, now: Double) -> CampaignOperation {
        client.counter += 1
        let counter = client.counter, account = client.account, p = client.process
        let roll = client.rng.below(100)
        let due: String? = state.withLock { s in
            guard let k = s.followUps[account]?.firstIndex(where: { $0.due <= now }) else { return nil }
            return s.followUps[account]?.remove(at: k).arn
        }
        if let due { return CampaignOperation("get", ["arn": .string(due)]) }
        let mine = jobs.filter { $0.submitter == account || $0.owner == account }
        // Mostly jobs not yet seen deleted (a delete of a deleted job teaches little), sometimes any.
        let live = mine.filter { !$0.gone }
        let pool = live.isEmpty || client.rng.chance(0.2) ? mine : live
        let target = pool.isEmpty ? nil : pool[client.rng.below(pool.count)]
        let arn = target.map { $0.arn(in: account, region: region) }
        let cams = self.cams
        switch roll {
        case 0..<30:
            let others = accounts.filter { $0 != account }
            let owner = client.rng.chance(0.8) ? client.rng.pick(others.isEmpty ? accounts : others) : account
            var args: JSON = ["name": .string("p\(p)-\(counter)"), "owner": .string(owner)]
            if client.rng.chance(0.5) { args["tags"] = ["req-p": .string(String(p))] }
            return CampaignOperation("start", args)
        case 30..<58 where arn != nil: return CampaignOperation("get", ["arn": .string(arn!)])
        case 58..<68: return CampaignOperation("list", [:])
        case 68..<80 where arn != nil:
            // Any known job: some are deleted already (a delete must then fail), most jobs live on
            // long enough for the end-of-run checks.
            let any = mine[client.rng.below(mine.count)]
            return CampaignOperation("delete", ["arn": .string(any.arn(in: account, region: region))])
        case 80..<87 where arn != nil:
            return CampaignOperation("export", ["arn": .string(arn!), "name": .string("x\(counter)"), "size": .int(client.rng.chance(0.5) ? 20 : 40)])
        case 87..<95 where arn != nil: return CampaignOperation("tag", ["arn": .string(arn!), "key": .string("retag-\(counter)"), "value": "v"])
        case 95..<98: return CampaignOperation("block", ["cam": .string(cams[account] ?? "")])
        case 98..<100: return CampaignOperation("unblock", ["cam": .string(cams[account] ?? "")])
        default: return CampaignOperation("list", [:])
        }
    }

    /// After an acknowledged start: a fifth of them are deleted at once, while the start's
    /// messages may still be travelling (duplicated, reordered): what tombstones are for.
    public func deleteRightAway(_ client: inout Client, after op: CampaignOperation, _ kind: HistoryEvent.Kind, _ value: JSON) -> CampaignOperation? {
        guard op.f == "start", kind == .ok, let arn = value["arn"]?.stringValue, client.rng.chance(0.2) else { return nil }
        return CampaignOperation("delete", ["arn": .string(arn)])
    }

    /// The call an operation of `account` makes: method, parameters, and how long to wait.
    public func request(_ op: CampaignOperation, account: String) -> (method: String, params: JSON, timeout: Double) {
        let args = op.args
        switch op.f {
        case "start":
            let owner = args["owner"]?.stringValue ?? account
            return ("cleanroomsml.StartAudienceGenerationJob", .compactObject([
                "name": args["name"], "configuredAudienceModelArn": .string(cams[owner] ?? ""), "tags": args["tags"],
                "seedAudience": ["dataSource": ["s3Uri": .string("s3://seeds-\(account)/seed.csv")], "roleArn": .string("arn:aws:iam::\(account):role/seed-reader")],
            ]), 20)
        case "get": return ("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": args["arn"] ?? .null], 10)
        case "list": return ("cleanroomsml.ListAudienceGenerationJobs", ["maxResults": 100], 10)
        case "delete": return ("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": args["arn"] ?? .null], 10)
        case "export":
            return ("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": args["arn"] ?? .null, "name": args["name"] ?? .null,
                                                            "audienceSize": ["type": "ABSOLUTE", "value": args["size"] ?? 20]], 20)
        case "tag":
            return ("cleanroomsml.TagResource", ["resourceArn": args["arn"] ?? .null, "tags": .object([args["key"]?.stringValue ?? "k": args["value"] ?? "v"])], 10)
        case "block", "unblock":
            let cam = args["cam"]?.stringValue ?? ""
            let policy = op.f == "block" ? denyPolicy(owner: account) : allowPolicy(owner: account, cam: cam)
            return ("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(policy)], 10)
        default:
            return ("cleanroomsml.ListAudienceGenerationJobs", [:], 10)
        }
    }

    /// What an outcome means for the history (`ok`: it happened, `fail`: it did not, `info`:
    /// unknown), and what the clients learn from it: jobs started, jobs seen gone, reads to do
    /// after a delete. `now` is seconds since the run began.
    public func interpret(_ op: CampaignOperation, account: String, _ outcome: CallOutcome, now: Double) -> (HistoryEvent.Kind, JSON) {
        switch outcome {
        case .unknown(let why): return (.info, ["error": .string(why)])
        case .serviceError(let type, let message):
            if op.f == "get", type == "ResourceNotFoundException" {
                markGone(op.args["arn"])
                return (.ok, ["present": false])
            }
            return (.fail, ["error": .string(type), "message": .string(message)])
        case .result(let r):
            switch op.f {
            case "start":
                guard let arn = r["audienceGenerationJobArn"]?.stringValue else { return (.ok, r) }
                let id = String(arn.split(separator: "/").last ?? "")
                let owner = op.args["owner"]?.stringValue ?? account
                state.withLock { $0.jobs.append(Job(id: id, submitter: account, owner: owner)) }
                return (.ok, ["arn": .string(arn)])
            case "get": return (.ok, .compactObject(["present": true, "status": r["status"], "name": r["name"], "view": r]))
            case "list": return (.ok, ["arns": .array((r["audienceGenerationJobs"]?.arrayValue ?? []).compactMap { $0["audienceGenerationJobArn"] })])
            case "delete":
                markGone(op.args["arn"])
                followUp(op.args["arn"], deletedIn: account, now: now)
                return (.ok, [:])
            case "export": return (.ok, r)
            default: return (.ok, [:])
            }
        }
    }

    /// Schedules reads of the other account's copy of a job just deleted.
    private func followUp(_ arn: JSON?, deletedIn account: String, now: Double) {
        guard let id = arn?.stringValue?.split(separator: "/").last.map(String.init) else { return }
        state.withLock { s in
            guard let job = s.jobs.first(where: { $0.id == id }), job.submitter != job.owner else { return }
            let other = job.submitter == account ? job.owner : job.submitter
            for d in Self.followUpDelays { s.followUps[other, default: []].append((now + d, job.arn(in: other, region: region))) }
        }
    }

    private func markGone(_ arn: JSON?) {
        guard let id = arn?.stringValue?.split(separator: "/").last.map(String.init) else { return }
        state.withLock { s in for k in s.jobs.indices where s.jobs[k].id == id { s.jobs[k].gone = true } }
    }
}
