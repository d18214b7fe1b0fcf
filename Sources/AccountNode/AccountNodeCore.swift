import AccessControl
import CleanRoomsModel
import JSON
import Randomness

/// The account node's state machine: one account's Clean Rooms ML cell and its IAM, S3, Glue and
/// CloudTrail.
///
/// Pure: it takes one input at a time (a client request, a replayed event) and returns the
/// effects for the shell to perform (blobs to write, events to log, audit records, replies). It
/// never touches a socket, a file, a thread or the clock: time comes in with each request and
/// randomness from a seed. Every change to `state` goes through `emit`, which applies an event and
/// queues it for the log, so replaying the log rebuilds the same state.
public final class AccountNodeCore {
    public let config: NodeConfig
    public internal(set) var state: NodeState
    public internal(set) var auditTrail: AuditTrail
    var rng: SplitMix64
    let serviceControlPolicies: [PolicySource]?
    /// Compiled identity policies per principal (`user/NAME`, `role/NAME`); dropped on change.
    var policyCache: [String: [PolicySource]] = [:]
    /// Callers by access key. Every change of state goes through `emit` or `replay`; `replay`
    /// empties it, `emit` does on any event that changes users (`StateEvent.changesUsers`), so
    /// an entry never outlives the user, key, tags or policies it was built from.
    var callerCache: [String: Caller] = [:]
    /// Parsed action names (handlers name a fixed set) and the request time last formatted for
    /// `aws:CurrentTime`: the same few values on every request.
    var actionNameCache: [String: ActionName] = [:]
    var formattedTime: (second: Int, text: String) = (.min, "")
    /// Effects of the request being handled, in order.
    var pending: [Effect] = []
    var pendingEvents: [StateEvent] = []
    var afterPersist: [Effect] = []
    /// Set while the shell's storage takes no writes (`StorageOutage`): why.
    public internal(set) var storageOutage: String? = nil
    /// The time of the input being handled (every input carries it).
    var clock: Double = 0
    /// Replies and what else must wait for the log (`CommitGate`).
    public internal(set) var gate = CommitGate()
    /// The service of each request not yet answered (a reply refused for storage takes its
    /// error type); `peer` for other nodes' requests.
    var requestServices: [RequestToken: String] = [:]
    /// Client calls waiting for another account's node, by the token of the message sent.
    var calls = PendingCalls()
    /// Status pushes that arrived for a start not yet committed here (applied when it is;
    /// if lost, sync repairs).
    var earlyStatus: [String: JSON] = [:]
    /// The latest send of each outbox entry (only its answer counts) and how many there were.
    var outboxSends = OutboxSends()
    /// Numbers the messages this node sends (part of each token).
    var messageCounter: UInt64 = 0
    /// Status changes still to be told to each account.
    var pushes = StatusPushes()
    /// Where the next sync with each account starts (job ids are synced a window at a time).
    var syncCursors = SyncCursors()
    /// Compiled resource policies by their text.
    var resourcePolicyCache: [String: PolicySource] = [:]
    /// Starts waiting for a collaboration's creator to vouch for their members, by token.
    var checks = CollaborationChecks()
    /// Set by a peer handler that answers later (after asking another node).
    var peerAnswerDeferred = false
    /// Client calls answered once their pushes to other accounts have had a first try.
    var deliveryWaits = DeliveryWaits()
    /// Whether the periodic sync's timer chain is running (one chain per core: a recovery from
    /// a storage outage must not start a second one).
    var syncChainStarted = false
    /// When tombstones were last checked for expiry (a tenth of the retention apart, at least
    /// one sync interval).
    var lastTombstoneSweep = -Double.infinity

    public init(config: NodeConfig, state: NodeState = NodeState(), seed: UInt64) {
        self.config = config
        self.state = state
        auditTrail = AuditTrail(capacity: config.auditCapacity)
        rng = SplitMix64(seed: seed)
        serviceControlPolicies = config.serviceControlPolicies.map { list in
            list.compactMap { scp in
                (try? PolicyDocument(parsing: scp.document, kind: .serviceControl)).map {
                    PolicySource(id: scp.name, type: .serviceControlPolicy, document: $0)
                }
            }
        }
    }

    // MARK: Start-up and recovery

