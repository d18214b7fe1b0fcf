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
        case storageFailed(String)
    }

    private let blobs: BlobStore
    let modelsDir: String
    let audiencesDir: String
    private let report: @Sendable (Report) -> Void
    /// Seconds a run or export takes at least (a fault for tests; normally 0).
    private let minimumDuration: @Sendable () -> Double
    /// Work waiting, and the id of the piece being worked on (one lock, so a cancel sees a
    /// piece either waiting or running, never between the two).
    private struct Queue {
        var waiting: [(work: Work, generation: Int)] = []
        var running: String?
    }
    private let queue = Mutex(Queue())
    /// Bumped by `cancelAll`: work from an earlier generation is not reported.
    private let generation = Atomic<Int>(0)
    private let cancelled = Mutex<Set<String>>([])
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled when held work may end early: a cancel, or a new minimum duration.
    private let held = NSCondition()
    /// The computation (on the runner's thread), over the node's blobs and work files.
    private var execution = WorkExecution()
    private let files: WorkFiles

    init(dataDir: String, blobs: BlobStore, minimumDuration: @escaping @Sendable () -> Double = { 0 },
         report: @escaping @Sendable (Report) -> Void) throws(FileError) {
        self.blobs = blobs
        self.minimumDuration = minimumDuration
        modelsDir = dataDir + "/models"
        audiencesDir = dataDir + "/audiences"
        self.report = report
        try FileIO.makeDirectory(modelsDir)
        try FileIO.makeDirectory(audiencesDir)
        files = WorkFiles(blobs: blobs, modelsDir: modelsDir, audiencesDir: audiencesDir)
    }

    func start() {
        let t = Thread { self.run() }
        t.name = "work-runner"
        t.start()
    }

    func submit(_ work: Work) {
        cancelled.withLock { _ = $0.remove(work.id) }
        let g = generation.load(ordering: .sequentiallyConsistent)
        queue.withLock { $0.waiting.append((work, g)) }
        wake.signal()
    }

    func cancel(_ id: String) {
        // Only the piece running needs to be told; queued work is simply dropped. So the set
        // holds at most the one id being worked on, not every id ever cancelled.
        queue.withLock { q in
            q.waiting.removeAll { $0.work.id == id }
            if q.running == id { cancelled.withLock { _ = $0.insert(id) } }
        }
        releaseHeld()
    }

    /// The minimum duration changed: work held by it looks again.
    func releaseHeld() {
        held.lock()
        held.broadcast()
        held.unlock()
    }

    /// Drops all queued work; the piece running, if any, finishes unreported.
    func cancelAll() {
        generation.add(1, ordering: .sequentiallyConsistent)
        queue.withLock { $0.waiting.removeAll() }
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

    /// Waits out the injected minimum duration (read again when it changes, so lowering it
    /// releases work already waiting), stopping early if the work is cancelled. Sleeps until one
    /// of those happens (a node holding work uses no CPU for it).
    private func stretch(_ id: String) {
        let start = Date()
        held.lock()
        defer { held.unlock() }
        while !isCancelled(id) {
            let remaining = minimumDuration() - Date().timeIntervalSince(start)
            if remaining <= 0 { return }
            _ = held.wait(until: Date().addingTimeInterval(remaining))
        }
    }

    private func run() {
        while true {
            wake.wait()
            while let (work, g) = queue.withLock({ q -> (Work, Int)? in
                guard !q.waiting.isEmpty else { return nil }
                let next = q.waiting.removeFirst()
                q.running = next.work.id
                return (next.work, next.generation)
            }) {
                defer {
                    queue.withLock { $0.running = nil }
                    cancelled.withLock { _ = $0.remove(work.id) }
                }
                guard !isCancelled(work.id), isCurrent(g) else { continue }
                report(.started(work.id))
                if case .trainModel = work {} else { stretch(work.id) }
                let (result, storageFailure) = execution.perform(work, storage: files, isCancelled: isCancelled)
                guard !isCancelled(work.id), isCurrent(g) else { continue }
                if let storageFailure { report(.storageFailed(storageFailure)) } else { report(.finished(result)) }
            }
        }
    }

}

/// The real node's `WorkStorage`: blobs from the blob store, models and audiences as files,
/// written durably.
struct WorkFiles: WorkStorage {
    let blobs: BlobStore
    let modelsDir: String
    let audiencesDir: String

    func readBlob(_ id: String) throws -> [UInt8] { try blobs.read(id) }
    func readModel(_ file: String) throws -> [UInt8] { try FileIO.read("\(modelsDir)/\(file).bin") }
    func writeModel(_ file: String, _ bytes: [UInt8]) throws { try FileIO.writeDurably("\(modelsDir)/\(file).bin", bytes) }
    func removeModel(_ file: String) { FileIO.remove("\(modelsDir)/\(file).bin") }
    func readAudience(_ file: String) throws -> [UInt8] { try FileIO.read("\(audiencesDir)/\(file).csv") }
    func writeAudience(_ file: String, _ bytes: [UInt8]) throws { try FileIO.writeDurably("\(audiencesDir)/\(file).csv", bytes) }
    func removeAudience(_ file: String) { FileIO.remove("\(audiencesDir)/\(file).csv") }
}
