import CleanRoomsModel
import JSON

/// The life of asynchronous work: models train, jobs generate audiences, exports write them.
/// Each moves CREATE_PENDING → CREATE_IN_PROGRESS (when the shell starts it) → ACTIVE or
/// CREATE_FAILED (when it reports), every step a logged event.
enum JobWork {
    static func generation(_ job: AudienceGenerationJob, _ plan: GenerationPlan) -> Work {
        .generateAudience(jobArn: job.arn, modelFile: plan.modelFile, audienceFile: job.id, seed: plan.seed, selection: plan.selection,
                          minMatchingSeedSize: plan.minMatchingSeedSize, includeSeed: job.includeSeedInOutput, sizeType: plan.sizeType, bins: plan.bins)
    }

    /// Begins a job's delete, as AWS shows one (XA-8): this account's copy takes `status`
    /// (`DELETE_PENDING` where the delete was asked for, `DELETE_IN_PROGRESS` where it arrived
    /// from the other account), its work stops at once, exports of it are refused with a
    /// `ConflictException`, and once that state is durable `finishDelete` removes the job and
    /// everything that belongs to it. A job already being deleted is left as it is; nothing
    /// leads out of a delete state (`NodeState.apply`).
    static func beginDelete(_ core: AccountNodeCore, _ job: AudienceGenerationJob, status: String) {
        guard !JobStatusOrder.isDeleting(job.status) else { return }
        core.emit(.audienceGenerationJobStatus(arn: job.arn, status: status, details: nil, metrics: nil, candidates: nil, at: core.clock))
        for e in core.state.audienceExportJobs.values where e.audienceGenerationJobArn == job.arn { core.cancelWork(e.id) }
        core.cancelWork(job.arn)
        core.setTimer(.finishDelete(jobID: job.id), at: core.clock)
    }

    /// The second half of a delete: the job is gone, with its data.
    static func finishDelete(_ core: AccountNodeCore, jobID: String) {
        guard let job = core.state.job(id: jobID), JobStatusOrder.isDeleting(job.status) else { return }
        deleteEverything(core, job)
    }

    /// Deletes a job and everything that belongs to it: its audience, its exports and their
    /// output objects; work in progress is cancelled.
    static func deleteEverything(_ core: AccountNodeCore, _ job: AudienceGenerationJob) {
        let exports = core.state.audienceExportJobs.values.filter { $0.audienceGenerationJobArn == job.arn }
        var outputs: [(bucket: String, key: String, blob: String)] = []
        for e in exports {
            core.cancelWork(e.id)
            if let loc = e.outputLocation, let (bucket, key) = S3Location.parse(loc), let o = core.state.buckets[bucket]?.objects[key] {
                outputs.append((bucket, key, o.blob))
            }
        }
        core.emit(.audienceGenerationJobDeleted(arn: job.arn))
        for o in outputs {
            core.emit(.objectDeleted(bucket: o.bucket, key: o.key))
            core.deleteBlob(o.blob)
        }
        core.cancelWork(job.arn)
        core.deleteFile(.audience(job.id))
        // The seed another account sent for the run is the job's data too.
        if job.jobRole == .owner { for o in job.plan?.seed ?? [] where !o.blob.isEmpty { core.deleteBlob(o.blob) } }
    }

    static func metrics(_ plan: GenerationPlan, _ g: WorkResult.GeneratedAudience) -> JSON {
        let relevance = zip(plan.bins, g.relevance).map { bin, score -> JSON in
            ["audienceSize": ["type": .string(plan.sizeType), "value": .int(bin)], "score": .number(score)]
        }
        return ["relevanceMetrics": .array(relevance), "recallMetric": .number(g.recall)]
    }
}

extension AccountNodeCore {
    /// The shell has started work `id`.
    public func workStarted(_ id: String, now: Double) -> [Effect] {
        guard storageOutage == nil else { return [] }
        clock = now
        if state.audienceGenerationJobs[id] != nil { failpoint(.runDuring, beforeLog: true) }
        if state.audienceExportJobs[id] != nil { failpoint(.exportDuring, beforeLog: true) }
        if let m = state.audienceModels[id], m.status == "CREATE_PENDING" {
            emit(.audienceModelStatus(arn: id, status: "CREATE_IN_PROGRESS", details: nil, at: now))
        } else if let j = state.audienceGenerationJobs[id], j.status == "CREATE_PENDING" {
            emit(.audienceGenerationJobStatus(arn: id, status: "CREATE_IN_PROGRESS", details: nil, metrics: nil, candidates: nil, at: now))
        } else if let e = state.audienceExportJobs[id], e.status == "CREATE_PENDING" {
            emit(.audienceExportJobStatus(id: id, status: "CREATE_IN_PROGRESS", details: nil, outputLocation: nil, at: now))
        }
        return effectsOfInternalStep()
    }

