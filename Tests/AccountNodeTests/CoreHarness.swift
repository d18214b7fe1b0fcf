import AccountNode
import CleanRoomsModel
import JSON
import Testing

/// Drives an `AccountNodeCore` in memory, the way the shell does: performs blob effects in a
/// dictionary, checks every successful result against AWS's output shape, and keeps the logged
/// events so tests can replay them.
final class CoreHarness {
    let core: AccountNodeCore
    var blobs: [String: [UInt8]] = [:]
    var log: [StateEvent] = []
    var audit: [AuditEvent] = []
    /// Work the core asked for (the runtime's tests run it for real).
    var work: [Work] = []
    /// Messages the core sent to other accounts' nodes, in order.
    var sent: [PeerMessage] = []
    /// Every reply the core gave, by request token.
    var replies: [UInt64: Reply] = [:]
    var now: Double = 1_767_225_600  // 2026-01-01T00:00:00Z
    var nextToken: UInt64 = 0
    static let adminKey = "AKIAADMIN00000000001"
    static let adminSecret = "adminsecretadminsecretadminsecretadminse"

    init(account: String = "111111111111", scps: [(name: String, document: String)]? = nil) {
        let config = NodeConfig(account: AccountID(account)!, admin: .init(accessKeyID: CoreHarness.adminKey, secretAccessKey: CoreHarness.adminSecret),
                                organizationID: scps == nil ? nil : "o-test", serviceControlPolicies: scps)
        core = AccountNodeCore(config: config, seed: 42)
        perform(core.bootstrapIfNeeded(now: now))
    }

    /// Drives an existing core (one rebuilt from a log, say) without bootstrapping it.
    init(wrapping core: AccountNodeCore) {
        self.core = core
    }

    /// Timers the core asked for and that have not fired (`fire` fires them).
    var timers: [(id: TimerID, at: Double)] = []
    /// Failpoints the core passed, in order.
    var failpoints: [Failpoint] = []
    /// Holds deletes in their delete state (a real shell finishes them at once: `finishDelete`
    /// timers are due when set), so a test can look at a job being deleted.
    var holdDeletes = false

    /// Performs effects as the shell does; a commit is durable at once, so what the core's gate
    /// held for it is performed right after.
    @discardableResult
    func perform(_ effects: [Effect]) -> Reply? {
        var reply: Reply?
        var released: [Effect] = []
        for e in effects {
            switch e {
            case .writeBlob(let id, let bytes): blobs[id] = bytes
            case .deleteBlob(let id): blobs[id] = nil
            case .persist(let commit, let events):
                log += events
                released += core.committed(commit, now: now)
            case .audit(let a): audit.append(a)
            case .reply(let token, let r):
                reply = r
                replies[token.value] = r
            case .startWork(let w): work.append(w)
            case .sendPeer(let m): sent.append(m)
            case .setTimer(let id, let at): timers.append((id, at))
            case .failpoint(let f): failpoints.append(f)
            case .cancelWork, .deleteFile, .peerDeleteAcknowledged: break
            }
        }
        if !released.isEmpty, let r = perform(released) { reply = r }
        if !holdDeletes { fire { $0.finishesADelete } }
        return reply
    }

    /// Fires the timers `matching` says, earliest first, moving `now` to each one's time (never
    /// back); returns how many fired.
    @discardableResult
    func fire(_ matching: (TimerID) -> Bool = { _ in true }) -> Int {
        var fired = 0
        while let k = timers.indices.filter({ matching(timers[$0].id) }).min(by: { timers[$0].at < timers[$1].at }) {
            let t = timers.remove(at: k)
            now = max(now, t.at)
            perform(core.timerFired(t.id, now: now))
            fired += 1
        }
        return fired
    }

    /// Calls a method; returns the result or throws the AWS error. Successful results are held to
    /// the operation's output shape.
    @discardableResult
    func call(_ method: String, _ params: JSON = [:], key: String = CoreHarness.adminKey, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSON {
        try result(method, replies[send(method, params, key: key)], sourceLocation: sourceLocation)
    }

    /// A reply as `call` returns it.
    func result(_ method: String, _ reply: Reply?, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSON {
        switch reply {
        case .result(let r)?, .resultWithBody(let r, _)?:
            let parts = method.split(separator: ".")
            if let model = ServiceModel.named(String(parts[0])), model.operations[String(parts[1])] != nil {
                do { try model.validateOutput(operation: String(parts[1]), r) } catch {
                    Issue.record("\(method) result does not fit AWS's output shape: \(error)", sourceLocation: sourceLocation)
                }
            }
            if case .resultWithBody(var r2, let blob)? = reply {
                r2["Body"] = .string(Base64.encode(blobs[blob] ?? []))
                return r2
            }
            return r
        case .error(let e, _)?:
            throw e
        case nil:
            Issue.record("no reply", sourceLocation: sourceLocation)
            return .null
        }
    }

    /// Sends a request and returns its token; the reply (if the core gave one yet) is in `replies`.
    @discardableResult
    func send(_ method: String, _ params: JSON = [:], key: String = CoreHarness.adminKey) -> UInt64 {
        nextToken += 1
        now += 1
        let token = nextToken
        perform(core.handle(ClientRequest(token: RequestToken(token), method: method, params: params, accessKeyID: key, sourceIP: "127.0.0.1", now: now)))
        return token
    }

    /// Expects an AWS error of `type`; returns its message.
    @discardableResult
    func expectError(_ type: String, _ method: String, _ params: JSON = [:], key: String = CoreHarness.adminKey, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            let r = try call(method, params, key: key, sourceLocation: sourceLocation)
            Issue.record("\(method) succeeded (\(r)); expected \(type)", sourceLocation: sourceLocation)
            return ""
        } catch let e as AWSError {
            #expect(e.code.name == type, "\(method): \(e)", sourceLocation: sourceLocation)
            return e.message
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            return ""
        }
    }

    /// Creates a user with an inline policy and an access key; returns the key id.
    func user(_ name: String, policy: String) throws -> String {
        try call("iam.CreateUser", ["UserName": .string(name)])
        try call("iam.PutUserPolicy", ["UserName": .string(name), "PolicyName": "p", "PolicyDocument": .string(policy)])
        return try call("iam.CreateAccessKey", ["UserName": .string(name)])["AccessKey"]?["AccessKeyId"]?.stringValue ?? ""
    }

    /// A fresh core rebuilt from this one's log: what a restart recovers.
    func replayed() -> AccountNodeCore {
        let c = AccountNodeCore(config: core.config, seed: 7)
        for e in log { c.replay(e) }
        return c
    }
}

func allow(_ actions: String, _ resource: String = "*") -> String {
    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"\#(actions)","Resource":"\#(resource)"}]}"#
}
