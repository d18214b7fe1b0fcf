import AccountNode
import Dispatch
import Foundation
import JSON
import Lookalike
import Synchronization

/// Runs the node's long work (training, audience generation, exports) on a thread of its own,
/// one piece at a time, and reports back to the event loop.
///
/// Guarantees: a piece of work is reported started before it runs and finished after its
/// output file is durable; cancelled work is not reported; a failure of the data (bad rows, too
/// few seeds) is a `WorkFailure` with a message naming what and where, never a crash.
final class WorkRunner: @unchecked Sendable {
    enum Report {
        case started(String)
        case finished(WorkResult)
        /// The work's output could not be written (a full disk): not a result of the work.
        case storageFailed(FileError)
    }

    private let blobs: BlobStore
    let modelsDir: String
    let audiencesDir: String
    private let report: @Sendable (Report) -> Void
    /// Seconds a run or export takes at least (a fault for tests; normally 0).
    private let minimumDuration: @Sendable () -> Double
    private let queue = Mutex<[(work: Work, generation: Int)]>([])
    /// Bumped by `cancelAll`: work from an earlier generation is not reported.
    private let generation = Atomic<Int>(0)
    private let cancelled = Mutex<Set<String>>([])
    private let wake = DispatchSemaphore(value: 0)
    /// Set by `perform` when an output file could not be written (on the runner's thread).
    private var storageFailure: FileError?
    /// The most recently used model, kept loaded (generation after generation reuses it).
    private var cachedModel: (file: String, model: LookalikeModel)?

    init(dataDir: String, blobs: BlobStore, minimumDuration: @escaping @Sendable () -> Double = { 0 },
         report: @escaping @Sendable (Report) -> Void) throws(FileError) {
        self.blobs = blobs
        self.minimumDuration = minimumDuration
        modelsDir = dataDir + "/models"
        audiencesDir = dataDir + "/audiences"
        self.report = report
        try FileIO.makeDirectory(modelsDir)
        try FileIO.makeDirectory(audiencesDir)
    }

    func start() {
        let t = Thread { self.run() }
        t.name = "work-runner"
        t.start()
    }

    func submit(_ work: Work) {
        cancelled.withLock { _ = $0.remove(work.id) }
        let g = generation.load(ordering: .sequentiallyConsistent)
        queue.withLock { $0.append((work, g)) }
        wake.signal()
    }

    func cancel(_ id: String) {
        cancelled.withLock { _ = $0.insert(id) }
        queue.withLock { $0.removeAll { $0.work.id == id } }
    }

    /// Drops all queued work; the piece running, if any, finishes unreported.
    func cancelAll() {
        generation.add(1, ordering: .sequentiallyConsistent)
        queue.withLock { $0.removeAll() }
    }

    private func isCurrent(_ g: Int) -> Bool { generation.load(ordering: .sequentiallyConsistent) == g }

    func modelPath(_ id: String) -> String { "\(modelsDir)/\(id).bin" }
    func audiencePath(_ id: String) -> String { "\(audiencesDir)/\(id).csv" }

    func delete(_ file: WorkFile) {
        switch file {
        case .model(let id): FileIO.remove(modelPath(id))
        case .audience(let id): FileIO.remove(audiencePath(id))
        }
    }

    /// Work files no resource refers to (left by a crash, or by a delete before the file came).
    func removeOrphans(models: Set<String>, audiences: Set<String>) -> Int {
        var n = 0
        for f in FileIO.list(modelsDir) where !models.contains(String(f.dropLast(4))) { FileIO.remove("\(modelsDir)/\(f)"); n += 1 }
        for f in FileIO.list(audiencesDir) where !audiences.contains(String(f.dropLast(4))) { FileIO.remove("\(audiencesDir)/\(f)"); n += 1 }
        return n
    }

    private func isCancelled(_ id: String) -> Bool { cancelled.withLock { $0.contains(id) } }

