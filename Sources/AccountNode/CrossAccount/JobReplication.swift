import CleanRoomsModel
import JSON

/// Keeping the submitter's copy of a job in step with the run on the owner's node (XA-2, PV-1,
/// PV-3), and exports the submitter asks for (which run where the audience is).
///
/// The owner pushes every status change of its copy after it is durable; a push that is lost is
/// repaired by sync (`JobSync`). The submitter applies only changes that move forward, so late
/// or repeated pushes change nothing. What is pushed never names a location in the owner's
/// account, and carries metrics only when the CAM shares them.
enum JobReplication {
    // MARK: Status (owner → submitter)

    /// The owner's status of a job, as the submitter may see it.
    static func statusPayload(_ core: AccountNodeCore, _ job: AudienceGenerationJob) -> JSON {
        let shared = core.state.configuredAudienceModels[job.configuredAudienceModelArn]?.sharedAudienceMetrics.contains("ALL") ?? false
        return .compactObject(["jobID": .string(job.id), "status": .string(job.status), "updateTime": .number(job.updateTime),
                               "statusDetails": LocationScrubber.scrub(job.statusDetails).map(\.json),
                               "metrics": shared ? job.metrics : nil])
    }

    /// Applies the owner's status to the submitter's copy, if it moves the job forward.
    static func applyOwnerStatus(_ core: AccountNodeCore, _ job: AudienceGenerationJob, _ payload: JSON, now: Double) {
        guard job.jobRole == .submitter, let status = payload["status"]?.stringValue, JobStatusOrder.isForward(from: job.status, to: status) else { return }
        let details = payload["statusDetails"].flatMap { d -> StatusDetails? in
            d.objectValue == nil ? nil : StatusDetails(statusCode: d["statusCode"]?.stringValue, message: d["message"]?.stringValue)
        }
        core.emit(.audienceGenerationJobStatus(arn: job.arn, status: status, details: details, metrics: payload["metrics"],
                                               candidates: nil, at: payload["updateTime"]?.numberValue ?? now))
    }

