import JSON
import Lookalike

/// Where work reads and writes its bytes: the node's blob store and work files, or a
/// simulation's memory. Errors are the storage's own (a full disk, a missing file).
public protocol WorkStorage {
    func readBlob(_ id: String) throws -> [UInt8]
    func readModel(_ file: String) throws -> [UInt8]
    /// Durably: the work is reported finished only after this returns.
    func writeModel(_ file: String, _ bytes: [UInt8]) throws
    func removeModel(_ file: String)
    func readAudience(_ file: String) throws -> [UInt8]
    func writeAudience(_ file: String, _ bytes: [UInt8]) throws
    func removeAudience(_ file: String)
}

/// What a piece of work computes: training, generation, export, run for real by the real
/// node's work runner and by the simulator alike, over a `WorkStorage`.
///
/// Guarantees: a failure of the data (bad rows, too few seeds) is a `WorkFailure` whose message
/// names what and where, never a crash; an output the storage could not write is reported as a
/// storage failure (the work runs again later), not as the job's failure.
public struct WorkExecution {
    /// The most recently used model, kept loaded (generation after generation reuses it).
    private var cachedModel: (file: String, model: LookalikeModel)?
    private var storageFailure: String?

    public init() {}

    /// Runs `work`; `isCancelled(id)` says whether its resource was deleted meanwhile. Returns
    /// the result and, if an output could not be written, why.
    public mutating func perform(_ work: Work, storage: some WorkStorage, isCancelled: (String) -> Bool) -> (result: WorkResult, storageFailure: String?) {
        storageFailure = nil
        let result = compute(work, storage: storage, isCancelled: isCancelled)
        return (result, storageFailure)
    }

