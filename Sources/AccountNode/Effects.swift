import CleanRoomsModel
import JSON

/// Identifies a request to the shell that sent it; the core hands it back with the reply.
public struct RequestToken: Hashable, Sendable {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
}

/// A request from another account's node (authenticated as that account's node).
public struct PeerRequest: Sendable {
    public var token: RequestToken
    /// The account of the node that sent it.
    public var from: String
    /// `peer.Method`.
    public var method: String
    public var params: JSON
    public var now: Double

    public init(token: RequestToken, from: String, method: String, params: JSON, now: Double) {
        self.token = token
        self.from = from
        self.method = method
        self.params = params
        self.now = now
    }
}

/// A message for another account's node.
public struct PeerMessage: Sendable {
    /// Names the message when its outcome comes back (`peerAnswered`).
    public var token: MessageToken
    public var account: String
    public var method: String
    public var params: JSON
    /// Blobs whose bytes go in `params.seedData` as base64, in order (the shell reads them:
    /// the core never touches files).
    public var attachBlobs: [String]
    /// With `attachBlobs`: they are a table, and what goes is the query's selection from it
    /// (as one CSV of user ids), never the table.
    public var attachSelection: SeedSelection?
    /// Give up (outcome `.unreachable`) after this long without an answer. The core keeps this
    /// time-out itself (`TimerID.messageTimeout`); the shell may also drop a link on which a
    /// message waited this long.
    public var timeout: Double
    /// False for notifications whose answer nobody needs (status pushes).
    public var expectsAnswer: Bool

    public init(token: MessageToken, account: String, method: String, params: JSON, attachBlobs: [String] = [],
                timeout: Double, expectsAnswer: Bool = true) {
        self.token = token
        self.account = account
        self.method = method
        self.params = params
        self.attachBlobs = attachBlobs
        self.attachSelection = nil
        self.timeout = timeout
        self.expectsAnswer = expectsAnswer
    }
}

/// How a message to another account's node ended.
public enum PeerOutcome: Sendable {
    /// It answered with a result.
    case answered(JSON)
    /// It answered with an error.
    case refused(AWSError)
    /// No answer: not connected, connection lost, or timed out. The message may or may not
    /// have been acted on.
    case unreachable(String)
}

/// An authenticated client's API call, as the shell hands it to the core.
public struct ClientRequest: Sendable {
    public var token: RequestToken
    /// `service.Operation`.
    public var method: String
    public var params: JSON
    /// The access key the connection authenticated with.
    public var accessKeyID: String
    public var sourceIP: String
    /// Wall-clock time of the request, epoch seconds.
    public var now: Double

    public init(token: RequestToken, method: String, params: JSON, accessKeyID: String, sourceIP: String, now: Double) {
        self.token = token
        self.method = method
        self.params = params
        self.accessKeyID = accessKeyID
        self.sourceIP = sourceIP
        self.now = now
    }
}

/// What the core answers a request with.
public enum Reply: Sendable {
    case result(JSON)
    /// `result` plus the bytes of a stored blob as base64 in `Body` (S3 GetObject).
    case resultWithBody(JSON, blob: String)
    /// A service error; `protocolCode` is set for JSON-RPC's own faults (unknown method).
    case error(AWSError, protocolCode: Int? = nil)
}

