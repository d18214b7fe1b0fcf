import CleanRoomsModel
import JSON

/// A key–value tag, in the order the caller gave it (IAM keeps tag order).
public struct Tag: Codable, Hashable, Sendable {
    public var key: String
    public var value: String
}

public struct AccessKey: Codable, Hashable, Sendable {
    public var id: String
    public var secret: String
    public var status: String
    public var createDate: Double
}

public struct IAMUser: Codable, Sendable {
    public var name: String
    public var path: String
    public var userID: String
    public var createDate: Double
    public var tags: [Tag]
    /// Inline policies by name, as the text the caller put.
    public var policies: [String: String]
    public var accessKeys: [AccessKey]
}

public struct IAMRole: Codable, Sendable {
    public var name: String
    public var path: String
    public var roleID: String
    public var createDate: Double
    public var assumeRolePolicy: String
    public var description: String?
    public var maxSessionDuration: Int
    public var tags: [Tag]
    public var policies: [String: String]
}

public struct S3Object: Codable, Sendable {
    public var key: String
    public var size: Int
    public var etag: String
    public var lastModified: Double
    public var contentType: String?
    /// The file under the node's blob store that holds the bytes.
    public var blob: String
}

public struct Bucket: Codable, Sendable {
    public var name: String
    public var createDate: Double
    public var objects: [String: S3Object]
}

public struct GlueTable: Codable, Sendable {
    public var name: String
    public var databaseName: String
    public var createTime: Double
    /// The `TableInput` as given (columns, storage location, parameters).
    public var input: JSON
}

public struct GlueDatabase: Codable, Sendable {
    public var name: String
    public var description: String?
    public var locationUri: String?
    public var createTime: Double
    public var tables: [String: GlueTable]
}

public struct TrainingDataset: Codable, Sendable {
    public var arn: String
    public var name: String
    public var description: String?
    public var roleArn: String
    public var trainingData: JSON
    public var tags: [String: String]
    public var createTime: Double
    public var updateTime: Double
}

/// AWS's `StatusDetails`: why a resource is in its status.
public struct StatusDetails: Codable, Sendable, Equatable {
    public var statusCode: String?
    public var message: String?

    public init(statusCode: String? = nil, message: String? = nil) {
        self.statusCode = statusCode
        self.message = message
    }

    var json: JSON { .compactObject(["statusCode": statusCode.map { .string($0) }, "message": message.map { .string($0) }]) }
}

/// A lookalike model trained on a training dataset (trained asynchronously; its embeddings live
/// in the node's `models/` directory under `id`).
public struct AudienceModel: Codable, Sendable {
    public var arn: String
    public var id: String
    public var name: String
    public var description: String?
    public var trainingDatasetArn: String
    public var trainingDataStartTime: Double?
    public var trainingDataEndTime: Double?
    public var kmsKeyArn: String?
    public var tags: [String: String]
    public var status: String
    public var statusDetails: StatusDetails?
    public var createTime: Double
    public var updateTime: Double
}

/// A configured audience model: how a model may be used, and its resource policy.
public struct ConfiguredAudienceModel: Codable, Sendable {
    public var arn: String
    public var name: String
    public var description: String?
    public var audienceModelArn: String
    public var outputConfig: JSON
    public var sharedAudienceMetrics: [String]
    public var minMatchingSeedSize: Int?
    public var audienceSizeConfig: JSON?
    public var childResourceTagOnCreatePolicy: String?
    public var tags: [String: String]
    public var policy: String?
    public var createTime: Double
    public var updateTime: Double
}

/// An audience generation job. Its ranked audience lives in the node's `audiences/` directory
/// under `id` once the job is ACTIVE.
public struct AudienceGenerationJob: Codable, Sendable {
    public var arn: String
    public var id: String
    public var name: String
    public var description: String?
    public var configuredAudienceModelArn: String
    public var collaborationId: String?
    public var includeSeedInOutput: Bool
    public var seedAudience: JSON
    public var status: String
    public var statusDetails: StatusDetails?
    public var metrics: JSON?
    public var tags: [String: String]
    public var startedBy: String
    public var createTime: Double
    public var updateTime: Double
    /// Users the audience was chosen from (for PERCENTAGE sizes).
    public var candidates: Int?
    /// How the run goes, fixed when the job starts (so a restart runs the same thing).
    public var plan: GenerationPlan?
    /// For a job shared by two accounts: the other account.
    public var counterpart: String? = nil
    /// Which copy this is (absent in records written before cross-account jobs: local).
    public var role: JobRole? = nil
    /// Runs of this job that finished on this node (ACTIVE or CREATE_FAILED recorded here); a
    /// submitter's copy never runs.
    public var runs: Int? = nil
    /// For an SQL seed: the id of the protected query that selected it (shared by both copies;
    /// the owner's copy shows it only where the collaboration logs queries, PV-2).
    public var protectedQueryIdentifier: String? = nil