    /// On a node's very first start, creates the bootstrap administrator. Returns the effects to
    /// perform (nothing once bootstrapped).
    public func bootstrapIfNeeded(now: Double) -> [Effect] {
        clock = now
        guard !state.bootstrapped else { return [] }
        let admin = config.admin
        if state.users[admin.userName] == nil {
            emit(.userCreated(IAMUser(name: admin.userName, path: "/", userID: newID(prefix: "AIDA", length: 17), createDate: now,
                                      tags: [], policies: ["AdministratorAccess": NodeConfig.administratorAccess], accessKeys: [])))
            emit(.accessKeyCreated(user: admin.userName, key: AccessKey(id: admin.accessKeyID, secret: admin.secretAccessKey, status: "Active", createDate: now)))
        }
        emit(.bootstrapped)
        return takeEffects()
    }

    /// Applies a logged event during recovery (no effects).
    public func replay(_ event: StateEvent) {
        state.apply(event)
        policyCache.removeAll()
        callerCache.removeAll()
    }

    /// Restores the audit events read back from the audit file, oldest first.
    public func restoreAudit(_ events: [AuditEvent]) {
        for e in events { auditTrail.append(e, restored: true) }
    }

    // MARK: Authentication

    /// The secret of an active access key and the ARN of its holder, for the handshake.
    public func credentials(forAccessKey id: String) -> (secret: String, principalARN: String)? {
        guard let (user, key) = state.userOwning(accessKey: id), key.status == "Active" else { return nil }
        return (key.secret, userARN(user))
    }

    /// What signs requests over HTTP: an active key's secret, or a role session's secret and the
    /// session token its requests must carry (expired sessions included: the call then says so).
    public func signingCredentials(forAccessKey id: String) -> (secret: String, sessionToken: String?)? {
        if let s = state.roleSessions[id], state.roles[s.roleName] != nil { return (s.secret, s.sessionToken) }
        return credentials(forAccessKey: id).map { ($0.secret, nil) }
    }

    // MARK: Requests

    /// Handlers throw `AWSError`; the type says `throws` only because the compiler cannot yet store
    /// typed-throws function references in a dictionary.
    typealias Handler = (AccountNodeCore, Call) throws -> Reply

    /// Every operation the node serves, by method name. Built once and never changed, so sharing
    /// it across threads is safe.
    nonisolated(unsafe) static let handlers: [String: Handler] = {
        var h: [String: Handler] = [:]
        IAMHandlers.register(&h)
        STSHandlers.register(&h)
        S3Handlers.register(&h)
        GlueHandlers.register(&h)
        CleanRoomsMLHandlers.register(&h)
        AudienceModelHandlers.register(&h)
        AudienceJobHandlers.register(&h)
        CollaborationHandlers.register(&h)
        MembershipHandlers.register(&h)
        AudienceModelAssociations.register(&h)
        SharedAssociations.register(&h)
        CloudTrailHandlers.register(&h)
        return h
    }()

    /// The method names this node serves.
    public static var methods: [String] { handlers.keys.sorted() }

