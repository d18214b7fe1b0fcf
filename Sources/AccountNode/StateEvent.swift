import CleanRoomsModel
import JSON

/// One durable change to a node's state: the unit of the write-ahead log. Each API write is
/// one event, so a write is either wholly in the log or not at all.
public enum StateEvent: Codable, Sendable {
    case bootstrapped
    case userCreated(IAMUser)
    case userDeleted(name: String)
    case userPolicyPut(user: String, policy: String, document: String)
    case userPolicyDeleted(user: String, policy: String)
    case userTagged(user: String, tags: [Tag])
    case userUntagged(user: String, keys: [String])
    case accessKeyCreated(user: String, key: AccessKey)
    case accessKeyDeleted(user: String, id: String)
    case roleCreated(IAMRole)
    case roleDeleted(name: String)
    case rolePolicyPut(role: String, policy: String, document: String)
    case rolePolicyDeleted(role: String, policy: String)
    case roleTagged(role: String, tags: [Tag])
    case roleUntagged(role: String, keys: [String])
    case roleSessionCreated(RoleSession)
    case bucketCreated(name: String, at: Double)
    case bucketDeleted(name: String)
    case objectPut(bucket: String, object: S3Object)
    case objectDeleted(bucket: String, key: String)
    case databaseCreated(GlueDatabase)
    case tableCreated(GlueTable)
    case tableDeleted(database: String, name: String)
    case trainingDatasetCreated(TrainingDataset)
    case trainingDatasetDeleted(arn: String)
    case resourceTagged(arn: String, tags: [String: String])
    case resourceUntagged(arn: String, keys: [String])
    case audienceModelCreated(AudienceModel)
    case audienceModelStatus(arn: String, status: String, details: StatusDetails?, at: Double)
    case audienceModelDeleted(arn: String)
    case configuredAudienceModelPut(ConfiguredAudienceModel)
    case configuredAudienceModelDeleted(arn: String)
    case configuredAudienceModelPolicy(arn: String, policy: String?)
    case audienceGenerationJobCreated(AudienceGenerationJob)
    case audienceGenerationJobStatus(arn: String, status: String, details: StatusDetails?, metrics: JSON?, candidates: Int?, at: Double)
    case audienceGenerationJobDeleted(arn: String)
    case audienceExportJobCreated(AudienceExportJob)
    case audienceExportJobStatus(id: String, status: String, details: StatusDetails?, outputLocation: String?, at: Double)
    // Cross-account bookkeeping (docs/cross-account.md).
    case startIntentLogged(StartIntent)
    case startIntentResolved(jobID: String)
    case jobTombstoned(Tombstone)
    /// Tombstones past their retention, dropped (`DeletePropagation.expireTombstones`).
    case tombstonesExpired(jobIDs: [String])
    case outboxAdded(OutboxEntry)
    case outboxDelivered(id: String)
    // Collaborations (docs/collaborations.md).
    case collaborationPut(Collaboration)
    case membershipPut(Membership)
    case membershipDeleted(id: String)
    case associationPut(AudienceModelAssociation)
    case associationDeleted(id: String)
}

extension StateEvent {
    /// Whether the event changes an IAM user, its access keys, tags or policies: what a caller
    /// resolved from an access key is built from. No `default`, so a new event must be placed.
    var changesUsers: Bool {
        switch self {
        case .bootstrapped, .userCreated, .userDeleted, .userPolicyPut, .userPolicyDeleted, .userTagged, .userUntagged,
             .accessKeyCreated, .accessKeyDeleted,
             // A role session's caller is built from its role.
             .roleCreated, .roleDeleted, .rolePolicyPut, .rolePolicyDeleted, .roleTagged, .roleUntagged:
            return true
        case .roleSessionCreated,
             .bucketCreated, .bucketDeleted, .objectPut, .objectDeleted, .databaseCreated, .tableCreated, .tableDeleted,
             .trainingDatasetCreated, .trainingDatasetDeleted, .resourceTagged, .resourceUntagged,
             .audienceModelCreated, .audienceModelStatus, .audienceModelDeleted,
             .configuredAudienceModelPut, .configuredAudienceModelDeleted, .configuredAudienceModelPolicy,
             .audienceGenerationJobCreated, .audienceGenerationJobStatus, .audienceGenerationJobDeleted,
             .audienceExportJobCreated, .audienceExportJobStatus, .startIntentLogged, .startIntentResolved, .jobTombstoned, .tombstonesExpired,
             .outboxAdded, .outboxDelivered, .collaborationPut, .membershipPut, .membershipDeleted, .associationPut, .associationDeleted:
            return false
        }
    }
}

