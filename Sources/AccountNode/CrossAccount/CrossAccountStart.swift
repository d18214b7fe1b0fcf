import AccessControl
import CleanRoomsModel
import JSON

/// Starting a job on another account's configured audience model (XA-1, XA-5, XA-6, TG-2, PV-1).
///
/// The submitter (A) checks its side, reserves the name and logs an intent, then asks the owner
/// (B). B checks its resource policy and its own name space, durably creates its copy and
/// answers. A then commits its copy and answers the caller. Whatever happens, the caller gets
/// one answer and nothing is left half-made:
/// - B refuses: A drops the intent and returns B's error type. A refusal answers one delivery
///   of the request, and a duplicated or redelivered one may have been accepted after it (the
///   policy changed in between), so A also tombstones the id and tells B, which removes any
///   copy it made and refuses the id from then on (found by the simulator: seed 15).
/// - B does not answer in time: A cannot know whether B created its copy, so it aborts: a
///   tombstone and a delete that is redelivered until B acknowledges it; the caller gets a
///   retryable `InternalServiceException`.
/// - A crashes in between: recovery finds the intent and aborts it the same way.
enum CrossAccountStart {
    static let action = "cleanrooms-ml:StartAudienceGenerationJob"
    /// Seed bytes travel inline in one message; the simulation caps them.
    static let maxSeedBytes = 1 << 20
    /// Seeds up to this size are kept in the owner's job record rather than in blobs.
    static let inlineSeedBytes = 64 << 10

    // MARK: Submitter (A)

    static func begin(_ core: AccountNodeCore, _ call: Call, name: String, camArn: String, owner: String,
                      seed: JSON, tags: [String: String]) throws(AWSError) -> Reply {
        let id = core.newUUID()
        let jobArn = CleanRoomsMLHandlers.arn(core, "audience-generation-job", id)
        call.auditResource("AWS::CleanRoomsML::AudienceGenerationJob", jobArn)
        call.auditResource("AWS::CleanRoomsML::ConfiguredAudienceModel", camArn)
        let collaboration = call.optionalString("collaborationId")
        var context: [String: ContextValue] = [:]
        if let collaboration { context["cleanrooms-ml:CollaborationId"] = .single(collaboration) }
        // XA-6, A's part: its identity policies (and its SCPs) must allow on A's job ARN, and an
        // explicit Deny in them on B's job ARN or on the CAM refuses the start too.
        try core.authorize(call, action, jobArn, requestTags: tags, context: context)
        let ownerJobArn = "arn:\(core.config.partition):cleanrooms-ml:\(core.config.region):\(owner):audience-generation-job/\(id)"
        for resource in [ownerJobArn, camArn] {
            try core.refuseExplicitDeny(call, action, onOtherAccounts: resource, requestTags: tags, context: context)
        }
        if !tags.isEmpty { try core.authorize(call, "cleanrooms-ml:TagResource", jobArn, requestTags: tags) }
        try CleanRoomsMLHandlers.passRole(core, call, seed["roleArn"]?.stringValue ?? "")
        if let collaboration { try CollaborationCheck.requireOwnMembership(core, collaboration) }
        if let peers = core.config.peers, !peers.contains(owner) {
            throw AWSError(.accessDenied, "User: \(call.caller.principal.arn) is not authorized to perform: \(action) on resource: \(camArn) because no resource-based policy allows the \(action) action")
        }
        let (objects, selection, bytes, uri) = try AudienceJobHandlers.seedObjects(core, seed, collaboration: collaboration)
        guard selection != nil || bytes <= maxSeedBytes else {
            throw AWSError(.validation, "The seed audience at \(uri) is \(bytes) bytes; this simulation sends seeds to the model owner inline and takes at most \(maxSeedBytes)")
        }
        try AudienceJobHandlers.requireFreeName(core, name)
        try requireOwnerNameFits(core, name)
        let includeSeed = call.bool("includeSeedInOutput") ?? false
        let description = call.optionalString("description")
        // A's copy, committed when B accepts: the request's tags only (TG-2), and the seed as A gave it.
        var job = AudienceGenerationJob(arn: jobArn, id: id, name: name, description: description, configuredAudienceModelArn: camArn,
                                        collaborationId: collaboration, includeSeedInOutput: includeSeed, seedAudience: seed, status: "CREATE_PENDING",
                                        statusDetails: nil, metrics: nil, tags: tags, startedBy: core.config.account.rawValue,
                                        createTime: call.now, updateTime: call.now, candidates: nil, plan: nil, counterpart: owner, role: .submitter)
        // An SQL seed is selected by a protected query: both copies name it.
        if selection != nil { job.protectedQueryIdentifier = core.newUUID() }
        core.emit(.startIntentLogged(StartIntent(jobID: id, name: name, owner: owner, createdAt: call.now)))
        let p = call.caller.principal
        // PV-1: the seed's bytes go, its location does not.
        var params: JSON = .compactObject([
            "jobID": .string(id), "name": .string(name), "configuredAudienceModelArn": .string(camArn),
            "collaborationId": collaboration.map { .string($0) }, "description": description.map { .string($0) },
            "includeSeedInOutput": .bool(includeSeed), "requestTags": .object(tags.mapValues { .string($0) }),
            "protectedQueryIdentifier": job.protectedQueryIdentifier.map { .string($0) },
            "principal": .compactObject(["arn": .string(p.arn), "kind": .string(p.kind.rawValue), "name": p.name.map { .string($0) },
                                         "userID": p.userID.map { .string($0) }, "roleARN": p.roleARN.map { .string($0) },
                                         "tags": .object(call.caller.tags.mapValues { .string($0) })]),
        ])
        // PV-2: the owner may learn an SQL seed's query only where the collaboration logs queries
        // (and checks that again with the collaboration's creator).
        if let selection, let collaboration, core.state.collaborations[collaboration]?.queryLogStatus == "ENABLED" {
            params["seedQuery"] = .string(selection.query)
        }
        let token = MessageToken.start(jobID: id)
        core.calls.add(token, call, .start(job))
        core.failpoint(.startAfterIntent, beforeLog: false)
        var message = PeerMessage(token: token, account: owner, method: PeerMethod.startJob, params: params, attachBlobs: objects.map(\.blob),
                                  timeout: core.config.crossAccount.callTimeout)
        message.attachSelection = selection
        core.send(message)
        call.deferred = true
        return .result([:])
    }