    public var jobRole: JobRole { role ?? .local }
}

/// Which copy of a job this is.
public enum JobRole: String, Codable, Sendable {
    /// A job whose configured audience model is in the same account.
    case local
    /// The submitter's copy of a cross-account job (it does not run here).
    case submitter
    /// The configured audience model owner's copy (the run happens here).
    case owner
}

/// What is left of a cross-account job after its delete: it keeps late or repeated messages
/// from bringing the job back.
public struct Tombstone: Codable, Sendable, Equatable {
    public var jobID: String
    public var counterpart: String?
    public var deletedAt: Double
}

/// A message to another account's node that must arrive: kept (durably) until acknowledged
/// (or refused for good), retried with backoff meanwhile (`Outbox`).
public struct OutboxEntry: Codable, Sendable {
    public var id: String
    public var account: String
    public var method: String
    public var params: JSON
    public var createdAt: Double
}

/// A cross-account start in progress: logged before the owner is asked, resolved when it
/// answers. One found at recovery was never answered: it is aborted (presumed abort).
public struct StartIntent: Codable, Sendable {
    public var jobID: String
    public var name: String
    public var owner: String
    public var createdAt: Double
}

/// What an audience generation run uses, captured at start.
public struct GenerationPlan: Codable, Sendable {
    public var modelFile: String
    public var seed: [DataObject]
    public var minMatchingSeedSize: Int
    public var sizeType: String
    public var bins: [Int]
    /// An SQL seed: `seed` is the table, this the query over it.
    public var selection: SeedSelection? = nil
}

/// An export of a job's audience to the configured audience model's output location.
public struct AudienceExportJob: Codable, Sendable {
    public var id: String
    public var audienceGenerationJobArn: String
    public var name: String
    public var description: String?
    public var audienceSize: JSON
    public var status: String
    public var statusDetails: StatusDetails?
    public var outputLocation: String?
    public var createTime: Double
    public var updateTime: Double
    /// How many users the export writes, fixed when it starts.
    public var count: Int
    /// An export another account asked for on the job it submitted: it runs here (where the
    /// audience is) and is listed in that account, not here.
    public var requestedBy: String?
}

/// Everything an account node owns that must survive a restart. Changed only by applying
/// `StateEvent`s, so that replaying the write-ahead log rebuilds exactly this value.
/// Temporary credentials `sts.AssumeRole` issued: requests signed with them act as the role.
public struct RoleSession: Codable, Sendable, Equatable {
    public var accessKeyID: String
    public var secret: String
    public var sessionToken: String
    public var roleName: String
    public var roleID: String
    public var sessionName: String
    public var createdAt: Double
    public var expiration: Double
}

public struct NodeState: Codable, Sendable {
    public var bootstrapped = false
    public var users: [String: IAMUser] = [:]
    public var roles: [String: IAMRole] = [:]
    public var buckets: [String: Bucket] = [:]
    public var databases: [String: GlueDatabase] = [:]
    public var trainingDatasets: [String: TrainingDataset] = [:]
    public var audienceModels: [String: AudienceModel] = [:]
    public var configuredAudienceModels: [String: ConfiguredAudienceModel] = [:]
    public var audienceGenerationJobs: [String: AudienceGenerationJob] = [:]
    public var audienceExportJobs: [String: AudienceExportJob] = [:]
    public var tombstones: [String: Tombstone] = [:]
    public var outbox: [String: OutboxEntry] = [:]
    public var startIntents: [String: StartIntent] = [:]
    /// Collaborations this account created or was invited to, by id.
    public var collaborations: [String: Collaboration] = [:]
    /// This account's memberships, by membership id.
    public var memberships: [String: Membership] = [:]
    /// Configured audience model associations in this account's memberships, by id.
    public var associations: [String: AudienceModelAssociation] = [:]
    /// Role sessions by their access key id (expired ones go when the next is made).
    public var roleSessions: [String: RoleSession] = [:]

    public init() {}

    /// This account's membership of a collaboration (pending ones included).
    public func membership(ofCollaboration id: String) -> Membership? {
        memberships.values.first { $0.collaborationId == id }
    }

    // Indexes, rebuilt on load and kept by `apply`, never stored: what lists, name checks and
    // the handshake look up, so none of them scans a collection.
    /// Job ARNs by job id and by name, and all of them in order.
    private(set) var jobArnByID: [String: String] = [:]
    private(set) var jobArnByName: [String: String] = [:]
    private(set) var jobArns = SortedKeys()
    /// User and role names, in order and by lower-case form.
    public internal(set) var userNames = NameIndex()
    public internal(set) var roleNames = NameIndex()
    /// The user holding each access key.
    var accessKeyOwners: [String: String] = [:]