extension NodeState {
    /// Applies one event. Events were validated when they were made, so applying never fails;
    /// an event that refers to something already gone changes nothing (replay is idempotent).
    public mutating func apply(_ event: StateEvent) {
        switch event {
        case .bootstrapped:
            bootstrapped = true
        case .userCreated(let u):
            if let old = users[u.name] { unindexUser(old) }
            users[u.name] = u
            indexUser(u)
        case .userDeleted(let name):
            if let old = users[name] { unindexUser(old) }
            users[name] = nil
        case .userPolicyPut(let user, let policy, let doc):
            users[user]?.policies[policy] = doc
        case .userPolicyDeleted(let user, let policy):
            users[user]?.policies[policy] = nil
        case .userTagged(let user, let tags):
            if var u = users[user] { u.tags = merged(u.tags, tags); users[user] = u }
        case .userUntagged(let user, let keys):
            users[user]?.tags.removeAll { keys.contains($0.key) }
        case .accessKeyCreated(let user, let key):
            guard users[user] != nil else { break }
            users[user]?.accessKeys.append(key)
            accessKeyOwners[key.id] = user
        case .accessKeyDeleted(let user, let id):
            users[user]?.accessKeys.removeAll { $0.id == id }
            if accessKeyOwners[id] == user { accessKeyOwners[id] = nil }
        case .roleCreated(let r):
            roles[r.name] = r
            roleNames.insert(r.name)
        case .roleDeleted(let name):
            if roles[name] != nil { roleNames.remove(name) }
            roles[name] = nil
            roleSessions = roleSessions.filter { $0.value.roleName != name }
        case .roleSessionCreated(let session):
            roleSessions = roleSessions.filter { $0.value.expiration > session.createdAt }
            roleSessions[session.accessKeyID] = session
        case .rolePolicyPut(let role, let policy, let doc):
            roles[role]?.policies[policy] = doc
        case .rolePolicyDeleted(let role, let policy):
            roles[role]?.policies[policy] = nil
        case .roleTagged(let role, let tags):
            if var r = roles[role] { r.tags = merged(r.tags, tags); roles[role] = r }
        case .roleUntagged(let role, let keys):
            roles[role]?.tags.removeAll { keys.contains($0.key) }
        case .bucketCreated(let name, let at):
            buckets[name] = Bucket(name: name, createDate: at, objects: [:])
        case .bucketDeleted(let name):
            buckets[name] = nil
        case .objectPut(let bucket, let object):
            buckets[bucket]?.objects[object.key] = object
        case .objectDeleted(let bucket, let key):
            buckets[bucket]?.objects[key] = nil
        case .databaseCreated(let db):
            databases[db.name] = db
        case .tableCreated(let t):
            databases[t.databaseName]?.tables[t.name] = t
        case .tableDeleted(let db, let name):
            databases[db]?.tables[name] = nil
        case .trainingDatasetCreated(let d):
            trainingDatasets[d.arn] = d
        case .trainingDatasetDeleted(let arn):
            trainingDatasets[arn] = nil
        case .resourceTagged(let arn, let tags):
            updateTags(arn) { $0.merge(tags) { _, new in new } }
        case .resourceUntagged(let arn, let keys):
            updateTags(arn) { t in for k in keys { t[k] = nil } }
        case .audienceModelCreated(let m):
            audienceModels[m.arn] = m
        case .audienceModelStatus(let arn, let status, let details, let at):
            if let old = audienceModels[arn]?.status, JobStatusOrder.isDeleting(old), !JobStatusOrder.isDeleting(status) { break }
            audienceModels[arn]?.status = status
            audienceModels[arn]?.statusDetails = details
            audienceModels[arn]?.updateTime = at
        case .audienceModelDeleted(let arn):
            audienceModels[arn] = nil
        case .configuredAudienceModelPut(let c):
            configuredAudienceModels[c.arn] = c
        case .configuredAudienceModelDeleted(let arn):
            configuredAudienceModels[arn] = nil
        case .configuredAudienceModelPolicy(let arn, let policy):
            configuredAudienceModels[arn]?.policy = policy
        case .audienceGenerationJobCreated(let j):
            if let old = audienceGenerationJobs[j.arn] { unindexJob(old) }
            audienceGenerationJobs[j.arn] = j
            indexJob(j)
        case .audienceGenerationJobStatus(let arn, let status, let details, let metrics, let candidates, let at):
            guard var j = audienceGenerationJobs[arn] else { break }
            // A delete, once begun, is never undone: no status leads out of a delete state.
            if JobStatusOrder.isDeleting(j.status) && !JobStatusOrder.isDeleting(status) { break }
            if j.jobRole != .submitter, status == "ACTIVE" || status == "CREATE_FAILED", j.status != status { j.runs = (j.runs ?? 0) + 1 }
            j.status = status
            j.statusDetails = details
            if let metrics { j.metrics = metrics }
            if let candidates { j.candidates = candidates }
            j.updateTime = at
            audienceGenerationJobs[arn] = j
        case .audienceGenerationJobDeleted(let arn):
            if let old = audienceGenerationJobs[arn] { unindexJob(old) }
            audienceGenerationJobs[arn] = nil
            for (id, e) in audienceExportJobs where e.audienceGenerationJobArn == arn { audienceExportJobs[id] = nil }
        case .audienceExportJobCreated(let e):
            audienceExportJobs[e.id] = e
        case .audienceExportJobStatus(let id, let status, let details, let location, let at):
            audienceExportJobs[id]?.status = status
            audienceExportJobs[id]?.statusDetails = details
            if let location { audienceExportJobs[id]?.outputLocation = location }
            audienceExportJobs[id]?.updateTime = at
        case .startIntentLogged(let i):
            startIntents[i.jobID] = i
        case .startIntentResolved(let id):
            startIntents[id] = nil
        case .jobTombstoned(let t):
            tombstones[t.jobID] = t
        case .tombstonesExpired(let ids):
            for id in ids { tombstones[id] = nil }
        case .outboxAdded(let e):
            outbox[e.id] = e
        case .outboxDelivered(let id):
            outbox[id] = nil
        case .collaborationPut(let c):
            collaborations[c.id] = c
        case .membershipPut(let m):
            memberships[m.id] = m
        case .membershipDeleted(let id):
            memberships[id] = nil
        case .associationPut(let a):
            associations[a.id] = a
        case .associationDeleted(let id):
            associations[id] = nil
        }
    }

    /// Changes the tags of whichever Clean Rooms ML resource `arn` names.
    private mutating func updateTags(_ arn: String, _ change: (inout [String: String]) -> Void) {
        if trainingDatasets[arn] != nil { change(&trainingDatasets[arn]!.tags) }
        if audienceModels[arn] != nil { change(&audienceModels[arn]!.tags) }
        if configuredAudienceModels[arn] != nil { change(&configuredAudienceModels[arn]!.tags) }
        if audienceGenerationJobs[arn] != nil { change(&audienceGenerationJobs[arn]!.tags) }
    }

    /// The tags of a taggable Clean Rooms ML resource, or nil if there is none under `arn`.
    public func tags(of arn: String) -> [String: String]? {
        trainingDatasets[arn]?.tags ?? audienceModels[arn]?.tags ?? configuredAudienceModels[arn]?.tags ?? audienceGenerationJobs[arn]?.tags
    }

    /// IAM tag semantics: a new value for an existing key replaces it in place.
    private func merged(_ old: [Tag], _ new: [Tag]) -> [Tag] {
        var out = old
        for t in new {
            if let i = out.firstIndex(where: { $0.key == t.key }) { out[i].value = t.value } else { out.append(t) }
        }
        return out
    }
}