    /// B has answered (or not): commit, refuse, or abort.
    static func resolve(_ core: AccountNodeCore, _ call: Call, _ job: AudienceGenerationJob, _ outcome: PeerOutcome, now: Double) {
        if case .answered = outcome { core.failpoint(.startAfterPeerCreated, beforeLog: true) }
        core.emit(.startIntentResolved(jobID: job.id))
        switch outcome {
        case .answered(let answer):
            // A delete from B may have come first; then the job started and is already gone.
            if core.state.tombstones[job.id] == nil {
                var copy = job
                copy.updateTime = now
                core.emit(.audienceGenerationJobCreated(copy))
                JobReplication.applyOwnerStatus(core, copy, core.earlyStatus[job.id] ?? answer, now: now)
            }
            core.earlyStatus[job.id] = nil
            core.finish(call, .result(["audienceGenerationJobArn": .string(job.arn)]))
        case .refused(let error):
            core.earlyStatus[job.id] = nil
            DeletePropagation.tombstone(core, jobID: job.id, counterpart: job.counterpart ?? "", now: now, tellCounterpart: true)
            core.finish(call, .error(error))
        case .unreachable(let why):
            core.earlyStatus[job.id] = nil
            DeletePropagation.tombstone(core, jobID: job.id, counterpart: job.counterpart ?? "", now: now, tellCounterpart: true)
            core.finish(call, .error(AWSError(.internalService,
                                              "The node of account \(job.counterpart ?? "?"), which owns \(job.configuredAudienceModelArn), did not answer (\(why)); no job was created. Retry the request.")))
        }
    }

    /// The owner's copy is named `SUBMITTER-NAME` (XA-5), and that name must fit the model's
    /// `NameString` (at most 63 characters) too: a name that would not is refused here, before
    /// anything is created or sent, with the same validation error a name too long for the
    /// submitter's own copy gets.
    static let maxNameLength = 63

    static func requireOwnerNameFits(_ core: AccountNodeCore, _ name: String) throws(AWSError) {
        let ownerName = "\(core.config.account)-\(name)"
        guard ownerName.count > maxNameLength else { return }
        let limit = maxNameLength - core.config.account.rawValue.count - 1
        throw AWSError(.validation, "1 validation error detected: Value '\(name)' at 'name' failed to satisfy constraint: Member must have length less than or equal to \(limit) for a start on another account's configured audience model (the owner's copy is named \(core.config.account)-NAME, at most \(maxNameLength) characters)")
    }

