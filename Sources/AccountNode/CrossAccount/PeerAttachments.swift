import CleanRoomsModel
import JSON

extension PeerMessage {
    /// The refusal a message gets when a blob it carries can no longer be read.
    public static let attachmentGone = AWSError(.validation, "A seed object changed while the job was starting; retry the request")

    /// The params this message goes out with, given the bytes of its `attachBlobs` (read by the
    /// shell, in order): the bytes as base64 in `seedData`; for an SQL seed only the query's
    /// selection, as one CSV of user ids (PV-2: the table stays here). A selection the
    /// owner could not take, or a query that cannot run, is the message's refusal.
    public func paramsWithAttachments(_ blobBytes: [[UInt8]]) -> Result<JSON, AWSError> {
        guard !attachBlobs.isEmpty else { return .success(params) }
        var parts = blobBytes
        if let selection = attachSelection {
            do {
                let seed = try SeedSelectionRunner.run(selection, over: parts.enumerated().map { (source: "table object \($0.offset + 1)", bytes: $0.element) })
                guard seed.count <= CrossAccountStart.maxSeedBytes else {
                    return .failure(AWSError(.validation, "The seed query selects \(seed.count) bytes of user ids; seeds sent to the model owner are at most 1 MiB"))
                }
                parts = [seed]
            } catch {
                return .failure(AWSError(.validation, "seedAudience.sqlParameters.queryString: \(error)"))
            }
        }
        var out = params
        out["seedData"] = .array(parts.map { .string(Base64.encode($0)) })
        return .success(out)
    }
}
