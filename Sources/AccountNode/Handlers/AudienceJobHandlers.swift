import AccessControl
import CleanRoomsModel
import JSON

/// `cleanroomsml.*` for audience generation jobs and their exports, within one account (the
/// cross-account protocol builds on these).
enum AudienceJobHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanroomsml.StartAudienceGenerationJob"] = startAudienceGenerationJob
        h["cleanroomsml.GetAudienceGenerationJob"] = getAudienceGenerationJob
        h["cleanroomsml.ListAudienceGenerationJobs"] = listAudienceGenerationJobs
        h["cleanroomsml.DeleteAudienceGenerationJob"] = deleteAudienceGenerationJob
        h["cleanroomsml.StartAudienceExportJob"] = startAudienceExportJob
        h["cleanroomsml.ListAudienceExportJobs"] = listAudienceExportJobs
    }

    static func shape(_ j: AudienceGenerationJob, summary: Bool) -> JSON {
        var o: [String: JSON] = ["audienceGenerationJobArn": .string(j.arn), "name": .string(j.name), "configuredAudienceModelArn": .string(j.configuredAudienceModelArn),
                                 "status": .string(j.status), "createTime": .number(j.createTime), "updateTime": .number(j.updateTime), "startedBy": .string(j.startedBy)]
        if let d = j.description { o["description"] = .string(d) }
        if let c = j.collaborationId { o["collaborationId"] = .string(c) }
        if !summary {
            o["includeSeedInOutput"] = .bool(j.includeSeedInOutput)
            // PV-3: the owner's copy of another account's job shows no seed, except (PV-2) an
            // SQL seed's query when the collaboration logs queries.
            if j.jobRole != .owner || !j.seedAudience.isNull { o["seedAudience"] = j.seedAudience }
            if let q = j.protectedQueryIdentifier, j.jobRole != .owner || !j.seedAudience.isNull { o["protectedQueryIdentifier"] = .string(q) }
            if let s = j.statusDetails { o["statusDetails"] = s.json }
            if let m = j.metrics { o["metrics"] = m }
            if !j.tags.isEmpty { o["tags"] = .object(j.tags.mapValues { .string($0) }) }
        }
        return .object(o)
    }

    static func startAudienceGenerationJob(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try startLocal(core, call, validated: nil)
    }

    /// A start, on a CAM of this account or (handed over) of another. `validated`: the
    /// collaboration named, if any, has been checked with its creator (CO-1).
    static func startLocal(_ core: AccountNodeCore, _ call: Call, validated: CollaborationCheck.Passed?) throws(AWSError) -> Reply {
        let name = try call.string("name")
        let camArn = try call.string("configuredAudienceModelArn")
        let seed = call.params["seedAudience"] ?? [:]
        let tags = call.tagMap()
        let action = "cleanrooms-ml:StartAudienceGenerationJob"
        guard let camAccount = ARN(camArn)?.account else { throw AWSError(.validation, "configuredAudienceModelArn \(camArn) is not an ARN") }
        if camAccount != core.config.account.rawValue {
            return try CrossAccountStart.begin(core, call, name: name, camArn: camArn, owner: camAccount, seed: seed, tags: tags)
        }
        let id = core.newUUID()
        let jobArn = CleanRoomsMLHandlers.arn(core, "audience-generation-job", id)
        call.auditResource("AWS::CleanRoomsML::AudienceGenerationJob", jobArn)
        call.auditResource("AWS::CleanRoomsML::ConfiguredAudienceModel", camArn)
        var context: [String: ContextValue] = [:]
        if let c = call.optionalString("collaborationId") { context["cleanrooms-ml:CollaborationId"] = .single(c) }
        // XA-6, within one account: on the job ARN and on the CAM, the identity policies or the
        // CAM's resource policy must allow, and an explicit Deny in either refuses.
        let cam = core.state.configuredAudienceModels[camArn]
        let policy = cam.flatMap(core.resourcePolicy)
        try core.authorize(call, action, jobArn, requestTags: tags, context: context, resourcePolicy: policy)
        try core.authorize(call, action, camArn, resourceTags: cam?.tags ?? [:], requestTags: tags, context: context, resourcePolicy: policy)
        if !tags.isEmpty { try core.authorize(call, "cleanrooms-ml:TagResource", jobArn, requestTags: tags) }
        let roleArn = seed["roleArn"]?.stringValue ?? ""
        try CleanRoomsMLHandlers.passRole(core, call, roleArn)
        guard let cam else { throw AWSError(.resourceNotFound, "Configured audience model \(camArn) not found") }
        guard let model = core.state.audienceModels[cam.audienceModelArn], model.status == "ACTIVE" else {
            throw AWSError(.validation, "The audience model of \(camArn) is not ACTIVE")
        }
        let (objects, selection, _, _) = try seedObjects(core, seed, collaboration: call.optionalString("collaborationId"))
        try requireFreeName(core, name)
        if let collaboration = call.optionalString("collaborationId"), validated == nil {
            try CollaborationCheck.requireOwnMembership(core, collaboration)
            let me = core.config.account.rawValue
            guard try CollaborationCheck.begin(core, collaboration, submitter: me, owner: me, then: .localStart(call)) != nil else {
                call.deferred = true
                return .result([:])
            }
        }
        // TG-1: a job in the CAM owner's own account may start with the CAM's tags; the
        // request's tags win over them.
        var jobTags = tags
        if cam.childResourceTagOnCreatePolicy == "FROM_PARENT_RESOURCE" { jobTags = cam.tags.merging(tags) { _, request in request } }
        let sizes = cam.audienceSizeConfig
        let plan = GenerationPlan(modelFile: model.id, seed: objects, minMatchingSeedSize: cam.minMatchingSeedSize ?? 25,
                                  sizeType: sizes?["audienceSizeType"]?.stringValue ?? "ABSOLUTE",
                                  bins: (sizes?["audienceSizeBins"]?.arrayValue ?? []).compactMap(\.intValue), selection: selection)
        var job = AudienceGenerationJob(arn: jobArn, id: id, name: name, description: call.optionalString("description"), configuredAudienceModelArn: camArn,
                                        collaborationId: call.optionalString("collaborationId"), includeSeedInOutput: call.bool("includeSeedInOutput") ?? false,
                                        seedAudience: seed, status: "CREATE_PENDING", statusDetails: nil, metrics: nil, tags: jobTags,
                                        startedBy: core.config.account.rawValue, createTime: call.now, updateTime: call.now, candidates: nil, plan: plan)
        if selection != nil { job.protectedQueryIdentifier = core.newUUID() }
        core.emit(.audienceGenerationJobCreated(job))
        core.startWork(JobWork.generation(job, plan))
        return .result(["audienceGenerationJobArn": .string(jobArn)])
    }

    /// The S3 objects of the seed audience, in this account's S3, or of the Glue table an SQL
    /// seed reads (then with its selection; SQL seeds need a collaboration).
    static func seedObjects(_ core: AccountNodeCore, _ seed: JSON, collaboration: String?) throws(AWSError)
        -> (objects: [DataObject], selection: SeedSelection?, bytes: Int, uri: String) {
        if let sql = seed["sqlParameters"] {
            guard seed["dataSource"] == nil else { throw AWSError(.validation, "seedAudience: give dataSource or sqlParameters, not both") }
            guard let text = sql["queryString"]?.stringValue else {
                throw AWSError(.validation, "\(SQLSeed.member): this simulation runs SQL seeds given as a query string (not analysis templates)")
            }
            let (objects, selection, uri) = try SQLSeed.resolve(core, text, collaboration: collaboration)
            return (objects, selection, 0, uri)  // what is sent is the selection, sized when it is made
        }
        guard let uri = seed["dataSource"]?["s3Uri"]?.stringValue, let (bucket, prefix) = S3Location.parse(uri) else {
            throw AWSError(.validation, "seedAudience.dataSource.s3Uri must be s3://bucket/key")
        }
        let objects = S3Location.objects(core, bucket: bucket, prefix: prefix)
        guard !objects.isEmpty else { throw AWSError(.validation, "The seed audience location \(uri) holds no objects in account \(core.config.account)'s S3") }
        let bytes = S3Location.size(core, bucket: bucket, prefix: prefix)
        return (objects, nil, bytes, uri)
    }

    /// XA-5: a name is unique among the account's jobs and the starts it has in flight.
    static func requireFreeName(_ core: AccountNodeCore, _ name: String) throws(AWSError) {
        if core.state.hasJob(named: name) || core.state.startIntents.values.contains(where: { $0.name == name }) {
            throw AWSError(.conflict, "An audience generation job named \(name) already exists")
        }
    }

    static func job(_ core: AccountNodeCore, _ call: Call, _ action: String, member: String = "audienceGenerationJobArn") throws(AWSError) -> AudienceGenerationJob {
        try core.ownResource(call, action, member: member, type: "AudienceGenerationJob", noun: "Audience generation job",
                             in: core.state.audienceGenerationJobs, tags: \.tags)
    }

    static func getAudienceGenerationJob(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(shape(try job(core, call, "cleanrooms-ml:GetAudienceGenerationJob"), summary: false))
    }

    static func listAudienceGenerationJobs(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let camFilter = call.optionalString("configuredAudienceModelArn")
        try core.authorize(call, "cleanrooms-ml:ListAudienceGenerationJobs", camFilter ?? "*")
        let collaboration = call.optionalString("collaborationId")
        let page = try Page.slice(core.state.jobArns, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100) { arn in
            core.state.audienceGenerationJobs[arn].flatMap { j in
                (camFilter == nil || j.configuredAudienceModelArn == camFilter) && (collaboration == nil || j.collaborationId == collaboration) ? j : nil
            }
        }
        return .result(.compactObject(["audienceGenerationJobs": .array(page.items.map { shape($0, summary: true) }), "nextToken": page.next.map { .string($0) }]))
    }

    static func deleteAudienceGenerationJob(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let j = try job(core, call, "cleanrooms-ml:DeleteAudienceGenerationJob")
        if j.counterpart != nil {
            DeletePropagation.deleteShared(core, j, now: call.now)
        } else {
            JobWork.beginDelete(core, j, status: "DELETE_PENDING")
        }
        return .result([:])
    }

    // MARK: Exports

    static func exportShape(_ e: AudienceExportJob) -> JSON {
        .compactObject(["audienceGenerationJobArn": .string(e.audienceGenerationJobArn), "name": .string(e.name), "audienceSize": e.audienceSize,
                        "status": .string(e.status), "createTime": .number(e.createTime), "updateTime": .number(e.updateTime),
                        "description": e.description.map { .string($0) }, "statusDetails": e.statusDetails.map(\.json),
                        "outputLocation": e.outputLocation.map { .string($0) }])
    }

    static func startAudienceExportJob(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let j = try job(core, call, "cleanrooms-ml:StartAudienceExportJob")
        let name = try call.string("name")
        let size = call.params["audienceSize"] ?? [:]
        if j.jobRole == .submitter { return try JobReplication.beginExport(core, call, j, name: name, size: size) }
        let count = try exportCount(j, size)
        if core.state.audienceExportJobs.values.contains(where: { $0.audienceGenerationJobArn == j.arn && $0.requestedBy == nil && $0.name == name }) {
            throw AWSError(.conflict, "Job \(j.arn) already has an export named \(name)")
        }
        let export = AudienceExportJob(id: core.newUUID(), audienceGenerationJobArn: j.arn, name: name, description: call.optionalString("description"),
                                       audienceSize: size, status: "CREATE_PENDING", statusDetails: nil, outputLocation: nil,
                                       createTime: call.now, updateTime: call.now, count: count)
        core.emit(.audienceExportJobCreated(export))
        core.startWork(.exportAudience(exportID: export.id, audienceFile: j.id, count: count))
        return .result([:])
    }

    /// How many users an export of `size` writes; the size must be one the CAM allows.
    static func exportCount(_ j: AudienceGenerationJob, _ size: JSON) throws(AWSError) -> Int {
        try refuseIfDeleting(j)
        guard j.status == "ACTIVE", let candidates = j.candidates, let plan = j.plan else {
            throw AWSError(.validation, "Audience generation job \(j.arn) is \(j.status); only an ACTIVE job's audience can be exported")
        }
        let type = size["type"]?.stringValue ?? "", value = size["value"]?.intValue ?? 0
        guard type == plan.sizeType, plan.bins.contains(value) else {
            throw AWSError(.validation, "audienceSize \(type) \(value) is not one of the configured audience model's sizes (\(plan.sizeType) \(plan.bins.map(String.init).joined(separator: ", ")))")
        }
        return type == "PERCENTAGE" ? (candidates * value + 99) / 100 : min(value, candidates)
    }

    /// A job being deleted takes no new exports (XA-8).
    static func refuseIfDeleting(_ j: AudienceGenerationJob) throws(AWSError) {
        guard JobStatusOrder.isDeleting(j.status) else { return }
        throw AWSError(.conflict, "Audience generation job \(j.arn) is being deleted (\(j.status)); it takes no new exports")
    }

    static func listAudienceExportJobs(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let filter = call.optionalString("audienceGenerationJobArn")
        if let filter {
            try core.requireOwnAccount(call, "cleanrooms-ml:ListAudienceExportJobs", filter)
            try core.authorize(call, "cleanrooms-ml:ListAudienceExportJobs", filter, resourceTags: core.state.audienceGenerationJobs[filter]?.tags ?? [:])
        } else {
            try core.authorize(call, "cleanrooms-ml:ListAudienceExportJobs", "*")
        }
        // Exports another account asked for run here but are listed there.
        let all = core.state.audienceExportJobs.values.filter { $0.requestedBy == nil && (filter == nil || $0.audienceGenerationJobArn == filter) }
            .sorted { $0.id < $1.id }
        let page = try Page.slice(all, key: \.id, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["audienceExportJobs": .array(page.items.map(exportShape)), "nextToken": page.next.map { .string($0) }]))
    }
}