    private mutating func compute(_ work: Work, storage: some WorkStorage, isCancelled: (String) -> Bool) -> WorkResult {
        switch work {
        case .trainModel(let arn, let file, let objects, let user, let item, let time, let start, let end):
            return .modelTrained(modelArn: arn, Result { () throws(WorkFailure) in
                var data = Interactions()
                let schema = InteractionSchema(userColumn: user, itemColumn: item, timestampColumn: time)
                for (o, bytes) in try read(objects, storage) {
                    do throws(TrainingDataError) { try data.load(csv: bytes, source: o.source, schema: schema, start: start, end: end) } catch {
                        throw WorkFailure(statusCode: "INVALID_TRAINING_DATA", message: error.message)
                    }
                }
                guard data.count > 0 else {
                    throw WorkFailure(statusCode: "NO_TRAINING_DATA", message: "No interactions in \(objects.map(\.source).joined(separator: ", "))"
                                      + (start != nil || end != nil ? " within the training data time window (\(data.outsideWindow) rows outside it)" : ""))
                }
                let model = Trainer.train(data)
                guard !isCancelled(arn) else { throw WorkFailure(statusCode: "CANCELLED", message: "deleted while training") }
                do { try storage.writeModel(file, model.encoded()) } catch {
                    storageFailure = "\(error)"
                    throw WorkFailure(statusCode: "STORAGE_FAILURE", message: "the node could not write the model")
                }
                // A delete that came while the file was being written has already removed what
                // there was: remove this too.
                if isCancelled(arn) {
                    storage.removeModel(file)
                    throw WorkFailure(statusCode: "CANCELLED", message: "deleted while training")
                }
                return WorkResult.TrainedModel(users: model.userCount, interactions: data.count)
            })
        case .generateAudience(let arn, let file, let audienceFile, let seed, let selection, let minMatching, let includeSeed, let sizeType, let bins):
            return .audienceGenerated(jobArn: arn, Result { () throws(WorkFailure) in
                let model = try loadModel(file, storage)
                var seedUsers: [String] = []
                var objects = try read(seed, storage)
                if let selection {
                    do {
                        let selected = try SeedSelectionRunner.run(selection, over: objects.map { (source: $0.0.source, bytes: $0.1) })
                        objects = [(DataObject(source: "the seed query's selection", inlineBytes: []), selected)]
                    } catch {
                        throw WorkFailure(statusCode: "INVALID_SEED", message: "\(error)")
                    }
                }
                for (o, bytes) in objects {
                    do {
                        try CSV.read(bytes) { fields, line in
                            guard let id = fields.first, !id.isEmpty else { return }
                            if line == 1 && id.lowercased() == "user_id" { return }  // a header
                            seedUsers.append(id)
                        }
                    } catch let e as CSV.Failure {
                        throw WorkFailure(statusCode: "INVALID_SEED", message: "\(o.source) line \(e.line): \(e.reason)")
                    } catch {
                        throw WorkFailure(statusCode: "INVALID_SEED", message: "\(o.source): \(error)")
                    }
                }
                let matched = Set(seedUsers).filter { model.userIndex[$0] != nil }.count
                let candidates = model.userCount - (includeSeed ? 0 : matched)
                let sizes = bins.isEmpty ? [candidates] : bins.map { sizeType == "PERCENTAGE" ? (candidates * $0 + 99) / 100 : $0 }
                let result: AudienceGenerator.Result
                do throws(AudienceGenerator.TooFewSeeds) {
                    result = try AudienceGenerator.generate(model, .init(seedUserIDs: seedUsers, includeSeed: includeSeed, minMatchingSeedSize: minMatching, sizes: sizes))
                } catch {
                    throw WorkFailure(statusCode: "INSUFFICIENT_SEED_MATCHES", message: error.description)
                }
                guard !isCancelled(arn) else { throw WorkFailure(statusCode: "CANCELLED", message: "deleted while generating") }
                var csv = Array("user_id,score\n".utf8)
                for r in result.ranked { csv += Array("\(CSV.escape(r.user)),\(r.score)\n".utf8) }
                do { try storage.writeAudience(audienceFile, csv) } catch {
                    storageFailure = "\(error)"
                    throw WorkFailure(statusCode: "STORAGE_FAILURE", message: "the node could not write the audience")
                }
                // A delete that came while the file was being written has already removed what
                // there was: remove this too.
                if isCancelled(arn) {
                    storage.removeAudience(audienceFile)
                    throw WorkFailure(statusCode: "CANCELLED", message: "deleted while generating")
                }
                return WorkResult.GeneratedAudience(relevance: bins.isEmpty ? [] : result.relevance.map(\.score), recall: result.recall,
                                                    candidates: result.candidates, matchedSeeds: result.matchedSeeds)
            })
        case .exportAudience(let id, let audienceFile, let count):
            return .audienceExported(exportID: id, Result { () throws(WorkFailure) in
                let bytes: [UInt8]
                do { bytes = try storage.readAudience(audienceFile) } catch {
                    throw WorkFailure(statusCode: "AUDIENCE_MISSING", message: "The job's audience is gone (was the job deleted?)")
                }
                // The header line and the first `count` users.
                var lines = 0
                var end = bytes.count
                for (i, b) in bytes.enumerated() where b == 0x0A {
                    lines += 1
                    if lines == count + 1 { end = i + 1; break }
                }
                return Array(bytes[..<end])
            })
        }
    }

    private mutating func loadModel(_ file: String, _ storage: some WorkStorage) throws(WorkFailure) -> LookalikeModel {
        if let c = cachedModel, c.file == file { return c.model }
        do {
            let model = try LookalikeModel(decoding: try storage.readModel(file))
            cachedModel = (file, model)
            return model
        } catch {
            throw WorkFailure(statusCode: "MODEL_UNREADABLE", message: "The audience model's trained data cannot be read: \(error)")
        }
    }

    private func read(_ objects: [DataObject], _ storage: some WorkStorage) throws(WorkFailure) -> [(DataObject, [UInt8])] {
        var out: [(DataObject, [UInt8])] = []
        for o in objects {
            if let inline = o.inline {
                guard let bytes = Base64.decode(inline) else { throw WorkFailure(statusCode: "DATA_UNREADABLE", message: "\(o.source) is damaged") }
                out.append((o, bytes))
                continue
            }
            do { out.append((o, try storage.readBlob(o.blob))) } catch {
                throw WorkFailure(statusCode: "DATA_UNREADABLE", message: "\(o.source) can no longer be read (was it deleted?)")
            }
        }
        return out
    }
}
