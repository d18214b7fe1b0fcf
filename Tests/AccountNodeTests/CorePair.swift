import AccountNode
import CleanRoomsModel
import JSON
import Testing

/// Two account cores wired together in memory, with a network the test controls: every message
/// either core sends waits in `queue` until the test delivers it (through the receiver's
/// `handlePeer` and back with its answer), drops it, or loses its answer. Deterministic: no
/// threads, no clock but the harnesses' own.
///
/// The scene is the seed's: B (222222222222) owns an ACTIVE model and a CAM whose resource policy
/// lets A (111111111111) start jobs; A holds a seed object and a role to pass.
final class CorePair {
    var a = CoreHarness(account: "111111111111")
    var b = CoreHarness(account: "222222222222")
    var queue: [(from: CoreHarness, message: PeerMessage)] = []
    var nextPeerToken: UInt64 = 1_000_000
    private(set) var camArn = ""

    enum Fate {
        case deliver
        /// Never arrives; the sender sees `.unreachable`.
        case drop
        /// Arrives and is acted on, but the answer is lost; the sender sees `.unreachable`.
        case loseAnswer
    }

    static let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    init(sharedMetrics: String = "ALL", tagPolicy: String = "FROM_PARENT_RESOURCE") throws {
        try b.call("s3.CreateBucket", ["Bucket": "data"])
        try b.call("s3.PutObject", ["Bucket": "data", "Key": "i/part.csv", "Body": .string(Base64.encode(Array("user_id,item_id,timestamp\nu1,i1,1\n".utf8)))])
        try b.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
        try b.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": "s3://data/i/"]]])
        try b.call("iam.CreateRole", ["RoleName": "crml", "AssumeRolePolicyDocument": .string(Self.trust)])
        let ds = try b.call("cleanroomsml.CreateTrainingDataset", ["name": "ds", "roleArn": "arn:aws:iam::222222222222:role/crml", "trainingData": DataPlaneOperationTests.trainingData])
        let model = try #require(try b.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": ds["trainingDatasetArn"] ?? .null])["audienceModelArn"]?.stringValue)
        b.perform(b.core.workFinished(.modelTrained(modelArn: model, .success(.init(users: 10, interactions: 10))), now: b.now))
        camArn = try #require(try b.call("cleanroomsml.CreateConfiguredAudienceModel", [
            "name": "cam", "audienceModelArn": .string(model), "sharedAudienceMetrics": [.string(sharedMetrics)], "childResourceTagOnCreatePolicy": .string(tagPolicy),
            "outputConfig": ["roleArn": "arn:aws:iam::222222222222:role/crml", "destination": ["s3Destination": ["s3Uri": "s3://data/out"]]],
            "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [5]], "tags": ["owner": "b"],
        ])["configuredAudienceModelArn"]?.stringValue)
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111111111111"]},"Action":["cleanrooms-ml:StartAudienceGenerationJob"],"Resource":["\#(camArn)","arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/*"]}]}"#
        try b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(camArn), "configuredAudienceModelPolicy": .string(policy)])
        try a.call("s3.CreateBucket", ["Bucket": "seeds"])
        try a.call("s3.PutObject", ["Bucket": "seeds", "Key": "seed.csv", "Body": .string(Base64.encode(Array("user_id\nu1\n".utf8)))])
        try a.call("iam.CreateRole", ["RoleName": "seed", "AssumeRolePolicyDocument": .string(Self.trust)])
        collect()
    }

    func startParams(_ name: String, tags: JSON = [:]) -> JSON {
        ["name": .string(name), "configuredAudienceModelArn": .string(camArn), "tags": tags,
         "seedAudience": ["dataSource": ["s3Uri": "s3://seeds/seed.csv"], "roleArn": "arn:aws:iam::111111111111:role/seed"]]
    }

    func other(_ h: CoreHarness) -> CoreHarness { h === a ? b : a }

    /// Moves what the cores have sent into the queue.
    func collect() {
        for h in [a, b] {
            for m in h.sent { queue.append((h, m)) }
            h.sent.removeAll()
        }
    }

    /// Delivers (or not, as `fate` says) queued messages until none are left or `limit` have
    /// passed; returns how many passed. When the queue runs dry, outbox retries that are due
    /// (time moves on to them) send their messages, as the nodes' timers would.
    @discardableResult
    func pump(limit: Int = 1000, _ fate: (PeerMessage) -> Fate = { _ in .deliver }) -> Int {
        var n = 0
        collect()
        func isRetry(_ t: TimerID) -> Bool { if case .outboxRetry = t { return true } else { return false } }
        while n < limit {
            if queue.isEmpty {
                guard a.fire(isRetry) + b.fire(isRetry) > 0 else { break }
                collect()
                continue
            }
            let (from, m) = queue.removeFirst()
            n += 1
            let to = other(from)
            let f = fate(m)
            if f != .drop {
                var params = m.params
                if !m.attachBlobs.isEmpty { params["seedData"] = .array(m.attachBlobs.map { .string(Base64.encode(from.blobs[$0] ?? [])) }) }
                nextPeerToken += 1
                to.now += 0.001
                to.perform(to.core.handlePeer(PeerRequest(token: RequestToken(nextPeerToken), from: from.core.config.account.rawValue,
                                                          method: m.method, params: params, now: to.now)))
                if f == .deliver, m.expectsAnswer {
                    let outcome: PeerOutcome
                    switch to.replies[nextPeerToken] {
                    case .result(let r)?, .resultWithBody(let r, _)?: outcome = .answered(r)
                    case .error(let e, _)?: outcome = .refused(e)
                    case nil: outcome = .unreachable("no answer")
                    }
                    from.perform(from.core.peerAnswered(m.token, outcome, now: from.now))
                }
            }
            if f != .deliver, m.expectsAnswer {
                from.perform(from.core.peerAnswered(m.token, .unreachable("lost"), now: from.now))
            }
            collect()
        }
        return n
    }

    /// Starts a job as A and runs the network until A answers; returns A's ARN.
    func start(_ name: String, tags: JSON = [:]) throws -> String {
        let token = a.send("cleanroomsml.StartAudienceGenerationJob", startParams(name, tags: tags))
        pump()
        return try #require(try a.result("start", a.replies[token])["audienceGenerationJobArn"]?.stringValue)
    }

    /// Runs B's generation for the job to success (as the work runner would report it).
    func finishRun(_ arnB: String) {
        b.perform(b.core.workStarted(arnB, now: b.now))
        b.perform(b.core.workFinished(.audienceGenerated(jobArn: arnB, .success(.init(relevance: [0.5], recall: 0.9, candidates: 10, matchedSeeds: 1))), now: b.now))
    }

    static func other(_ arn: String) -> String {
        arn.contains(":111111111111:") ? arn.replacingOccurrences(":111111111111:", with: ":222222222222:") : arn.replacingOccurrences(":222222222222:", with: ":111111111111:")
    }

    func job(_ h: CoreHarness, _ arn: String) -> JSON? { try? h.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)]) }
}
