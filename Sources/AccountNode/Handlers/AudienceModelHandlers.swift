import AccessControl
import CleanRoomsModel
import Digest
import JSON

/// `cleanroomsml.*` for audience models (trained asynchronously on a training dataset) and
/// configured audience models (how a model may be used, with their resource policies).
enum AudienceModelHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanroomsml.CreateAudienceModel"] = createAudienceModel
        h["cleanroomsml.GetAudienceModel"] = getAudienceModel
        h["cleanroomsml.ListAudienceModels"] = listAudienceModels
        h["cleanroomsml.DeleteAudienceModel"] = deleteAudienceModel
        h["cleanroomsml.CreateConfiguredAudienceModel"] = createConfiguredAudienceModel
        h["cleanroomsml.GetConfiguredAudienceModel"] = getConfiguredAudienceModel
        h["cleanroomsml.ListConfiguredAudienceModels"] = listConfiguredAudienceModels
        h["cleanroomsml.UpdateConfiguredAudienceModel"] = updateConfiguredAudienceModel
        h["cleanroomsml.DeleteConfiguredAudienceModel"] = deleteConfiguredAudienceModel
        h["cleanroomsml.PutConfiguredAudienceModelPolicy"] = putPolicy
        h["cleanroomsml.GetConfiguredAudienceModelPolicy"] = getPolicy
        h["cleanroomsml.DeleteConfiguredAudienceModelPolicy"] = deletePolicy
    }

    // MARK: Audience models

    static func shape(_ m: AudienceModel, summary: Bool) -> JSON {
        var o: [String: JSON] = ["audienceModelArn": .string(m.arn), "name": .string(m.name), "trainingDatasetArn": .string(m.trainingDatasetArn),
                                 "status": .string(m.status), "createTime": .number(m.createTime), "updateTime": .number(m.updateTime)]
        if let d = m.description { o["description"] = .string(d) }
        if !summary {
            if let s = m.statusDetails { o["statusDetails"] = s.json }
            if let t = m.trainingDataStartTime { o["trainingDataStartTime"] = .number(t) }
            if let t = m.trainingDataEndTime { o["trainingDataEndTime"] = .number(t) }
            if let k = m.kmsKeyArn { o["kmsKeyArn"] = .string(k) }
            if !m.tags.isEmpty { o["tags"] = .object(m.tags.mapValues { .string($0) }) }
        }
        return .object(o)
    }

    /// The work that trains `model` on its dataset's data as it is now; or why it cannot start.
    static func trainingWork(_ core: AccountNodeCore, _ model: AudienceModel) -> Result<Work, WorkFailure> {
        guard let dataset = core.state.trainingDatasets[model.trainingDatasetArn] else {
            return .failure(WorkFailure(statusCode: "TRAINING_DATASET_MISSING", message: "Training dataset \(model.trainingDatasetArn) no longer exists"))
        }
        let first = dataset.trainingData.arrayValue?.first
        let glue = first?["inputConfig"]?["dataSource"]?["glueDataSource"]
        let db = (glue?["databaseName"]?.stringValue ?? "").lowercased(), tableName = (glue?["tableName"]?.stringValue ?? "").lowercased()
        guard let table = core.state.databases[db]?.tables[tableName] else {
            return .failure(WorkFailure(statusCode: "GLUE_TABLE_MISSING", message: "Glue table \(db).\(tableName) of training dataset \(dataset.name) does not exist in account \(core.config.account)"))
        }
        var columns: [String: String] = [:]
        for c in first?["inputConfig"]?["schema"]?.arrayValue ?? [] {
            if let name = c["columnName"]?.stringValue { for t in (c["columnTypes"]?.arrayValue ?? []).compactMap(\.stringValue) { columns[t] = name } }
        }
        guard let location = table.input["StorageDescriptor"]?["Location"]?.stringValue, let (bucket, prefix) = S3Location.parse(location) else {
            return .failure(WorkFailure(statusCode: "GLUE_TABLE_INVALID", message: "Glue table \(db).\(tableName) has no s3:// StorageDescriptor.Location"))
        }
        let objects = S3Location.objects(core, bucket: bucket, prefix: prefix)
        guard !objects.isEmpty else {
            return .failure(WorkFailure(statusCode: "NO_TRAINING_DATA", message: "No objects under \(location) (the location of Glue table \(db).\(tableName)) in account \(core.config.account)'s S3"))
        }
        return .success(.trainModel(modelArn: model.arn, modelFile: model.id, objects: objects, userColumn: columns["USER_ID"] ?? "user_id",
                                    itemColumn: columns["ITEM_ID"] ?? "item_id", timestampColumn: columns["TIMESTAMP"] ?? "timestamp",
                                    start: model.trainingDataStartTime, end: model.trainingDataEndTime))
    }

    static func createAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("name")
        let datasetArn = try call.string("trainingDatasetArn")
        let tags = call.tagMap()
        try core.requireOwnAccount(call, "cleanrooms-ml:CreateAudienceModel", datasetArn)
        let dataset = core.state.trainingDatasets[datasetArn]
        try core.authorize(call, "cleanrooms-ml:CreateAudienceModel", datasetArn, resourceTags: dataset?.tags ?? [:], requestTags: tags)
        if !tags.isEmpty { try core.authorize(call, "cleanrooms-ml:TagResource", datasetArn, requestTags: tags) }
        guard dataset != nil else { throw AWSError(.resourceNotFound, "Training dataset \(datasetArn) not found") }
        let start = call.params["trainingDataStartTime"]?.numberValue, end = call.params["trainingDataEndTime"]?.numberValue
        if let start, let end, start > end { throw AWSError(.validation, "trainingDataStartTime must not be after trainingDataEndTime") }
        if core.state.audienceModels.values.contains(where: { $0.name == name }) {
            throw AWSError(.conflict, "An audience model named \(name) already exists")
        }
        let id = core.newUUID()
        let model = AudienceModel(arn: CleanRoomsMLHandlers.arn(core, "audience-model", id), id: id, name: name, description: call.optionalString("description"),
                                  trainingDatasetArn: datasetArn, trainingDataStartTime: start, trainingDataEndTime: end,
                                  kmsKeyArn: call.optionalString("kmsKeyArn"), tags: tags, status: "CREATE_PENDING", statusDetails: nil,
                                  createTime: call.now, updateTime: call.now)
        call.auditResource("AWS::CleanRoomsML::AudienceModel", model.arn)
        core.emit(.audienceModelCreated(model))
        switch trainingWork(core, model) {
        case .success(let work): core.startWork(work)
        case .failure(let f): core.emit(.audienceModelStatus(arn: model.arn, status: "CREATE_FAILED", details: StatusDetails(statusCode: f.statusCode, message: f.message), at: call.now))
        }
        return .result(["audienceModelArn": .string(model.arn)])
    }

    static func audienceModel(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> AudienceModel {
        try core.ownResource(call, action, member: "audienceModelArn", type: "AudienceModel", noun: "Audience model",
                             in: core.state.audienceModels, tags: \.tags)
    }

    static func getAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(shape(try audienceModel(core, call, "cleanrooms-ml:GetAudienceModel"), summary: false))
    }

    static func listAudienceModels(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "cleanrooms-ml:ListAudienceModels", "*")
        let all = core.state.audienceModels.values.sorted { $0.arn < $1.arn }
        let page = try Page.slice(all, key: \.arn, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["audienceModels": .array(page.items.map { shape($0, summary: true) }), "nextToken": page.next.map { .string($0) }]))
    }

    static func deleteAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let m = try audienceModel(core, call, "cleanrooms-ml:DeleteAudienceModel")
        if let c = core.state.configuredAudienceModels.values.first(where: { $0.audienceModelArn == m.arn }) {
            throw AWSError(.conflict, "Audience model \(m.arn) is used by configured audience model \(c.arn); delete that first")
        }
        // As AWS shows it: DELETE_PENDING at once (training stops), then gone once that is durable.
        guard !JobStatusOrder.isDeleting(m.status) else { return .result([:]) }
        core.emit(.audienceModelStatus(arn: m.arn, status: "DELETE_PENDING", details: nil, at: call.now))
        core.cancelWork(m.arn)
        core.setTimer(.finishModelDelete(modelArn: m.arn), at: call.now)
        return .result([:])
    }

    /// The second half of a model's delete: the model and its trained file are gone.
    static func finishDelete(_ core: AccountNodeCore, modelArn: String) {
        guard let m = core.state.audienceModels[modelArn], JobStatusOrder.isDeleting(m.status) else { return }
        core.emit(.audienceModelDeleted(arn: m.arn))
        core.deleteFile(.model(m.id))
    }

    // MARK: Configured audience models

    static func shape(_ c: ConfiguredAudienceModel, summary: Bool) -> JSON {
        var o: [String: JSON] = ["configuredAudienceModelArn": .string(c.arn), "name": .string(c.name), "audienceModelArn": .string(c.audienceModelArn),
                                 "outputConfig": c.outputConfig, "status": "ACTIVE", "createTime": .number(c.createTime), "updateTime": .number(c.updateTime)]
        if let d = c.description { o["description"] = .string(d) }
        if !summary {
            o["sharedAudienceMetrics"] = .array(c.sharedAudienceMetrics.map { .string($0) })
            if let m = c.minMatchingSeedSize { o["minMatchingSeedSize"] = .int(m) }
            if let a = c.audienceSizeConfig { o["audienceSizeConfig"] = a }
            if let p = c.childResourceTagOnCreatePolicy { o["childResourceTagOnCreatePolicy"] = .string(p) }
            if !c.tags.isEmpty { o["tags"] = .object(c.tags.mapValues { .string($0) }) }
        }
        return .object(o)
    }

    /// Checks `audienceSizeConfig`: distinct bins; percentages between 1 and 100.
    static func checkSizeConfig(_ config: JSON?) throws(AWSError) {
        guard let config else { return }
        let bins = (config["audienceSizeBins"]?.arrayValue ?? []).compactMap(\.intValue)
        if Set(bins).count != bins.count { throw AWSError(.validation, "audienceSizeConfig.audienceSizeBins must not repeat a size") }
        if config["audienceSizeType"] == "PERCENTAGE", let bad = bins.first(where: { $0 > 100 }) {
            throw AWSError(.validation, "audienceSizeConfig: a PERCENTAGE bin must be at most 100, got \(bad)")
        }
    }

    static func activeModel(_ core: AccountNodeCore, _ call: Call, _ arn: String, action: String) throws(AWSError) {
        try core.requireOwnAccount(call, action, arn)
        let m = core.state.audienceModels[arn]
        try core.authorize(call, action, arn, resourceTags: m?.tags ?? [:], requestTags: call.tagMap())
        guard let m else { throw AWSError(.resourceNotFound, "Audience model \(arn) not found") }
        guard m.status == "ACTIVE" else { throw AWSError(.validation, "Audience model \(arn) is \(m.status); it must be ACTIVE") }
    }

    static func createConfiguredAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("name")
        let modelArn = try call.string("audienceModelArn")
        let tags = call.tagMap()
        try activeModel(core, call, modelArn, action: "cleanrooms-ml:CreateConfiguredAudienceModel")
        if !tags.isEmpty { try core.authorize(call, "cleanrooms-ml:TagResource", modelArn, requestTags: tags) }
        let output = call.params["outputConfig"] ?? [:]
        if let role = output["roleArn"]?.stringValue { try CleanRoomsMLHandlers.passRole(core, call, role) }
        guard S3Location.parse(output["destination"]?["s3Destination"]?["s3Uri"]?.stringValue ?? "") != nil else {
            throw AWSError(.validation, "outputConfig.destination.s3Destination.s3Uri must be s3://bucket/prefix")
        }
        try checkSizeConfig(call.params["audienceSizeConfig"])
        if core.state.configuredAudienceModels.values.contains(where: { $0.name == name }) {
            throw AWSError(.conflict, "A configured audience model named \(name) already exists")
        }
        let cam = ConfiguredAudienceModel(arn: CleanRoomsMLHandlers.arn(core, "configured-audience-model", core.newUUID()), name: name,
                                          description: call.optionalString("description"), audienceModelArn: modelArn, outputConfig: output,
                                          sharedAudienceMetrics: call.stringList("sharedAudienceMetrics"), minMatchingSeedSize: call.int("minMatchingSeedSize"),
                                          audienceSizeConfig: call.params["audienceSizeConfig"], childResourceTagOnCreatePolicy: call.optionalString("childResourceTagOnCreatePolicy"),
                                          tags: tags, policy: nil, createTime: call.now, updateTime: call.now)
        call.auditResource("AWS::CleanRoomsML::ConfiguredAudienceModel", cam.arn)
        core.emit(.configuredAudienceModelPut(cam))
        return .result(["configuredAudienceModelArn": .string(cam.arn)])
    }

    static func configuredModel(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> ConfiguredAudienceModel {
        // Every call on a CAM goes through its resource policy too (same-account logic).
        try core.ownResource(call, action, member: "configuredAudienceModelArn", type: "ConfiguredAudienceModel", noun: "Configured audience model",
                             in: core.state.configuredAudienceModels, tags: \.tags, resourcePolicy: core.resourcePolicy)
    }

    static func getConfiguredAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(shape(try configuredModel(core, call, "cleanrooms-ml:GetConfiguredAudienceModel"), summary: false))
    }

    static func listConfiguredAudienceModels(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "cleanrooms-ml:ListConfiguredAudienceModels", "*")
        let all = core.state.configuredAudienceModels.values.sorted { $0.arn < $1.arn }
        let page = try Page.slice(all, key: \.arn, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["configuredAudienceModels": .array(page.items.map { shape($0, summary: true) }), "nextToken": page.next.map { .string($0) }]))
    }

    static func updateConfiguredAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        var c = try configuredModel(core, call, "cleanrooms-ml:UpdateConfiguredAudienceModel")
        if let m = call.optionalString("audienceModelArn") {
            try activeModel(core, call, m, action: "cleanrooms-ml:UpdateConfiguredAudienceModel")
            c.audienceModelArn = m
        }
        if let output = call.params["outputConfig"] {
            if let role = output["roleArn"]?.stringValue { try CleanRoomsMLHandlers.passRole(core, call, role) }
            guard S3Location.parse(output["destination"]?["s3Destination"]?["s3Uri"]?.stringValue ?? "") != nil else {
                throw AWSError(.validation, "outputConfig.destination.s3Destination.s3Uri must be s3://bucket/prefix")
            }
            c.outputConfig = output
        }
        if let s = call.params["audienceSizeConfig"] { try checkSizeConfig(s); c.audienceSizeConfig = s }
        if let d = call.optionalString("description") { c.description = d }
        if let m = call.int("minMatchingSeedSize") { c.minMatchingSeedSize = m }
        if call.params["sharedAudienceMetrics"] != nil { c.sharedAudienceMetrics = call.stringList("sharedAudienceMetrics") }
        c.updateTime = call.now
        core.emit(.configuredAudienceModelPut(c))
        return .result(["configuredAudienceModelArn": .string(c.arn)])
    }

    static func deleteConfiguredAudienceModel(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        // Deleting a CAM never blocks anything (XA-8): its jobs stay readable and deletable.
        let c = try configuredModel(core, call, "cleanrooms-ml:DeleteConfiguredAudienceModel")
        core.emit(.configuredAudienceModelDeleted(arn: c.arn))
        return .result([:])
    }

    // MARK: Resource policies

    static func hash(_ policy: String) -> String { Hex.encode(SHA256.hash(policy)) }

    static func putPolicy(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let c = try configuredModel(core, call, "cleanrooms-ml:PutConfiguredAudienceModelPolicy")
        let policy = try call.string("configuredAudienceModelPolicy")
        switch call.optionalString("policyExistenceCondition") {
        case "POLICY_MUST_EXIST"? where c.policy == nil:
            throw AWSError(.validation, "policyExistenceCondition is POLICY_MUST_EXIST but \(c.arn) has no policy")
        case "POLICY_MUST_NOT_EXIST"? where c.policy != nil:
            throw AWSError(.validation, "policyExistenceCondition is POLICY_MUST_NOT_EXIST but \(c.arn) has a policy")
        default: break
        }
        if let previous = call.optionalString("previousPolicyHash"), previous != c.policy.map(hash) {
            throw AWSError(.validation, "previousPolicyHash \(previous) does not match the current policy's hash \(c.policy.map(hash) ?? "(no policy)")")
        }
        do { _ = try PolicyDocument(parsing: policy, kind: .resource) } catch {
            throw AWSError(.validation, "The configured audience model policy is not a valid resource policy: \(error.message)")
        }
        core.emit(.configuredAudienceModelPolicy(arn: c.arn, policy: policy))
        return .result(["configuredAudienceModelPolicy": .string(policy), "policyHash": .string(hash(policy))])
    }

    static func getPolicy(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let c = try configuredModel(core, call, "cleanrooms-ml:GetConfiguredAudienceModelPolicy")
        guard let p = c.policy else { throw AWSError(.resourceNotFound, "Configured audience model \(c.arn) has no policy") }
        return .result(["configuredAudienceModelArn": .string(c.arn), "configuredAudienceModelPolicy": .string(p), "policyHash": .string(hash(p))])
    }

    static func deletePolicy(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let c = try configuredModel(core, call, "cleanrooms-ml:DeleteConfiguredAudienceModelPolicy")
        guard c.policy != nil else { throw AWSError(.resourceNotFound, "Configured audience model \(c.arn) has no policy") }
        core.emit(.configuredAudienceModelPolicy(arn: c.arn, policy: nil))
        return .result([:])
    }
}

/// `s3://bucket/prefix` locations and the objects under them.
enum S3Location {
    static func parse(_ uri: String) -> (bucket: String, prefix: String)? {
        guard uri.hasPrefix("s3://") else { return nil }
        let rest = uri.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { return nil }
        return (String(bucket), String(rest.dropFirst(bucket.count + 1)))
    }

    /// The objects of `bucket` whose key is `prefix` or starts with it (sorted by key).
    static func objects(_ core: AccountNodeCore, bucket: String, prefix: String) -> [DataObject] {
        guard let b = core.state.buckets[bucket] else { return [] }
        return b.objects.values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
            .map { DataObject(source: "s3://\(bucket)/\($0.key)", blob: $0.blob) }
    }

    /// The bytes those objects hold together.
    static func size(_ core: AccountNodeCore, bucket: String, prefix: String) -> Int {
        core.state.buckets[bucket]?.objects.values.filter { $0.key.hasPrefix(prefix) }.reduce(0) { $0 + $1.size } ?? 0
    }
}
