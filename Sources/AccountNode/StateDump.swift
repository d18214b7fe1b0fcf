import CleanRoomsModel
import JSON

extension AccountNodeCore {
    /// What a consistency checker needs of this node's state (`admin.Dump`): every job copy as
    /// the account sees it (the `GetAudienceGenerationJob` answer) with its role, counterpart
    /// and runs; exports; tombstones; what is still to be delivered; the S3 objects; the audit
    /// trail. The shell adds what lives outside the state (files, peer messages).
    public func dump() -> JSON {
        let jobs = state.audienceGenerationJobs.values.sorted { $0.arn < $1.arn }.map { j -> JSON in
            .compactObject(["arn": .string(j.arn), "id": .string(j.id), "name": .string(j.name), "role": .string(j.jobRole.rawValue),
                            "counterpart": j.counterpart.map { .string($0) }, "status": .string(j.status), "runs": .int(j.runs ?? 0),
                            "tags": .object(j.tags.mapValues { .string($0) }), "seedBlobs": .array((j.plan?.seed ?? []).filter { !$0.blob.isEmpty }.map { .string($0.blob) }),
                            "view": AudienceJobHandlers.shape(j, summary: false)])
        }
        let exports = state.audienceExportJobs.values.sorted { $0.id < $1.id }.map { e -> JSON in
            .compactObject(["id": .string(e.id), "jobArn": .string(e.audienceGenerationJobArn), "name": .string(e.name), "status": .string(e.status),
                            "requestedBy": e.requestedBy.map { .string($0) }, "view": AudienceJobHandlers.exportShape(e)])
        }
        let objects = state.buckets.values.sorted { $0.name < $1.name }.flatMap { b in
            b.objects.values.sorted { $0.key < $1.key }.map { JSON.string("\(b.name)/\($0.key)") }
        }
        let audit = auditTrail.oldestFirst.map { e -> JSON in
            .compactObject(["eventName": .string(e.eventName), "time": .number(e.eventTime), "username": e.username.map { .string($0) },
                            "resources": .array(e.resources.map { .string($0.name) }), "errorCode": e.errorCode.map { .string($0) }])
        }
        return [
            "account": .string(config.account.rawValue),
            "jobs": .array(jobs), "exports": .array(exports),
            "tombstones": .array(state.tombstones.values.sorted { $0.jobID < $1.jobID }.map {
                .compactObject(["jobID": .string($0.jobID), "counterpart": $0.counterpart.map { .string($0) }, "deletedAt": .number($0.deletedAt)])
            }),
            "outbox": .array(state.outbox.values.sorted { $0.id < $1.id }.map { ["id": .string($0.id), "account": .string($0.account)] }),
            "startIntents": .array(state.startIntents.values.sorted { $0.jobID < $1.jobID }.map { ["jobID": .string($0.jobID), "name": .string($0.name)] }),
            "objects": .array(objects),
            "audit": .array(audit),
        ]
    }
}