    /// Waits out the injected minimum duration (read again as it goes, so lowering it releases
    /// work already waiting), stopping early if the work is cancelled.
    private func stretch(_ id: String) {
        let start = Date()
        while Date().timeIntervalSince(start) < minimumDuration() && !isCancelled(id) { usleep(5_000) }
    }

    private func run() {
        while true {
            wake.wait()
            while let (work, g) = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                guard !isCancelled(work.id), isCurrent(g) else { continue }
                report(.started(work.id))
                if case .trainModel = work {} else { stretch(work.id) }
                let result = perform(work)
                guard !isCancelled(work.id), isCurrent(g) else { continue }
                if let storage = storageFailure { report(.storageFailed(storage)) } else { report(.finished(result)) }
                storageFailure = nil
            }
        }
    }

    private func read(_ objects: [DataObject]) throws(WorkFailure) -> [(DataObject, [UInt8])] {
        var out: [(DataObject, [UInt8])] = []
        for o in objects {
            if let inline = o.inline {
                guard let bytes = Base64.decode(inline) else { throw WorkFailure(statusCode: "DATA_UNREADABLE", message: "\(o.source) is damaged") }
                out.append((o, bytes))
                continue
            }
            do { out.append((o, try blobs.read(o.blob))) } catch {
                throw WorkFailure(statusCode: "DATA_UNREADABLE", message: "\(o.source) can no longer be read (was it deleted?)")
            }
        }
        return out
    }

    func perform(_ work: Work) -> WorkResult {
        switch work {
        case .trainModel(let arn, let file, let objects, let user, let item, let time, let start, let end):
            return .modelTrained(modelArn: arn, Result { () throws(WorkFailure) in
                var data = Interactions()
                let schema = InteractionSchema(userColumn: user, itemColumn: item, timestampColumn: time)
                for (o, bytes) in try read(objects) {
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
                do throws(FileError) { try FileIO.writeDurably(modelPath(file), model.encoded()) } catch {
                    storageFailure = error
                    throw WorkFailure(statusCode: "STORAGE_FAILURE", message: error.reason)
                }
                return WorkResult.TrainedModel(users: model.userCount, interactions: data.count)
            })
        case .generateAudience(let arn, let file, let audienceFile, let seed, let selection, let minMatching, let includeSeed, let sizeType, let bins):
            return .audienceGenerated(jobArn: arn, Result { () throws(WorkFailure) in
                let model = try loadModel(file)
                var seedUsers: [String] = []
                var objects = try read(seed)
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
                do throws(FileError) { try FileIO.writeDurably(audiencePath(audienceFile), csv) } catch {
                    storageFailure = error
                    throw WorkFailure(statusCode: "STORAGE_FAILURE", message: error.reason)
                }
                // A delete that came while the file was being written has already removed what
                // there was: remove this too.
                if isCancelled(arn) {
                    FileIO.remove(audiencePath(audienceFile))
                    throw WorkFailure(statusCode: "CANCELLED", message: "deleted while generating")
                }
                return WorkResult.GeneratedAudience(relevance: bins.isEmpty ? [] : result.relevance.map(\.score), recall: result.recall,
                                                    candidates: result.candidates, matchedSeeds: result.matchedSeeds)
            })
        case .exportAudience(let id, let audienceFile, let count):
            return .audienceExported(exportID: id, Result { () throws(WorkFailure) in
                let bytes: [UInt8]
                do { bytes = try FileIO.read(audiencePath(audienceFile)) } catch {
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

    private func loadModel(_ file: String) throws(WorkFailure) -> LookalikeModel {
        if let c = cachedModel, c.file == file { return c.model }
        do {
            let model = try LookalikeModel(decoding: try FileIO.read(modelPath(file)))
            cachedModel = (file, model)
            return model
        } catch {
            throw WorkFailure(statusCode: "MODEL_UNREADABLE", message: "The audience model's trained data cannot be read: \(error)")
        }
    }
}
