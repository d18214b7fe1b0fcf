import CleanRoomsModel
import JSON

/// Names a message this node sent, so its outcome (`peerAnswered`) finds what it belongs to.
/// Tokens are this node's own: the other node never sees them. Each send gets a number of its
/// own (`n`), so an answer to an earlier send is never taken for a later one's.
public enum MessageToken: Hashable, Sendable, CustomStringConvertible {
    /// A cross-account start of job `jobID` (one per job).
    case start(jobID: String)
    /// An export of a submitted job, asked of the owner (one per export).
    case export(exportID: String)
    /// Joining a collaboration through its creator.
    case join(membershipID: String, n: UInt64)
    /// Asking a collaboration's creator whether two accounts are ACTIVE members.
    case collaborationCheck(n: UInt64)
    /// Status changes pushed to `account`.
    case push(account: String, n: UInt64)
    /// An attempt at delivering outbox entry `entryID`.
    case outbox(entryID: String, attempt: Int, n: UInt64)
    /// A sync digest sent to `account`.
    case sync(account: String, n: UInt64)

    public var description: String {
        switch self {
        case .start(let id): return "start:\(id)"
        case .export(let id): return "export:\(id)"
        case .join(let m, let n): return "join:\(m):\(n)"
        case .collaborationCheck(let n): return "collab-check:\(n)"
        case .push(let a, let n): return "push:\(a):\(n)"
        case .outbox(let e, let attempt, let n): return "outbox:\(attempt):\(n):\(e)"
        case .sync(let a, let n): return "sync:\(a):\(n)"
        }
    }
}

/// A timer the core asks the shell for (`Effect.setTimer`) and is told of when it fires
/// (`timerFired`). A timer that fires after what it was for is over changes nothing, so the
/// core never needs to cancel one.
public enum TimerID: Hashable, Sendable, CustomStringConvertible {
    /// The periodic sync with every account this node shares jobs with.
    case sync
    /// The next attempt at delivering outbox entry `entryID` (after its backoff).
    case outboxRetry(entryID: String)
    /// No answer to this message within its time-out: it counts as unreachable.
    case messageTimeout(MessageToken)
    /// A job's delete state is durable: remove the job and everything that belongs to it.
    case finishDelete(jobID: String)
    /// An audience model's delete state is durable: remove it and its trained model.
    case finishModelDelete(modelArn: String)

    /// The second half of a delete (the shell may hold these to show delete states: faults).
    public var finishesADelete: Bool {
        switch self {
        case .finishDelete, .finishModelDelete: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .sync: return "sync"
        case .outboxRetry(let id): return "outbox-retry:\(id)"
        case .messageTimeout(let t): return "timeout:\(t)"
        case .finishDelete(let id): return "finish-delete:\(id)"
        case .finishModelDelete(let arn): return "finish-model-delete:\(arn)"
        }
    }
}

/// A named point of a protocol where a fault-injection run may crash the node
/// (`Effect.failpoint`): the shell crashes if it is armed. The names are the ones
/// `crml fault failpoint` takes.
public enum Failpoint: String, Sendable, CaseIterable {
    /// The submitter logged its intent and is about to ask the owner.
    case startAfterIntent = "start.after-intent"
    /// The owner created its copy and answered; the submitter has not committed.
    case startAfterPeerCreated = "start.after-peer-created"
    /// A delete is durable and about to be sent for the first time.
    case deleteAfterLog = "delete.after-log"
    /// A node is about to apply the other account's delete.
    case deleteApply = "delete.apply"
    /// A generation run is in progress.
    case runDuring = "run.during"
    /// An export is in progress.
    case exportDuring = "export.during"

    /// Every failpoint's name, in the order of the protocol.
    public static var names: [String] { allCases.map(\.rawValue) }
}

/// Client calls waiting for another account's node, by the token of the message sent.
struct PendingCalls {
    enum Kind {
        /// A cross-account start: the submitter's copy, committed if the owner accepts.
        case start(AudienceGenerationJob)
        /// An export of a submitted job: the record the caller's account keeps.
        case export(AudienceExportJob)
        /// Joining a collaboration: the membership (pending until the creator says yes).
        case join(membershipID: String)
    }