    /// Handles one client request and returns what the shell must do, ending with the reply.
    public func handle(_ request: ClientRequest) -> [Effect] {
        clock = request.now
        guard let handler = AccountNodeCore.handlers[request.method], let dot = request.method.utf8.firstIndex(of: UInt8(ascii: ".")) else {
            pending.append(.reply(request.token, .error(AWSError(AWSErrorCode("UnknownOperationException", 404),
                                                                 "Method not found: \(request.method) is not an operation this node serves"),
                                                        protocolCode: -32601)))
            return takeEffects()
        }
        let service = String(request.method[..<dot]), operation = String(request.method[request.method.utf8.index(after: dot)...])
        if let session = state.roleSessions[request.accessKeyID], session.expiration <= request.now {
            let code = AccountNodeCore.shortErrorNames.contains(service) ? AWSErrorCode("ExpiredToken", 400) : AWSErrorCode("ExpiredTokenException", 400)
            pending.append(.reply(request.token, .error(AWSError(code, "The security token included in the request is expired"))))
            return takeEffects()
        }
        guard let caller = resolveCaller(accessKeyID: request.accessKeyID) else {
            pending.append(.reply(request.token, .error(AWSError(.unrecognizedClient, "The security token included in the request is invalid: access key \(request.accessKeyID) is not active"))))
            return takeEffects()
        }
        let call = Call(token: request.token, caller: caller, params: request.params, now: request.now, sourceIP: request.sourceIP,
                        service: service, operation: operation, accessKeyID: request.accessKeyID)
        requestServices[request.token] = service
        let reply: Reply
        if let refusal = storageRefusal(service: service), !AccountNodeCore.isReadOnly(operation: operation) {
            reply = .error(refusal)
        } else { do {
            if let model = ServiceModel.named(service), model.operations[operation] != nil {
                try model.validateInput(operation: operation, request.params)
            }
            reply = try handler(self, call)
        } catch {
            let error = error as? AWSError ?? AWSError(.internalService, "\(error)")
            // Handlers check everything before they emit, so a failed call has emitted nothing.
            // Should one ever fail after emitting, its events stay queued: the log must match the
            // state, which already holds them.
            assert(pendingEvents.isEmpty, "\(request.method) emitted events and then failed")
            pending.removeAll { if case .writeBlob = $0 { return pendingEvents.isEmpty } else { return false } }
            reply = .error(error)
        } }
        if call.deferred, case .result = reply { return takeEffects() }  // answered when the other account's node has
        recordAudit(call, reply)
        pending.append(.reply(request.token, reply))
        return takeEffects()
    }

    /// Answers a call that waited for another account's node (and records it for audit then).
    func finish(_ call: Call, _ reply: Reply) {
        recordAudit(call, reply)
        pending.append(.reply(call.token, reply))
    }

    /// Queues a message for another account's node, sent once the step's events are durable,
    /// with a timer for its time-out.
    func send(_ message: PeerMessage) {
        afterPersist.append(.sendPeer(message))
        if message.expectsAnswer { afterPersist.append(.setTimer(.messageTimeout(message.token), at: clock + message.timeout)) }
    }

    /// Asks for `timerFired(id)` at `at`, once the step's events are durable.
    func setTimer(_ id: TimerID, at: Double) { afterPersist.append(.setTimer(id, at: at)) }

    /// A failpoint before the step's events are logged (`beforeLog`) or before what follows
    /// them (messages, work).
    func failpoint(_ f: Failpoint, beforeLog: Bool) {
        if beforeLog { pending.append(.failpoint(f)) } else { afterPersist.append(.failpoint(f)) }
    }

    /// Says (with the answer that follows) that this node has durably applied `account`'s
    /// delete of job `jobID`.
    func acknowledgePeerDelete(account: String, jobID: String) { afterPersist.append(.peerDeleteAcknowledged(account: account, jobID: jobID)) }

    /// Answers a request from another account's node.
    func answerPeer(_ token: RequestToken, _ reply: Reply) { pending.append(.reply(token, reply)) }

    // MARK: Helpers for handlers

    /// Applies an event to the state and queues it for the log.
    func emit(_ event: StateEvent) {
        state.apply(event)
        pendingEvents.append(event)
        if event.changesUsers { callerCache.removeAll(keepingCapacity: true) }
        switch event {
        case .userPolicyPut(let u, _, _), .userPolicyDeleted(let u, _), .userDeleted(let u): policyCache["user/\(u)"] = nil
        case .rolePolicyPut(let r, _, _), .rolePolicyDeleted(let r, _), .roleDeleted(let r): policyCache["role/\(r)"] = nil
        default: break
        }
    }

    /// Queues bytes to store before the request's events are logged.
    func writeBlob(_ id: String, _ bytes: [UInt8]) { pending.append(.writeBlob(id: id, bytes: bytes)) }

    /// Queues a blob's removal for after the request's events are durable.
    func deleteBlob(_ id: String) { afterPersist.append(.deleteBlob(id: id)) }

    /// Queues work to start once the request's events are durable.
    func startWork(_ work: Work) { afterPersist.append(.startWork(work)) }

    func cancelWork(_ id: String) { afterPersist.append(.cancelWork(id: id)) }

    func deleteFile(_ file: WorkFile) { afterPersist.append(.deleteFile(file)) }

    /// Effects of something that is not a request (work reports, recovery): no reply, no audit.
    func effectsOfInternalStep() -> [Effect] { takeEffects() }