    /// The job with this id (both copies of a cross-account job share it; the ARN differs).
    public func job(id: String) -> AudienceGenerationJob? {
        jobArnByID[id].flatMap { audienceGenerationJobs[$0] }
    }

    /// Whether a live job has this name.
    public func hasJob(named name: String) -> Bool { jobArnByName[name] != nil }

    mutating func indexJob(_ j: AudienceGenerationJob) {
        jobArnByID[j.id] = j.arn
        jobArnByName[j.name] = j.arn
        jobArns.insert(j.arn)
    }

    mutating func unindexJob(_ j: AudienceGenerationJob) {
        jobArnByID[j.id] = nil
        if jobArnByName[j.name] == j.arn { jobArnByName[j.name] = nil }
        jobArns.remove(j.arn)
    }

    mutating func indexUser(_ u: IAMUser) {
        userNames.insert(u.name)
        for k in u.accessKeys { accessKeyOwners[k.id] = u.name }
    }

    mutating func unindexUser(_ u: IAMUser) {
        userNames.remove(u.name)
        for k in u.accessKeys where accessKeyOwners[k.id] == u.name { accessKeyOwners[k.id] = nil }
    }

    /// Blobs the state refers to: S3 objects and the seed data held for other accounts' jobs.
    public var referencedBlobs: Set<String> {
        var out = Set(buckets.values.flatMap { $0.objects.values.map(\.blob) })
        for j in audienceGenerationJobs.values where j.jobRole == .owner { for o in j.plan?.seed ?? [] where !o.blob.isEmpty { out.insert(o.blob) } }
        return out
    }

    enum CodingKeys: String, CodingKey {
        case bootstrapped, users, roles, buckets, databases, trainingDatasets, audienceModels, configuredAudienceModels,
             audienceGenerationJobs, audienceExportJobs, tombstones, outbox, startIntents, collaborations, memberships, associations, roleSessions
    }

    /// Snapshots written before a collection existed still load (it starts empty).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bootstrapped = try c.decodeIfPresent(Bool.self, forKey: .bootstrapped) ?? false
        users = try c.decodeIfPresent([String: IAMUser].self, forKey: .users) ?? [:]
        roles = try c.decodeIfPresent([String: IAMRole].self, forKey: .roles) ?? [:]
        buckets = try c.decodeIfPresent([String: Bucket].self, forKey: .buckets) ?? [:]
        databases = try c.decodeIfPresent([String: GlueDatabase].self, forKey: .databases) ?? [:]
        trainingDatasets = try c.decodeIfPresent([String: TrainingDataset].self, forKey: .trainingDatasets) ?? [:]
        audienceModels = try c.decodeIfPresent([String: AudienceModel].self, forKey: .audienceModels) ?? [:]
        configuredAudienceModels = try c.decodeIfPresent([String: ConfiguredAudienceModel].self, forKey: .configuredAudienceModels) ?? [:]
        audienceGenerationJobs = try c.decodeIfPresent([String: AudienceGenerationJob].self, forKey: .audienceGenerationJobs) ?? [:]
        audienceExportJobs = try c.decodeIfPresent([String: AudienceExportJob].self, forKey: .audienceExportJobs) ?? [:]
        roleSessions = try c.decodeIfPresent([String: RoleSession].self, forKey: .roleSessions) ?? [:]
        tombstones = try c.decodeIfPresent([String: Tombstone].self, forKey: .tombstones) ?? [:]
        outbox = try c.decodeIfPresent([String: OutboxEntry].self, forKey: .outbox) ?? [:]
        startIntents = try c.decodeIfPresent([String: StartIntent].self, forKey: .startIntents) ?? [:]
        collaborations = try c.decodeIfPresent([String: Collaboration].self, forKey: .collaborations) ?? [:]
        memberships = try c.decodeIfPresent([String: Membership].self, forKey: .memberships) ?? [:]
        associations = try c.decodeIfPresent([String: AudienceModelAssociation].self, forKey: .associations) ?? [:]
        for j in audienceGenerationJobs.values { indexJob(j) }
        for u in users.values { indexUser(u) }
        roleNames = NameIndex(roles.keys)
    }

    /// The user holding access key `id`, and the key.
    func userOwning(accessKey id: String) -> (IAMUser, AccessKey)? {
        guard let name = accessKeyOwners[id], let u = users[name], let k = u.accessKeys.first(where: { $0.id == id }) else { return nil }
        return (u, k)
    }
}