    // MARK: Owner (B)

    /// `validated`: the collaboration's creator has vouched for both accounts (nil: not yet,
    /// or no collaboration named).
    static func startFromPeer(_ core: AccountNodeCore, _ request: PeerRequest, validated: CollaborationCheck.Passed?) throws(AWSError) -> Reply {
        let id = try request.jobID()
        let name = try request.string("name")
        let camArn = try request.string("configuredAudienceModelArn")
        let jobArn = CleanRoomsMLHandlers.arn(core, "audience-generation-job", id)
        if core.state.tombstones[id] != nil {
            throw AWSError(.conflict, "Audience generation job \(id) was deleted; it cannot be started again")
        }
        if let existing = core.state.job(id: id) {
            // A repeated request (a retry or a duplicated message): the same answer again.
            guard existing.counterpart == request.from, existing.jobRole == .owner else {
                throw AWSError(.conflict, "Audience generation job \(id) already exists")
            }
            return .result(JobReplication.statusPayload(core, existing))
        }
        let principal = try principal(request)
        let tags = (request.params["requestTags"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        let collaboration = request.optionalString("collaborationId")
        let cam = ARN(camArn)?.account == core.config.account.rawValue ? core.state.configuredAudienceModels[camArn] : nil
        // XA-6, B's part: the CAM's resource policy must allow A on B's job ARN and on the CAM.
        // A missing CAM is denied like a policy that does not allow (no existence oracle).
        for resource in [jobArn, camArn] {
            var ctx = RequestContext(principal: principal, action: ActionName(action)!, resource: ResourceName(resource))
            ctx["aws:CurrentTime"] = .single(ISO8601.format(request.now))
            ctx["aws:EpochTime"] = .single(String(Int(request.now)))
            ctx["aws:RequestedRegion"] = .single(core.config.region)
            ctx["aws:SecureTransport"] = .single("false")
            // The organization comes from the cluster's configuration, not from A's claim.
            if let org = core.config.organizations[request.from] { ctx["aws:PrincipalOrgID"] = .single(org) }
            ctx.setPrincipalTags((request.params["principal"]?["tags"]?.objectValue ?? [:]).compactMapValues(\.stringValue))
            ctx.setRequestTags(tags)
            if resource == camArn, let cam { ctx.setResourceTags(cam.tags) }
            if let collaboration { ctx["cleanrooms-ml:CollaborationId"] = .single(collaboration) }
            let result = PolicyEvaluator.evaluateResourceSide(ctx, resourcePolicy: cam.flatMap { core.resourcePolicy($0) })
            guard result.isAllowed else {
                let why = result.decision == .explicitDeny ? "with an explicit deny in a resource-based policy" : "because no resource-based policy allows the \(action) action"
                throw AWSError(.accessDenied, "User: \(principal.arn) is not authorized to perform: \(action) on resource: \(resource) \(why)")
            }
        }
        guard let cam else { throw AWSError(.accessDenied, "User: \(principal.arn) is not authorized to perform: \(action) on resource: \(camArn)") }
        guard let model = core.state.audienceModels[cam.audienceModelArn], model.status == "ACTIVE" else {
            throw AWSError(.validation, "The audience model of \(camArn) is not ACTIVE")
        }
        // XA-5: B's name space holds ACCOUNT-NAME.
        let localName = "\(request.from)-\(name)"
        if core.state.hasJob(named: localName) || core.state.startIntents.values.contains(where: { $0.name == localName }) {
            throw AWSError(.conflict, "An audience generation job named \(localName) already exists in account \(core.config.account)")
        }
        // CO-1: the collaboration's creator must vouch for both accounts before anything is made.
        var validated = validated
        if let collaboration, validated == nil {
            // This node may be the creator and answer at once; otherwise it asks and waits.
            guard let passed = try CollaborationCheck.begin(core, collaboration, submitter: request.from, owner: core.config.account.rawValue,
                                                            then: .peerStart(request)) else {
                core.peerAnswerDeferred = true
                return .result([:])
            }
            validated = passed
        }
        let parts = request.params["seedData"]?.arrayValue ?? []
        guard !parts.isEmpty, parts.count <= 10_000 else { throw AWSError(.validation, "\(request.method): seedData must hold the seed's objects") }
        var seed: [DataObject] = []
        var total = 0
        for (k, part) in parts.enumerated() {
            guard let text = part.stringValue, let bytes = Base64.decode(text) else {
                throw AWSError(.validation, "\(request.method): seedData[\(k)] is not base64")
            }
            total += bytes.count
            seed.append(DataObject(source: "seed object \(k + 1) of \(parts.count) from account \(request.from)", inlineBytes: bytes))
        }
        // Small seeds live in the job's record (durable with it, gone with it: one log write);
        // larger ones in blobs of their own.
        if total > inlineSeedBytes {
            for k in seed.indices {
                let blob = core.newUUID()
                core.writeBlob(blob, Base64.decode(seed[k].inline ?? "") ?? [])
                seed[k] = DataObject(source: seed[k].source, blob: blob)
            }
        }
        // TG-2: the request's tags stay in A; B's copy carries the CAM's tags or none.
        let jobTags = cam.childResourceTagOnCreatePolicy == "FROM_PARENT_RESOURCE" ? cam.tags : [:]
        let sizes = cam.audienceSizeConfig
        let plan = GenerationPlan(modelFile: model.id, seed: seed, minMatchingSeedSize: cam.minMatchingSeedSize ?? 25,
                                  sizeType: sizes?["audienceSizeType"]?.stringValue ?? "ABSOLUTE",
                                  bins: (sizes?["audienceSizeBins"]?.arrayValue ?? []).compactMap(\.intValue))
        let job = AudienceGenerationJob(arn: jobArn, id: id, name: localName, description: request.optionalString("description"),
                                        configuredAudienceModelArn: camArn, collaborationId: collaboration,
                                        includeSeedInOutput: request.params["includeSeedInOutput"]?.boolValue ?? false,
                                        seedAudience: loggedQuery(request, validated, cam: cam),
                                        status: "CREATE_PENDING", statusDetails: nil, metrics: nil, tags: jobTags, startedBy: request.from,
                                        createTime: request.now, updateTime: request.now, candidates: nil, plan: plan,
                                        counterpart: request.from, role: .owner,
                                        protectedQueryIdentifier: request.optionalString("protectedQueryIdentifier").map { String($0.prefix(64)) })
        core.emit(.audienceGenerationJobCreated(job))
        core.startWork(JobWork.generation(job, plan))
        return .result(JobReplication.statusPayload(core, job))
    }

    /// PV-2: what the owner's copy shows of the seed: an SQL seed's query when the collaboration
    /// (as its creator says) logs queries; otherwise nothing, not even that it was SQL. The
    /// model's `AudienceGenerationJobDataSource` requires a `roleArn`, and the submitter's role is
    /// not the owner's to see: the owner's view names the role that acted on its side of the job,
    /// its CAM's output role.
    static func loggedQuery(_ request: PeerRequest, _ validated: CollaborationCheck.Passed?, cam: ConfiguredAudienceModel) -> JSON {
        guard let query = request.optionalString("seedQuery"), validated?.queryLogStatus == "ENABLED" else { return .null }
        return .compactObject(["sqlParameters": ["queryString": .string(query)], "roleArn": cam.outputConfig["roleArn"]])
    }

    /// The principal of A that made the request, as A's node described it.
    static func principal(_ request: PeerRequest) throws(AWSError) -> Principal {
        let p = request.params["principal"] ?? .null
        guard let arn = p["arn"]?.stringValue, let parsed = ARN(arn), parsed.account == request.from,
              let kind = p["kind"]?.stringValue.flatMap(Principal.Kind.init(rawValue:)) else {
            throw AWSError(.validation, "\(request.method): principal must name a principal of account \(request.from)")
        }
        return Principal(kind: kind, account: AccountID(request.from), arn: arn, name: p["name"]?.stringValue,
                         userID: p["userID"]?.stringValue, roleARN: p["roleARN"]?.stringValue)
    }
}

extension AccountNodeCore {
    /// A CAM's resource policy, compiled (cached by its text).
    func resourcePolicy(_ cam: ConfiguredAudienceModel) -> PolicySource? {
        guard let text = cam.policy else { return nil }
        if let cached = resourcePolicyCache[text] { return cached }
        guard let doc = try? PolicyDocument(parsing: text, kind: .resource) else { return nil }
        let source = PolicySource(id: "resource", type: .resource, document: doc)
        if resourcePolicyCache.count > 1024 { resourcePolicyCache.removeAll() }
        resourcePolicyCache[text] = source
        return source
    }
}