    /// `peer.JobStatus {jobs: [...], exports: [...]}`: the owner's statuses of shared jobs and
    /// of exports this account asked for, as many as were waiting to be told.
    static func statusesFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        guard let jobs = request.params["jobs"]?.arrayValue, jobs.count <= 100_000,
              let exports = (request.params["exports"] ?? []).arrayValue, exports.count <= 100_000 else {
            throw AWSError(.validation, "\(request.method): jobs and exports must be lists of statuses")
        }
        for payload in jobs { jobStatus(core, payload, from: request.from, now: request.now) }
        for payload in exports { exportStatus(core, payload, from: request.from, now: request.now) }
        return .result([:])
    }

    static func jobStatus(_ core: AccountNodeCore, _ payload: JSON, from peer: String, now: Double) {
        guard let id = payload["jobID"]?.stringValue else { return }
        if let job = core.state.job(id: id), job.counterpart == peer {
            applyOwnerStatus(core, job, payload, now: now)
        } else if core.state.startIntents[id]?.owner == peer {
            // The start's answer is still on its way: keep the newest status for when it lands.
            let old = core.earlyStatus[id]?["status"]?.stringValue ?? "CREATE_PENDING"
            if let s = payload["status"]?.stringValue, JobStatusOrder.isForward(from: old, to: s) { core.earlyStatus[id] = payload }
        }
    }

    // MARK: Exports of a submitted job (submitter → owner, status back)

    /// A's `StartAudienceExportJob` on its copy: B runs it; A records it once B accepts.
    static func beginExport(_ core: AccountNodeCore, _ call: Call, _ job: AudienceGenerationJob, name: String, size: JSON) throws(AWSError) -> Reply {
        try AudienceJobHandlers.refuseIfDeleting(job)
        guard job.status == "ACTIVE", let owner = job.counterpart else {
            throw AWSError(.validation, "Audience generation job \(job.arn) is \(job.status); only an ACTIVE job's audience can be exported")
        }
        if core.state.audienceExportJobs.values.contains(where: { $0.audienceGenerationJobArn == job.arn && $0.name == name }) {
            throw AWSError(.conflict, "Job \(job.arn) already has an export named \(name)")
        }
        let description = call.optionalString("description")
        let export = AudienceExportJob(id: core.newUUID(), audienceGenerationJobArn: job.arn, name: name, description: description,
                                       audienceSize: size, status: "CREATE_PENDING", statusDetails: nil, outputLocation: nil,
                                       createTime: call.now, updateTime: call.now, count: 0)
        let token = MessageToken.export(exportID: export.id)
        core.calls.add(token, call, .export(export))
        core.send(PeerMessage(token: token, account: owner, method: PeerMethod.startExport,
                              params: .compactObject(["jobID": .string(job.id), "exportID": .string(export.id), "name": .string(name),
                                                      "description": description.map { .string($0) }, "audienceSize": size]),
                              timeout: core.config.crossAccount.callTimeout))
        call.deferred = true
        return .result([:])
    }

    static func resolveExport(_ core: AccountNodeCore, _ call: Call, _ export: AudienceExportJob, _ outcome: PeerOutcome, now: Double) {
        switch outcome {
        case .answered(let answer):
            guard let job = core.state.audienceGenerationJobs[export.audienceGenerationJobArn] else {
                core.finish(call, .error(AWSError(.resourceNotFound, "Audience generation job \(export.audienceGenerationJobArn) was deleted while the export was starting")))
                return
            }
            // Its delete began while the export was asked for: the export is not recorded.
            if JobStatusOrder.isDeleting(job.status) {
                core.finish(call, .error(AWSError(.conflict, "Audience generation job \(job.arn) is being deleted (\(job.status)); it takes no new exports")))
                return
            }
            var record = export
            record.updateTime = now
            core.emit(.audienceExportJobCreated(record))
            // B may have pushed progress before its answer arrived (they travel on different links).
            applyExportStatus(core, record, core.earlyStatus.removeValue(forKey: export.id) ?? answer, now: now)
            core.finish(call, .result([:]))
        case .refused(let error):
            core.earlyStatus[export.id] = nil
            core.finish(call, .error(error))
        case .unreachable(let why):
            core.earlyStatus[export.id] = nil
            // If B did start it, the export belongs to the job and goes when the job does.
            core.finish(call, .error(AWSError(.internalService, "The node of the account that runs this job did not answer (\(why)); the export was not recorded. Retry the request.")))
        }
    }

    static func startExportFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        let id = try request.jobID()
        let exportID = try request.jobID("exportID")
        let name = try request.string("name")
        guard let job = core.state.job(id: id), job.counterpart == request.from, job.jobRole == .owner else {
            throw AWSError(.resourceNotFound, "Audience generation job \(id) not found")
        }
        try AudienceJobHandlers.refuseIfDeleting(job)
        guard core.state.tombstones[id] == nil else { throw AWSError(.resourceNotFound, "Audience generation job \(id) not found") }
        if let existing = core.state.audienceExportJobs[exportID] {
            guard existing.requestedBy == request.from, existing.audienceGenerationJobArn == job.arn else { throw AWSError(.conflict, "Export \(exportID) already exists") }
            return .result(exportPayload(job, existing))
        }
        let size = request.params["audienceSize"] ?? [:]
        let count = try AudienceJobHandlers.exportCount(job, size)
        if core.state.audienceExportJobs.values.contains(where: { $0.audienceGenerationJobArn == job.arn && $0.requestedBy == request.from && $0.name == name }) {
            throw AWSError(.conflict, "Job \(request.from)'s copy of \(id) already has an export named \(name)")
        }
        let export = AudienceExportJob(id: exportID, audienceGenerationJobArn: job.arn, name: name, description: request.optionalString("description"),
                                       audienceSize: size, status: "CREATE_PENDING", statusDetails: nil, outputLocation: nil,
                                       createTime: request.now, updateTime: request.now, count: count, requestedBy: request.from)
        core.emit(.audienceExportJobCreated(export))
        core.startWork(.exportAudience(exportID: export.id, audienceFile: job.id, count: count))
        return .result(exportPayload(job, export))
    }

    /// An export's status for the account that asked for it (never its output location).
    static func exportPayload(_ job: AudienceGenerationJob, _ e: AudienceExportJob) -> JSON {
        .compactObject(["jobID": .string(job.id), "exportID": .string(e.id), "status": .string(e.status), "updateTime": .number(e.updateTime),
                        "statusDetails": LocationScrubber.scrub(e.statusDetails).map(\.json)])
    }

    static func applyExportStatus(_ core: AccountNodeCore, _ e: AudienceExportJob, _ payload: JSON, now: Double) {
        guard let status = payload["status"]?.stringValue, JobStatusOrder.isForward(from: e.status, to: status) else { return }
        let details = payload["statusDetails"].flatMap { d -> StatusDetails? in
            d.objectValue == nil ? nil : StatusDetails(statusCode: d["statusCode"]?.stringValue, message: d["message"]?.stringValue)
        }
        core.emit(.audienceExportJobStatus(id: e.id, status: status, details: details, outputLocation: nil, at: payload["updateTime"]?.numberValue ?? now))
    }

    static func exportStatus(_ core: AccountNodeCore, _ payload: JSON, from peer: String, now: Double) {
        guard let exportID = payload["exportID"]?.stringValue else { return }
        if let e = core.state.audienceExportJobs[exportID], let job = core.state.audienceGenerationJobs[e.audienceGenerationJobArn],
           job.counterpart == peer, job.jobRole == .submitter {
            applyExportStatus(core, e, payload, now: now)
        } else if core.calls.isWaiting(.export(exportID: exportID)) {
            // The answer to the start is still on its way: keep the newest status for it.
            let old = core.earlyStatus[exportID]?["status"]?.stringValue ?? "CREATE_PENDING"
            if let s = payload["status"]?.stringValue, JobStatusOrder.isForward(from: old, to: s) { core.earlyStatus[exportID] = payload }
        }
    }
}

