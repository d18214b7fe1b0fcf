import AccountNode
import Campaign
import CleanRoomsModel
import Digest
import JSON
import Lookalike
import Synchronization

/// One account's node in the simulated world: the same `AccountNodeCore` a real node runs
/// (nil while the node is down), and what a real node keeps in files, which outlive a crash as
/// files do: the log and blobs (`SimDisk`), model and audience files, the audit file and the
/// peer trace (page-cache writes: a process crash loses none of them).
final class SimNode {
    let account: String
    let config: NodeConfig
    var core: AccountNodeCore?
    /// Bumped at every crash: what was meant for an earlier incarnation is dropped.
    var incarnation = 0
    var paused = false
    /// Inputs that came while the node was paused, run in order when it resumes.
    var deferred: [() -> Void] = []
    /// How far this node's clock is off (seconds).
    let skew: Double
    var disk = SimDisk()
    var models: [String: [UInt8]] = [:]
    var audiences: [String: [UInt8]] = [:]
    var audit: [AuditEvent] = []
    /// The peer trace, as `admin.Dump` reports it (`t`, `dir`, `peer`, `method`, `jobID`).
    var trace: [JSON] = []
    var sentByMethod: [String: Int] = [:]
    var runsStarted: [String: Int] = [:]
    /// Failpoints armed in this incarnation (a restart clears them, as in a real process).
    var armed: Set<String> = []
    /// Where each open request's answer goes.
    var routes: [RequestToken: Route] = [:]
    var nextToken: UInt64 = 0
    /// When the last sync asked for completes (syncs complete in order).
    var syncedUntil = 0.0
    /// Work waiting, the piece running, and what was cancelled (work runs one piece at a time).
    var workQueue: [Work] = []
    var working = false
    var cancelled: Set<String> = []
    var execution = WorkExecution()
    var starts = 0
    /// This node's stream of choices: disk and work times, torn writes, its core's seeds, its
    /// clients' latency.
    var random: ScheduleRandom

    enum Route {
        case client(call: Int)
        /// A peer's request: answered on the sender's link `epoch`, as message `id` (nil: a
        /// notification, whose answer nobody waits for).
        case peer(from: String, epoch: Int, id: Int?)
    }

    init(account: String, config: NodeConfig, skew: Double, random: ScheduleRandom) {
        self.account = account
        self.config = config
        self.skew = skew
        self.random = random
    }

    func uniform(_ r: ClosedRange<Double>) -> Double { random.uniform(r.lowerBound, r.upperBound) }

    var isUp: Bool { core != nil }

    func route(_ r: Route) -> RequestToken {
        nextToken += 1
        routes[RequestToken(nextToken)] = r
        return RequestToken(nextToken)
    }

    /// The node's work files and blobs, for `WorkExecution`.
    struct Storage: WorkStorage {
        let node: SimNode
        struct Missing: Error, CustomStringConvertible { var description: String }
        func readBlob(_ id: String) throws -> [UInt8] {
            guard let b = node.disk.blobs[id] else { throw Missing(description: "blob \(id) is missing") }
            return b
        }
        func readModel(_ file: String) throws -> [UInt8] {
            guard let b = node.models[file] else { throw Missing(description: "model file \(file) is missing") }
            return b
        }
        func writeModel(_ file: String, _ bytes: [UInt8]) throws { node.models[file] = bytes }
        func removeModel(_ file: String) { node.models[file] = nil }
        func readAudience(_ file: String) throws -> [UInt8] {
            guard let b = node.audiences[file] else { throw Missing(description: "audience file \(file) is missing") }
            return b
        }
        func writeAudience(_ file: String, _ bytes: [UInt8]) throws { node.audiences[file] = bytes }
        func removeAudience(_ file: String) { node.audiences[file] = nil }
    }

    /// Runs a piece of work for real. Training the same data gives the same model, so a trained
    /// model is kept by the digest of its inputs and reused (every seed trains the same data).
    func perform(_ work: Work) -> WorkResult {
        let storage = Storage(node: self)
        if case .trainModel(let arn, let file, let objects, let user, let item, let time, let start, let end) = work {
            var h = SHA256()
            for o in objects {
                let bytes = (try? storage.readBlob(o.blob)) ?? Array((o.inline ?? "").utf8)
                h.update(Array("\(bytes.count)|".utf8))
                h.update(bytes)
            }
            h.update(Array("\(user)|\(item)|\(time)|\(String(describing: start))|\(String(describing: end))".utf8))
            let key = Hex.encode(h.finalize())
            if let (bytes, trained) = SimNode.trained.withLock({ $0[key] }) {
                models[file] = bytes
                return .modelTrained(modelArn: arn, .success(trained))
            }
            let (result, _) = execution.perform(work, storage: storage, isCancelled: { [cancelled] in cancelled.contains($0) })
            if case .modelTrained(_, .success(let t)) = result, let bytes = models[file] { SimNode.trained.withLock { $0[key] = (bytes, t) } }
            return result
        }
        return execution.perform(work, storage: storage, isCancelled: { [cancelled] in cancelled.contains($0) }).result
    }

    static let trained = Mutex<[String: ([UInt8], WorkResult.TrainedModel)]>([:])

    /// What `admin.Dump` reports: the core's dump and what the shell knows.
    func dump(wallClock: Double) -> JSON {
        guard let core else { return ["account": .string(account), "jobs": []] }
        var d = core.dump()
        d["wallClock"] = .number(wallClock)
        d["audienceFiles"] = .array(audiences.keys.sorted().map { .string($0) })
        d["blobs"] = .array(disk.blobs.keys.sorted().map { .string($0) })
        d["runsStarted"] = .object(runsStarted.mapValues { .int($0) })
        d["peerMessages"] = .array(trace)
        d["peerMessagesSent"] = .object(sentByMethod.mapValues { .int($0) })
        return d
    }
}