/// What the shell must do for the core, in order, as they come. What depends on durability
/// (replies, messages, timers, work, deletions) comes out of the core's `CommitGate` only once
/// the commits before it are durable, so the shell needs no rules of its own.
public enum Effect: Sendable {
    /// Store bytes under a blob id, durably, before the next `persist` is durable.
    case writeBlob(id: String, bytes: [UInt8])
    /// Append events to the write-ahead log as commit number `commit` (1, 2, … in order), with
    /// the blobs written before it since the last commit; tell the core with `committed` once
    /// it is durable.
    case persist(commit: UInt64, events: [StateEvent])
    /// Remove a blob once everything before it is durable.
    case deleteBlob(id: String)
    /// Record an audit event (kept for LookupEvents, written to the audit file).
    case audit(AuditEvent)
    case reply(RequestToken, Reply)
    /// Run work off the loop.
    case startWork(Work)
    /// Stop work in progress (its result, if any, is then ignored).
    case cancelWork(id: String)
    /// Remove a work file.
    case deleteFile(WorkFile)
    /// Send a message to another account's node, and report the outcome with `peerAnswered`
    /// (unless `expectsAnswer` is false).
    case sendPeer(PeerMessage)
    /// This node has applied another account's delete of a shared job, durably, and is about
    /// to say so (the checker's proof that the delete arrived, from the node's peer trace).
    case peerDeleteAcknowledged(account: String, jobID: String)
    /// Call `timerFired(id)` at (or after) `at`, epoch seconds of the node's clock.
    case setTimer(TimerID, at: Double)
    /// A protocol step where a fault-injection run may crash the node: the shell crashes here
    /// if this failpoint is armed, before performing any later effect.
    case failpoint(Failpoint)
}

/// Data the work reads: how errors name it, and where its bytes are: a blob, or (for small
/// data another account sent, such as a seed) inline as base64, kept in the state itself so it
/// is durable with the record that creates it and goes with the record that deletes it.
public struct DataObject: Codable, Sendable, Equatable {
    public var source: String
    /// The blob holding the bytes ("" when they are inline).
    public var blob: String
    public var inline: String?

    public init(source: String, blob: String) {
        self.source = source
        self.blob = blob
    }

    public init(source: String, inlineBytes: [UInt8]) {
        self.source = source
        blob = ""
        inline = Base64.encode(inlineBytes)
    }
}

/// Long-running work the shell does off the event loop, then reports back with `WorkResult`.
public enum Work: Sendable {
    /// Train a lookalike model on the objects' interactions; write it to model file `modelFile`.
    case trainModel(modelArn: String, modelFile: String, objects: [DataObject], userColumn: String, itemColumn: String,
                    timestampColumn: String, start: Double?, end: Double?)
    /// Score the users of model file `modelFile` against the seed; keep the ranked audience in
    /// audience file `audienceFile`.
    /// With `selection`, the seed objects are a table and the seed is what the query selects.
    case generateAudience(jobArn: String, modelFile: String, audienceFile: String, seed: [DataObject], selection: SeedSelection?,
                          minMatchingSeedSize: Int, includeSeed: Bool, sizeType: String, bins: [Int])
    /// The top `count` users of audience file `audienceFile`, as CSV.
    case exportAudience(exportID: String, audienceFile: String, count: Int)

    /// The id the work reports under (and can be cancelled by).
    public var id: String {
        switch self {
        case .trainModel(let arn, _, _, _, _, _, _, _): return arn
        case .generateAudience(let arn, _, _, _, _, _, _, _, _): return arn
        case .exportAudience(let id, _, _): return id
        }
    }
}

/// A work file in the node's data directory.
public enum WorkFile: Sendable, Equatable {
    case model(String)
    case audience(String)
}

/// Why work failed, as a job's `statusDetails` says it.
public struct WorkFailure: Error, Sendable, Equatable {
    public var statusCode: String
    public var message: String

    public init(statusCode: String, message: String) {
        self.statusCode = statusCode
        self.message = message
    }
}

/// What a finished piece of work reports.
public enum WorkResult: Sendable {
    case modelTrained(modelArn: String, Result<TrainedModel, WorkFailure>)
    case audienceGenerated(jobArn: String, Result<GeneratedAudience, WorkFailure>)
    case audienceExported(exportID: String, Result<[UInt8], WorkFailure>)

    public struct TrainedModel: Sendable {
        public var users: Int
        public var interactions: Int
        public init(users: Int, interactions: Int) {
            self.users = users
            self.interactions = interactions
        }
    }

    public struct GeneratedAudience: Sendable {
        /// Relevance per bin, in the order of the bins asked for.
        public var relevance: [Double]
        public var recall: Double
        public var candidates: Int
        public var matchedSeeds: Int
        public init(relevance: [Double], recall: Double, candidates: Int, matchedSeeds: Int) {
            self.relevance = relevance
            self.recall = recall
            self.candidates = candidates
            self.matchedSeeds = matchedSeeds
        }
    }
}