extension AccountNodeCore {
    /// After any step: the owner queues every status change of a shared job, or of an export the
    /// submitter asked for, to be told to the submitter once the change is durable.
    func replicateStatus(_ events: [StateEvent], now: Double) {
        var touched: Set<String> = []
        for event in events {
            switch event {
            case .audienceGenerationJobStatus(let arn, let status, _, _, _, _):
                guard !JobStatusOrder.isDeleting(status), let job = state.audienceGenerationJobs[arn], job.jobRole == .owner, let peer = job.counterpart else { continue }
                pushes.add(job: job.id, for: peer)
                touched.insert(peer)
            case .audienceExportJobStatus(let id, _, _, _, _):
                guard let e = state.audienceExportJobs[id], let peer = e.requestedBy else { continue }
                pushes.add(export: id, for: peer)
                touched.insert(peer)
            default:
                continue
            }
        }
        for peer in touched.sorted() { pushStatuses(to: peer, now: now) }
    }

    /// Sends what `peer` has still to be told, unless a push to it is already on its way.
    func pushStatuses(to peer: String, now: Double) {
        let n = messageCounter + 1
        guard let next = pushes.next(for: peer, n: n) else { return }
        let jobs = next.jobs.compactMap { state.job(id: $0) }.filter { $0.jobRole == .owner && $0.counterpart == peer }
        let exports = next.exports.compactMap { id -> JSON? in
            guard let e = state.audienceExportJobs[id], e.requestedBy == peer, let job = state.audienceGenerationJobs[e.audienceGenerationJobArn] else { return nil }
            return JobReplication.exportPayload(job, e)
        }
        guard !(jobs.isEmpty && exports.isEmpty) else {
            pushes.cancel(peer)
            return
        }
        _ = nextMessageNumber()
        send(PeerMessage(token: .push(account: peer, n: n), account: peer, method: PeerMethod.jobStatus,
                         params: ["jobs": .array(jobs.map { JobReplication.statusPayload(self, $0) }), "exports": .array(exports)],
                         timeout: config.crossAccount.callTimeout))
    }
}