    /// The step's effects: blobs and failpoints, then its commit, then through the gate what
    /// follows it: messages, timers, work; then the replies and their audit records; then
    /// removals (after the replies that might still read them). Work cancellations go at once
    /// (and take back a start of the same work still held).
    private func takeEffects() -> [Effect] {
        replicateStatus(pendingEvents, now: clock)
        var out: [Effect] = []
        var replies: [Effect] = []
        for e in pending {
            switch e {
            case .reply, .audit: replies.append(e)
            default: out.append(e)
            }
        }
        if !pendingEvents.isEmpty { out.append(.persist(commit: gate.submit(), events: pendingEvents)) }
        var removals: [Effect] = []
        for e in afterPersist {
            switch e {
            case .cancelWork(let id):
                gate.dropHeldWork(id)
                out.append(e)
            case .deleteBlob, .deleteFile: removals.append(e)
            default: gate.pass(e, into: &out)
            }
        }
        for e in replies {
            switch e {
            case .audit(let event):
                // Recorded (and found by LookupEvents) once what the call did is durable.
                if gate.pass(e, into: &out) { auditTrail.append(event) }
            case .reply(let token, _):
                if gate.pass(e, into: &out) { requestServices[token] = nil }
            default: gate.pass(e, into: &out)
            }
        }
        for e in removals { gate.pass(e, into: &out) }
        pending.removeAll()
        pendingEvents.removeAll()
        afterPersist.removeAll()
        return out
    }

    /// The shell made commit `commit` durable (and every one before it): what waited for it.
    public func committed(_ commit: UInt64, now: Double) -> [Effect] {
        clock = now
        let released = gate.durable(through: commit)
        for e in released {
            switch e {
            case .reply(let token, _): requestServices[token] = nil
            case .audit(let event): auditTrail.append(event)
            default: break
            }
        }
        return released
    }

    // MARK: Identity

    func userARN(_ u: IAMUser) -> String { "arn:\(config.partition):iam::\(config.account):user\(u.path)\(u.name)" }
    func roleARN(_ r: IAMRole) -> String { "arn:\(config.partition):iam::\(config.account):role\(r.path)\(r.name)" }

