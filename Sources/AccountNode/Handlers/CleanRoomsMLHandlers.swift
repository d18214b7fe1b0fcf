import AccessControl
import CleanRoomsModel
import JSON

/// `cleanroomsml.*` of the account itself: training datasets and tags. Every ARN must be this
/// account's (XA-7); another account's ARN is denied as an unauthorized request is.
enum CleanRoomsMLHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanroomsml.CreateTrainingDataset"] = createTrainingDataset
        h["cleanroomsml.GetTrainingDataset"] = getTrainingDataset
        h["cleanroomsml.ListTrainingDatasets"] = listTrainingDatasets
        h["cleanroomsml.DeleteTrainingDataset"] = deleteTrainingDataset
        h["cleanroomsml.TagResource"] = tagResource
        h["cleanroomsml.UntagResource"] = untagResource
        h["cleanroomsml.ListTagsForResource"] = listTagsForResource
    }

    static func arn(_ core: AccountNodeCore, _ type: String, _ id: String) -> String {
        "arn:\(core.config.partition):cleanrooms-ml:\(core.config.region):\(core.config.account):\(type)/\(id)"
    }

    /// `iam:PassRole` for a role handed to the service, as AWS checks it.
    static func passRole(_ core: AccountNodeCore, _ call: Call, _ roleArn: String) throws(AWSError) {
        try core.requireOwnAccount(call, "iam:PassRole", roleArn)
        try core.authorize(call, "iam:PassRole", roleArn, context: ["iam:PassedToService": .single("cleanrooms-ml.amazonaws.com")])
        let name = roleArn.split(separator: "/").last.map(String.init) ?? ""
        guard core.state.roles[name] != nil else {
            throw AWSError(.validation, "Unable to use role \(roleArn): no such role in account \(core.config.account)")
        }
    }

    // MARK: Training datasets

    static func datasetShape(_ d: TrainingDataset, summary: Bool) -> JSON {
        var o: [String: JSON] = ["createTime": .number(d.createTime), "updateTime": .number(d.updateTime), "trainingDatasetArn": .string(d.arn),
                                 "name": .string(d.name), "status": "ACTIVE"]
        if let desc = d.description { o["description"] = .string(desc) }
        if !summary {
            o["trainingData"] = d.trainingData
            o["roleArn"] = .string(d.roleArn)
            if !d.tags.isEmpty { o["tags"] = .object(d.tags.mapValues { .string($0) }) }
        }
        return .object(o)
    }

    static func createTrainingDataset(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("name")
        let roleArn = try call.string("roleArn")
        let tags = call.tagMap()
        try core.authorize(call, "cleanrooms-ml:CreateTrainingDataset", "*", requestTags: tags)
        if !tags.isEmpty { try core.authorize(call, "cleanrooms-ml:TagResource", "*", requestTags: tags) }
        try passRole(core, call, roleArn)
        guard let data = call.params["trainingData"]?.arrayValue, let dataset = data.first else {
            throw AWSError(.validation, "trainingData must hold one INTERACTIONS dataset")
        }
        let glue = dataset["inputConfig"]?["dataSource"]?["glueDataSource"]
        let db = (glue?["databaseName"]?.stringValue ?? "").lowercased()
        let table = (glue?["tableName"]?.stringValue ?? "").lowercased()
        if let catalog = glue?["catalogId"]?.stringValue, catalog != core.config.account.rawValue {
            throw AWSError(.validation, "glueDataSource.catalogId \(catalog) is not this account's catalog (\(core.config.account))")
        }
        guard core.state.databases[db]?.tables[table] != nil else {
            throw AWSError(.validation, "Glue table \(db).\(table) does not exist in account \(core.config.account)'s catalog")
        }
        let schema = (dataset["inputConfig"]?["schema"]?.arrayValue ?? []).flatMap { ($0["columnTypes"]?.arrayValue ?? []).compactMap(\.stringValue) }
        for required in ["USER_ID", "ITEM_ID", "TIMESTAMP"] where !schema.contains(required) {
            throw AWSError(.validation, "The schema of an INTERACTIONS dataset needs a column of type \(required)")
        }
        if core.state.trainingDatasets.values.contains(where: { $0.name == name }) {
            throw AWSError(.conflict, "A training dataset named \(name) already exists")
        }
        let d = TrainingDataset(arn: arn(core, "training-dataset", core.newUUID()), name: name, description: call.optionalString("description"),
                                roleArn: roleArn, trainingData: .array(data), tags: tags, createTime: call.now, updateTime: call.now)
        call.auditResource("AWS::CleanRoomsML::TrainingDataset", d.arn)
        core.emit(.trainingDatasetCreated(d))
        return .result(["trainingDatasetArn": .string(d.arn)])
    }

    static func trainingDataset(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> TrainingDataset {
        try core.ownResource(call, action, member: "trainingDatasetArn", type: "TrainingDataset", noun: "Training dataset",
                             in: core.state.trainingDatasets, tags: \.tags)
    }

    static func getTrainingDataset(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(datasetShape(try trainingDataset(core, call, "cleanrooms-ml:GetTrainingDataset"), summary: false))
    }

    static func listTrainingDatasets(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "cleanrooms-ml:ListTrainingDatasets", "*")
        let all = core.state.trainingDatasets.values.sorted { $0.arn < $1.arn }
        let page = try Page.slice(all, key: \.arn, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["trainingDatasets": .array(page.items.map { datasetShape($0, summary: true) }), "nextToken": page.next.map { .string($0) }]))
    }

    static func deleteTrainingDataset(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let d = try trainingDataset(core, call, "cleanrooms-ml:DeleteTrainingDataset")
        if let m = core.state.audienceModels.values.first(where: { $0.trainingDatasetArn == d.arn }) {
            throw AWSError(.conflict, "Training dataset \(d.arn) is used by audience model \(m.arn); delete the model first")
        }
        core.emit(.trainingDatasetDeleted(arn: d.arn))
        return .result([:])
    }

    // MARK: Tags

    /// The tags of a taggable resource of this account, or nil if it does not exist.
    static func tags(_ core: AccountNodeCore, _ arn: String) -> [String: String]? {
        core.state.tags(of: arn)
    }

    static func taggable(_ core: AccountNodeCore, _ call: Call, _ action: String, requestTags: [String: String]? = nil,
                         tagKeys: [String]? = nil) throws(AWSError) -> (arn: String, tags: [String: String]) {
        let a = try call.string("resourceArn")
        call.auditResource("AWS::CleanRoomsML::Resource", a)
        try core.requireOwnAccount(call, action, a)
        let existing = tags(core, a)
        var extra: [String: ContextValue] = [:]
        if let tagKeys { extra["aws:TagKeys"] = .list(tagKeys) }
        let policy = core.state.configuredAudienceModels[a].flatMap(core.resourcePolicy)  // a CAM's own policy binds its tags too
        try core.authorize(call, action, a, resourceTags: existing ?? [:], requestTags: requestTags, context: extra, resourcePolicy: policy)
        guard let existing else { throw AWSError(.resourceNotFound, "Resource \(a) not found") }
        return (a, existing)
    }

    static func tagResource(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let new = call.tagMap()
        let (a, existing) = try taggable(core, call, "cleanrooms-ml:TagResource", requestTags: new)
        if existing.merging(new, uniquingKeysWith: { $1 }).count > 200 {
            throw AWSError(.validation, "A resource can have at most 200 tags")
        }
        if let reserved = new.keys.first(where: { $0.lowercased().hasPrefix("aws:") }) {
            throw AWSError(.validation, "Tag keys starting with aws: are reserved: \(reserved)")
        }
        core.emit(.resourceTagged(arn: a, tags: new))
        return .result([:])
    }

    static func untagResource(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let keys = call.stringList("tagKeys")
        let (a, _) = try taggable(core, call, "cleanrooms-ml:UntagResource", tagKeys: keys)
        core.emit(.resourceUntagged(arn: a, keys: keys))
        return .result([:])
    }

    static func listTagsForResource(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let (_, t) = try taggable(core, call, "cleanrooms-ml:ListTagsForResource")
        return .result(["tags": .object(t.mapValues { .string($0) })])
    }
}