    struct Call {
        let call: AccountNode.Call
        let kind: Kind
    }

    private var calls: [MessageToken: Call] = [:]

    mutating func add(_ token: MessageToken, _ call: AccountNode.Call, _ kind: Kind) { calls[token] = Call(call: call, kind: kind) }

    mutating func take(_ token: MessageToken) -> Call? { calls.removeValue(forKey: token) }

    func isWaiting(_ token: MessageToken) -> Bool { calls[token] != nil }
}

/// The outbox's sends in flight: each entry's latest send (only its answer counts) and how
/// many sends it took so far (for backoff). Memory only: the entries themselves are state.
struct OutboxSends {
    struct Send {
        var number: UInt64
        var attempt: Int
    }

    private var sends: [String: Send] = [:]

    func latest(_ entryID: String) -> Send? { sends[entryID] }

    /// Records a new send of `entryID` numbered `number`; returns its attempt.
    mutating func record(_ entryID: String, number: UInt64) -> Int {
        let attempt = (sends[entryID]?.attempt ?? 0) + 1
        sends[entryID] = Send(number: number, attempt: attempt)
        return attempt
    }

    mutating func forget(_ entryID: String) { sends[entryID] = nil }

    /// Whether `token` is the newest send of its entry (so its outcome counts).
    func isCurrent(_ entryID: String, number: UInt64) -> Bool { sends[entryID]?.number == number }
}

/// Which statuses each account still has to be told, and whether a push to it is on its way.
/// One push per account is in flight at a time; what changes meanwhile goes in the next one, as
/// the newest status of each job and export. Memory only: a crash forgets it, and sync repairs
/// what was not told.
struct StatusPushes {
    struct Pending {
        var jobs: Set<String> = []
        var exports: Set<String> = []
        /// The push on its way, if any.
        var inFlight: UInt64?
    }

    private var byAccount: [String: Pending] = [:]

    mutating func add(job: String, for account: String) { byAccount[account, default: Pending()].jobs.insert(job) }
    mutating func add(export: String, for account: String) { byAccount[account, default: Pending()].exports.insert(export) }

    /// What to tell `account` now (nothing while a push is on its way); marks it in flight as `n`.
    mutating func next(for account: String, n: UInt64) -> (jobs: [String], exports: [String])? {
        guard var p = byAccount[account], p.inFlight == nil, !(p.jobs.isEmpty && p.exports.isEmpty) else { return nil }
        let out = (p.jobs.sorted(), p.exports.sorted())
        p.jobs.removeAll()
        p.exports.removeAll()
        p.inFlight = n
        byAccount[account] = p
        return out
    }

    /// The push numbered `n` to `account` has an outcome: the next may go.
    mutating func answered(_ account: String, n: UInt64) -> Bool {
        guard byAccount[account]?.inFlight == n else { return false }
        byAccount[account]?.inFlight = nil
        return true
    }

    /// A push that turned out to have nothing to say is not in flight.
    mutating func cancel(_ account: String) { byAccount[account]?.inFlight = nil }
}

/// Where the next sync with each account starts (job ids are synced a window at a time), and
/// the digests on their way.
struct SyncCursors {
    private var cursors: [String: String] = [:]

    func cursor(_ account: String) -> String { cursors[account] ?? "" }

    mutating func move(_ account: String, to through: String?) { cursors[account] = through ?? "" }
}

/// Starts waiting for a collaboration's creator to vouch for their members, by token.
struct CollaborationChecks {
    private var waiting: [MessageToken: CollaborationCheck.Continuation] = [:]

    mutating func add(_ token: MessageToken, _ then: CollaborationCheck.Continuation) { waiting[token] = then }

    mutating func take(_ token: MessageToken) -> CollaborationCheck.Continuation? { waiting.removeValue(forKey: token) }
}