    func resolveCaller(accessKeyID: String) -> Caller? {
        if let cached = callerCache[accessKeyID] { return cached }
        if let session = state.roleSessions[accessKeyID] {
            guard let role = state.roles[session.roleName] else { return nil }
            let principal = Principal(kind: .assumedRole, account: config.account,
                                      arn: "arn:\(config.partition):sts::\(config.account):assumed-role/\(role.name)/\(session.sessionName)",
                                      name: session.sessionName, userID: "\(role.roleID):\(session.sessionName)", roleARN: roleARN(role))
            let tags = Dictionary(role.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            let caller = Caller(principal: principal, userName: role.name, tags: tags, policies: identityPolicies(role: role),
                                context: callerContext(principal, tags: tags))
            callerCache[accessKeyID] = caller
            return caller
        }
        guard let (user, key) = state.userOwning(accessKey: accessKeyID), key.status == "Active" else { return nil }
        let principal = Principal(kind: .user, account: config.account, arn: userARN(user), name: user.name, userID: user.userID)
        let tags = Dictionary(user.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        let caller = Caller(principal: principal, userName: user.name, tags: tags, policies: identityPolicies(user: user),
                            context: callerContext(principal, tags: tags))
        callerCache[accessKeyID] = caller
        return caller
    }

    func identityPolicies(user: IAMUser) -> [PolicySource] {
        let key = "user/\(user.name)"
        if let cached = policyCache[key] { return cached }
        let compiled = compile(user.policies, type: .user)
        policyCache[key] = compiled
        return compiled
    }

    func identityPolicies(role: IAMRole) -> [PolicySource] {
        let key = "role/\(role.name)"
        if let cached = policyCache[key] { return cached }
        let compiled = compile(role.policies, type: .role)
        policyCache[key] = compiled
        return compiled
    }

    private func compile(_ policies: [String: String], type: PolicySourceType) -> [PolicySource] {
        policies.sorted { $0.key < $1.key }.compactMap { name, text in
            (try? PolicyDocument(parsing: text, kind: .identity)).map { PolicySource(id: name, type: type, document: $0) }
        }
    }

    // MARK: IDs

    /// An id of `length` characters after `prefix`, from IAM's alphabet (upper-case letters and 2-7).
    func newID(prefix: String, length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        return prefix + String((0..<length).map { _ in alphabet[Int(rng.next() % 32)] })
    }

    /// A random (version 4) UUID in lower case.
    func newUUID() -> String {
        let hi = rng.next() & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let lo = rng.next() & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        // 8-4-4-4-12 hex digits: the high word's 16 digits, then the low word's, dashes between.
        return String(unsafeUninitializedCapacity: 36) { out in
            var p = 0
            for word in [hi, lo] {
                for n in 0..<16 {
                    if p == 8 || p == 13 || p == 18 || p == 23 { out[p] = UInt8(ascii: "-"); p += 1 }
                    let d = UInt8(truncatingIfNeeded: word >> (60 - 4 * UInt64(n)) & 0xF)
                    out[p] = d < 10 ? 0x30 + d : 0x61 + d - 10
                    p += 1
                }
            }
            return p
        }
    }

    /// A random secret of `length` characters from base64's alphabet (IAM secret keys).
    func newSecret(length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        return String((0..<length).map { _ in alphabet[Int(rng.next() % 64)] })
    }

    // MARK: Audit

    static let eventSources: [String: String] = [
        "iam": "iam.amazonaws.com", "sts": "sts.amazonaws.com", "s3": "s3.amazonaws.com", "glue": "glue.amazonaws.com",
        "cleanroomsml": "cleanrooms-ml.amazonaws.com", "cleanrooms": "cleanrooms.amazonaws.com", "cloudtrail": "cloudtrail.amazonaws.com",
    ]

    static let readOnlyPrefixes = ["Get", "List", "Head", "Describe", "Lookup", "Simulate"]

    /// The service part of a method name (`iam`) whose audit records carry `source`.
    static func service(ofEventSource source: String) -> String {
        eventSources.first { $0.value == source }?.key ?? "cleanroomsml"
    }

    private func recordAudit(_ call: Call, _ reply: Reply) {
        let readOnly = AccountNodeCore.isReadOnly(operation: call.operation)
        var errorCode: String?, errorMessage: String?
        if case .error(let e, _) = reply {
            errorCode = e.code.name
            errorMessage = e.message
        }
        let p = call.caller.principal
        let event = AuditEvent(eventID: newUUID(), eventName: call.operation,
                               eventSource: AccountNodeCore.eventSources[call.service] ?? "\(call.service).amazonaws.com",
                               eventTime: call.now, readOnly: readOnly, accessKeyID: call.accessKeyID, username: call.caller.userName,
                               resources: call.auditResources,
                               identity: .init(principalID: p.userID ?? "", arn: p.arn, accountID: config.account.rawValue, userName: call.caller.userName,
                                               type: AuditEvent.Identity.type(of: p.kind.rawValue)),
                               region: config.region, sourceIP: call.sourceIP, requestParameters: AuditRedaction.redact(call.params),
                               errorCode: errorCode, errorMessage: errorMessage)
        pending.append(.audit(event))
    }
}

/// The caller of a request, resolved from its access key.
struct Caller {
    let principal: Principal
    let userName: String
    let tags: [String: String]
    let policies: [PolicySource]
    /// The context keys all its requests share (see `requestContext`).
    let context: RequestContext
}

/// One request while it is being handled (a class: handlers add audit resources to it).
final class Call {
    let token: RequestToken
    let caller: Caller
    let params: JSON
    let now: Double
    let sourceIP: String
    let service: String
    let operation: String
    let accessKeyID: String
    /// Resources the audit record names (handlers add them).
    var auditResources: [AuditEvent.Resource] = []
    /// Set by a handler that waits for another account's node: the answer comes later.
    var deferred = false

    init(token: RequestToken, caller: Caller, params: JSON, now: Double, sourceIP: String, service: String, operation: String, accessKeyID: String) {
        self.token = token
        self.caller = caller
        self.params = params
        self.now = now
        self.sourceIP = sourceIP
        self.service = service
        self.operation = operation
        self.accessKeyID = accessKeyID
    }

    func auditResource(_ type: String, _ name: String) {
        auditResources.append(AuditEvent.Resource(type: type, name: name))
    }
}