    /// Work has finished. Results for things deleted meanwhile are dropped.
    public func workFinished(_ result: WorkResult, now: Double) -> [Effect] {
        guard storageOutage == nil else { return [] }
        clock = now
        switch result {
        case .modelTrained(let arn, let r):
            guard let m = state.audienceModels[arn], m.status != "ACTIVE" else { break }
            switch r {
            case .success(let t):
                emit(.audienceModelStatus(arn: arn, status: "ACTIVE",
                                          details: StatusDetails(message: "Trained on \(t.interactions) interactions of \(t.users) users"), at: now))
            case .failure(let f):
                emit(.audienceModelStatus(arn: arn, status: "CREATE_FAILED", details: StatusDetails(statusCode: f.statusCode, message: f.message), at: now))
            }
        case .audienceGenerated(let arn, let r):
            guard let j = state.audienceGenerationJobs[arn], j.status != "ACTIVE", let plan = j.plan else { break }
            switch r {
            case .success(let g):
                emit(.audienceGenerationJobStatus(arn: arn, status: "ACTIVE", details: nil, metrics: JobWork.metrics(plan, g), candidates: g.candidates, at: now))
            case .failure(let f):
                emit(.audienceGenerationJobStatus(arn: arn, status: "CREATE_FAILED", details: StatusDetails(statusCode: f.statusCode, message: f.message),
                                                  metrics: nil, candidates: nil, at: now))
            }
        case .audienceExported(let id, let r):
            guard let e = state.audienceExportJobs[id], e.status != "ACTIVE", let job = state.audienceGenerationJobs[e.audienceGenerationJobArn],
                  !JobStatusOrder.isDeleting(job.status) else { break }
            switch r {
            case .success(let csv):
                finishExport(e, job, csv, now: now)
            case .failure(let f):
                emit(.audienceExportJobStatus(id: id, status: "CREATE_FAILED", details: StatusDetails(statusCode: f.statusCode, message: f.message), outputLocation: nil, at: now))
            }
        }
        return effectsOfInternalStep()
    }

    /// Writes an export's CSV to the configured audience model's output location.
    private func finishExport(_ e: AudienceExportJob, _ job: AudienceGenerationJob, _ csv: [UInt8], now: Double) {
        let uri = state.configuredAudienceModels[job.configuredAudienceModelArn]?.outputConfig["destination"]?["s3Destination"]?["s3Uri"]?.stringValue
        guard let uri, let (bucket, prefix) = S3Location.parse(uri) else {
            emit(.audienceExportJobStatus(id: e.id, status: "CREATE_FAILED",
                                          details: StatusDetails(statusCode: "OUTPUT_LOCATION_MISSING", message: "The configured audience model \(job.configuredAudienceModelArn) or its output location no longer exists"),
                                          outputLocation: nil, at: now))
            return
        }
        guard state.buckets[bucket] != nil else {
            emit(.audienceExportJobStatus(id: e.id, status: "CREATE_FAILED",
                                          details: StatusDetails(statusCode: "OUTPUT_BUCKET_MISSING", message: "The output bucket \(bucket) does not exist in account \(config.account)"),
                                          outputLocation: nil, at: now))
            return
        }
        let base = prefix.hasSuffix("/") || prefix.isEmpty ? prefix : prefix + "/"
        // Exports another account asked for have their own folder: names are unique per account
        // only, and one account's export must never overwrite the other's.
        let key = e.requestedBy.map { "\(base)\(job.id)/requested-by-\($0)/\(e.name).csv" } ?? "\(base)\(job.id)/\(e.name).csv"
        let blob = newUUID()
        let old = state.buckets[bucket]?.objects[key]
        writeBlob(blob, csv)
        emit(.objectPut(bucket: bucket, object: S3Object(key: key, size: csv.count, etag: "\"\(blob.prefix(8))\"", lastModified: now, contentType: "text/csv", blob: blob)))
        if let old { deleteBlob(old.blob) }
        emit(.audienceExportJobStatus(id: e.id, status: "ACTIVE", details: nil, outputLocation: "s3://\(bucket)/\(key)", at: now))
    }

    /// After recovery: the work that was pending or running when the node stopped, to start again.
    public func resumableWork() -> [Effect] {
        for m in state.audienceModels.values.sorted(by: { $0.arn < $1.arn }) where m.status == "CREATE_PENDING" || m.status == "CREATE_IN_PROGRESS" {
            switch AudienceModelHandlers.trainingWork(self, m) {
            case .success(let w): startWork(w)
            case .failure(let f): emit(.audienceModelStatus(arn: m.arn, status: "CREATE_FAILED", details: StatusDetails(statusCode: f.statusCode, message: f.message), at: m.updateTime))
            }
        }
        for j in state.audienceGenerationJobs.values.sorted(by: { $0.arn < $1.arn }) where j.status == "CREATE_PENDING" || j.status == "CREATE_IN_PROGRESS" {
            if let plan = j.plan { startWork(JobWork.generation(j, plan)) }
        }
        for e in state.audienceExportJobs.values.sorted(by: { $0.id < $1.id }) where e.status == "CREATE_PENDING" || e.status == "CREATE_IN_PROGRESS" {
            if let j = state.audienceGenerationJobs[e.audienceGenerationJobArn], j.jobRole != .submitter, !JobStatusOrder.isDeleting(j.status) { startWork(.exportAudience(exportID: e.id, audienceFile: j.id, count: e.count)) }
        }
        return effectsOfInternalStep()
    }

    /// Work files the state still refers to (so recovery can remove the rest).
    public var referencedWorkFiles: (models: Set<String>, audiences: Set<String>) {
        (Set(state.audienceModels.values.map(\.id)), Set(state.audienceGenerationJobs.values.map(\.id)))
    }
}
