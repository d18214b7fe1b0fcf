#if canImport(Glibc)
import Glibc
#endif
import HTTP
import AccountNode
import AWSProtocols
import CleanRoomsModel
import Dispatch
import Foundation
import JSON
import StorageFormat
import Synchronization
import Wire

/// The I/O shell of one account node: it recovers the node's state from disk, serves it over
/// TCP, and performs the effects the pure `AccountNodeCore` returns.
///
/// Guarantees:
/// - Durability: a reply is sent only after every log record that any earlier request produced
///   is durable (fdatasync), so an answer never depends on something a crash could take back,
///   and a reader never sees a write that might vanish. Writes are group-committed.
/// - Recovery: snapshot, then the log's intact records in order; a torn tail is cut off;
///   blobs that no record names are removed.
/// - One thread runs the loop (sockets, timers, the core); one more writes to disk.
public final class AccountNodeRuntime: NodeServerDelegate, HTTPListenerDelegate, @unchecked Sendable {
    private var signalSources: [DispatchSourceSignal] = []
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port: UInt16 = 0
        /// Where AWS SDKs and aws-cli reach the account (0: any free port); nil: no HTTP front.
        public var httpPort: UInt16? = nil
        /// Whether a node whose port another process holds listens on a new one (the launcher,
        /// which reads back the port the node reports) instead of failing (fixed ports in a
        /// cluster file written by hand, where peers would not find a moved node).
        public var movePortIfTaken = false
        /// A request that has begun must arrive whole within this (else 408 and the connection
        /// closes); a connection idle this long is closed.
        public var httpRequestTimeout = 20.0
        public var httpIdleTimeout = 120.0
        public var dataDir: String
        public var maxLineLength = 4 * 1024 * 1024
        /// A snapshot (which restarts the log) is taken once the log since the last one holds as
        /// many bytes as that snapshot, and at least this many; so a restart replays no more log
        /// than it loads state, and a snapshot's cost is spread over as many bytes of commits.
        public var snapshotMinimumBytes = 4 * 1024 * 1024
        /// A snapshot is also taken when the last one is this old and commits came since (a
        /// trickle of writes does not leave a long log either).
        public var snapshotMaximumAge = 600.0
        /// A link to another account's node with nothing sent or received for this long is
        /// closed (the next message opens a new one).
        public var peerIdleTimeout = 60.0
        public var handshakeTimeout = 10.0
        /// Node secrets of the cluster's other accounts, for authenticating their nodes.
        public var peerSecrets: [String: [UInt8]] = [:]
        /// This node's own secret, for authenticating to the other nodes.
        public var nodeSecret: [UInt8] = []
        /// Where another account's node listens, looked up when a link to it opens (so a node
        /// that moved, or started after this one, is found).
        public var peerEndpoint: @Sendable (String) -> (host: String, port: UInt16)? = { _ in nil }
        /// The seed of the core's random choices (ids, jitter); drawn at start when nil. The
        /// node logs it, so a run's choices can be told.
        public var seed: UInt64? = nil
        /// Faults injected on purpose (fault-injection tests); none by default.
        public var faults = Faults()
        /// Stop when this process is gone (checked every second): test harnesses use it so a
        /// node never outlives the test that started it.
        public var exitWithPID: Int32? = nil

        public init(dataDir: String) { self.dataDir = dataDir }
    }

    /// What recovery found, for the log and for tests.
    public struct Recovery: Sendable {
        public var snapshotLSN: UInt64
        public var replayedRecords: Int
        /// The log's torn tail, cut off.
        public var tornTail: WriteAheadLog.TornTail?
        /// Temporary files a crash left, removed.
        public var leftoversRemoved: Int
        public var orphanBlobs: Int
        /// Blobs the state names that are not on disk (reads of them answer an error).
        public var missingBlobs: [String]
        public var auditEvents: Int
        /// Seconds spent reading the data directory: the state (snapshot and log), and the audit
        /// trail (at the same time, on another thread).
        public var stateSeconds = 0.0
        public var auditSeconds = 0.0

        public var truncatedBytes: Int { tornTail?.length ?? 0 }

        /// One line for the node's log.
        public var summary: String {
            var s = "recovered (snapshot LSN \(snapshotLSN), \(replayedRecords) log records replayed, \(truncatedBytes) torn bytes cut"
            if let t = tornTail { s += " at byte \(t.offset) of \(t.path): \(t.reason)" }
            s += ", \(leftoversRemoved) temporary files and \(orphanBlobs) orphan blobs removed, \(auditEvents) audit events"
            s += String(format: "; state %.3f s, audit %.3f s)", stateSeconds, auditSeconds)
            if !missingBlobs.isEmpty {
                s += "; WARNING: \(missingBlobs.count) blobs the state needs are missing (\(missingBlobs.prefix(5).joined(separator: ", "))\(missingBlobs.count > 5 ? ", …" : "")): reads of them will fail"
            }
            return s
        }
    }

    /// The state a node recovers to (`RecoveryCheck.state`).
    static func recoverState(_ found: DataDirectory.Inspection) throws -> NodeState { try RecoveryCheck.state(found.found) }

    public let config: NodeConfig
    /// The seed the core's random choices come from.
    public let seed: UInt64
    public var storageAvailable: Bool { storageOutage == nil }
    public let options: Options
    public let loop = EventLoop()
    public private(set) var port: UInt16 = 0
    /// The HTTP front's port, when it has one.
    public private(set) var httpPort: UInt16?
    public private(set) var recovery: Recovery
    let core: AccountNodeCore
    private let pipeline: CommitPipeline
    private let blobs: BlobStore
    private var server: NodeServer!
    private var http: HTTPListener?
    private let lockFD: Int32
    private let started = Date()

    /// Why the disk takes no writes (a commit failed); nil while it does. Until a probe finds it
    /// writable again the core serves reads only (`StorageOutage`).
    private var storageOutage: String?
    /// Where an answer goes: a JSON-RPC connection and request id, or an HTTP connection and
    /// the call it answers (whose protocol writes the answer).
    private enum ReplyRoute {
        case rpc(conn: UInt64, id: RPCID)
        case http(conn: UInt64, call: AWSCall, requestID: String)
    }

    /// Where each request's answer goes, by the core's token.
    private var routes: [RequestToken: ReplyRoute] = [:]
    private var nextToken: UInt64 = 0
    private var peers: PeerLinks!
    private var shaper: LinkShaper!
    /// What the checker reads with `admin.Dump` besides the state: peer messages sent and
    /// received (the newest 100,000), messages sent per method, runs started per job.
    private var trace: PeerTrace
    /// How many times each job's run started (the checker's one-run invariant reads it).
    private var runsStarted: [String: Int] = [:]
    private var runsStartedLimit = 100_000
    private var work: WorkRunner!
    private var bytesSinceSnapshot = 0
    /// The size of the last snapshot (loaded or written), and when the log last restarted.
    private var lastSnapshotBytes = 0
    private var lastSnapshotTime = EventLoop.now()
    private var auditLinesWritten = 0
    /// Audit lines not yet handed to the writer: they go in batches (every 256 lines or 20 ms)
    /// so reads do not wake the writer thread one by one.
    private var auditBuffer: [AuditEvent] = []
    private var auditFlushScheduled = false

    public var accountID: String { config.account.rawValue }
    public var region: String { config.region }

    /// Recovers the node from `options.dataDir` and starts listening (the loop is not running
    /// yet: call `run`).
    public init(config: NodeConfig, options: Options) throws {
        self.config = config
        self.options = options
        try FileIO.makeDirectory(options.dataDir)
        lockFD = try FileIO.lockExclusively(options.dataDir + "/LOCK")

        // Everything is read and checked before anything on disk changes: a directory recovery
        // refuses is left exactly as it was found.
        let dataDir = DataDirectory(options.dataDir)
        // The audit trail loads on a thread of its own while the state recovers.
        let audit = try AuditLog(dataDir: options.dataDir, capacity: config.auditCapacity)
        let auditLoad = BackgroundResult { () throws -> (events: [AuditEvent], lines: Int, seconds: Double) in
            let t = EventLoop.now()
            let (events, lines) = try audit.load()
            return (events, lines, EventLoop.now() - t)
        }
        let t0 = EventLoop.now()
        let found = try dataDir.inspect(account: config.account.rawValue)
        var g = SystemRandomNumberGenerator()
        seed = options.seed ?? g.next()
        core = AccountNodeCore(config: config, state: try AccountNodeRuntime.recoverState(found), seed: seed)
        let wal = try dataDir.open(found, account: config.account.rawValue)
        trace = PeerTrace(path: options.dataDir + "/peer-trace.jsonl", capacity: 100_000)
        let t1 = EventLoop.now()
        let (auditEvents, auditLines, auditSeconds) = try auditLoad.value()
        auditLinesWritten = auditLines  // so a file left large by the last run is compacted too
        core.restoreAudit(auditEvents)
        // Reading back left freed buffers (the file's tail, parse trees) in the heap: give
        // those pages back, so a restarted node holds what it keeps, not what it read.
        FileIO.returnFreedMemory()
        blobs = try BlobStore(dataDir: options.dataDir)
        let orphans = blobs.orphans(referenced: core.state.referencedBlobs)
        for o in orphans { blobs.delete(o) }
        recovery = Recovery(snapshotLSN: found.snapshot?.lsn ?? 0, replayedRecords: found.log.records.count,
                            tornTail: found.log.tornTail, leftoversRemoved: found.leftovers.count, orphanBlobs: orphans.count,
                            missingBlobs: blobs.missing(referenced: core.state.referencedBlobs), auditEvents: auditEvents.count,
                            stateSeconds: t1 - t0, auditSeconds: auditSeconds)
        var st = stat()
        if stat(SnapshotStore.path(options.dataDir), &st) == 0 { lastSnapshotBytes = Int(st.st_size) }
        // The log replayed counts toward the next snapshot.
        bytesSinceSnapshot = found.log.records.reduce(0) { $0 + $1.payload.count }

        pipeline = CommitPipeline(wal: wal, blobs: blobs, audit: audit, dataDir: options.dataDir)
        pipeline.start()
        let loop = self.loop
        let faults = options.faults
        work = try WorkRunner(dataDir: options.dataDir, blobs: blobs, minimumDuration: { faults.workDelay.withLock { $0 } }) { [weak self] report in
            guard let node = self else { return }
            loop.post { node.workReport(report) }
        }
        let files = core.referencedWorkFiles
        recovery.orphanBlobs += work.removeOrphans(models: files.models, audiences: files.audiences)
        work.start()

        // First start: the bootstrap administrator, durable before anyone can connect.
        let boot = core.bootstrapIfNeeded(now: Date().timeIntervalSince1970)
        if !boot.isEmpty {
            let done = DispatchSemaphore(value: 0)
            let outcome = Mutex<Result<UInt64, FileError>?>(nil)
            for case .persist(let commit, let events) in boot {
                pipeline.submit(.commit(blobs: [], records: [try AccountNodeRuntime.encode(events)], done: { r in outcome.withLock { $0 = r }; done.signal() }))
                done.wait()
                if case .failure(let e) = outcome.withLock({ $0 }) { throw e }
                _ = core.committed(commit, now: Date().timeIntervalSince1970)
            }
        }

        let options = self.options, account = config.account.rawValue
        server = try AccountNodeRuntime.listening(on: options.port, what: "JSON-RPC", account: account, move: options.movePortIfTaken) { port in
            try NodeServer(host: options.host, port: port, loop: loop, maxLineLength: options.maxLineLength, handshakeTimeout: options.handshakeTimeout)
        }
        port = server.port
        server.delegate = self
        loop.register(server)
        if let httpPort = options.httpPort {
            let listener = try AccountNodeRuntime.listening(on: httpPort, what: "HTTP", account: account, move: options.movePortIfTaken) { port in
                try HTTPListener(host: options.host, port: port, loop: loop, requestTimeout: options.httpRequestTimeout, idleTimeout: options.httpIdleTimeout,
                                 maxConnections: max(16, Socket.fileLimit() - NodeServer.descriptorReserve))
            }
            listener.delegate = self
            loop.register(listener)
            http = listener
            self.httpPort = listener.port
            // One budget of descriptors for both listeners' connections.
            let server = self.server!
            listener.otherConnections = { [unowned server] in server.connections.count }
            server.otherConnections = { [unowned listener] in listener.connections.count }
        }
        shaper = LinkShaper(loop: loop, faults: options.faults)
        peers = PeerLinks(loop: loop, account: config.account.rawValue, secret: options.nodeSecret, maxLineLength: options.maxLineLength, idleTimeout: options.peerIdleTimeout,
                          endpoint: options.peerEndpoint)
        peers.onOutcome = { [unowned self] token, outcome in
            self.perform(self.core.peerAnswered(token, outcome, now: Date().timeIntervalSince1970))
        }
        peers.onConnected = { [unowned self] account in
            self.perform(self.core.peerConnected(account, now: Date().timeIntervalSince1970))
        }
    }

    /// Listens on `port` (a restart asks for the port it had); if another process has taken it
    /// meanwhile, on a new one, said in the log: the launcher records whatever port the node
    /// reports ready on, and peers look ports up when they connect.
    static func listening<T>(on port: UInt16, what: String, account: String, move: Bool, _ make: (UInt16) throws -> T) throws -> T {
        do { return try make(port) } catch let e as SocketError where e.code == EADDRINUSE && port != 0 && move {
            Log.write("crml-node \(account): the \(what) port \(port) is taken by another process; listening on a new one")
            return try make(0)
        }
    }

    static func encode(_ events: [StateEvent]) throws -> [UInt8] {
        JSONWriter.bytes(try JSON(encoding: events))
    }

    /// Runs the event loop on the calling thread until `stop`.
    public func run() {
        if let watched = options.exitWithPID { watch(watched) }
        // Work that was pending or running when the node last stopped starts again.
        perform(core.resumeAfterRecovery(now: Date().timeIntervalSince1970))
        flushTracePeriodically()
        loop.run()
        peers.closeAll()
        flushAudit()
        server.stop()
        http?.stop()
        pipeline.drainAndStop()
        close(lockFD)
    }

    /// Stops the node (safe from any thread); `run` returns once pending writes are durable.
    public func stop() { loop.stop() }

    /// Makes SIGTERM and SIGINT call `stop`. The handlers run on a Dispatch queue; they are set
    /// up here, in a library, because a closure written in a program's top-level code is bound
    /// to the main actor and traps when a queue thread calls it.
    public func stopOnTerminationSignals() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.stop() }
            source.resume()
            signalSources.append(source)
        }
    }

    /// The peer trace goes to its file at least every second (the checker's diagrams read it).
    private func flushTracePeriodically() {
        loop.after(1) { [weak self] in
            guard let self else { return }
            self.trace.flush()
            self.flushTracePeriodically()
        }
    }

    private func watch(_ pid: Int32) {
        loop.after(1) { [weak self] in
            guard let self else { return }
            if kill(pid, 0) != 0 { self.stop() } else { self.watch(pid) }
        }
    }

    // MARK: NodeServerDelegate

    func credentials(forAccessKey id: String) -> (secret: String, principalARN: String)? {
        core.credentials(forAccessKey: id)
    }

    func signingCredentials(forAccessKey id: String) -> (secret: String, sessionToken: String?)? {
        core.signingCredentials(forAccessKey: id)
    }

    func peerSecret(account: String) -> [UInt8]? { options.peerSecrets[account] }

    func handleClientRequest(_ conn: Connection, id: RPCID, method: String, params: JSON, accessKeyID: String) {
        if method.hasPrefix("admin.") {
            handleAdmin(conn, id: id, method: method, params: params, accessKeyID: accessKeyID)
            return
        }
        let request = ClientRequest(token: route(conn, id), method: method, params: params, accessKeyID: accessKeyID,
                                    sourceIP: conn.peerAddress, now: Date().timeIntervalSince1970)
        perform(core.handle(request))
    }

    func handlePeerRequest(_ conn: Connection, id: RPCID, method: String, params: JSON, account: String) {
        if method == "peer.Ping" {
            deliver(.result(["account": .string(accountID), "peer": .string(account)]), conn: conn.id, id: id)
            return
        }
        trace.record(.inbound, peer: account, method: method, jobID: params["jobID"]?.stringValue)
        perform(core.handlePeer(PeerRequest(token: route(conn, id), from: account, method: method, params: params, now: Date().timeIntervalSince1970)))
    }

    /// A token for a request whose answer goes to `id` on `conn`.
    private func route(_ conn: Connection, _ id: RPCID) -> RequestToken {
        nextToken += 1
        let token = RequestToken(nextToken)
        routes[token] = .rpc(conn: conn.id, id: id)
        return token
    }

    // MARK: Effects

    private func workReport(_ report: WorkRunner.Report) {
        let now = Date().timeIntervalSince1970
        switch report {
        case .started(let id):
            if core.state.audienceGenerationJobs[id] != nil {
                runsStarted[id, default: 0] += 1
                // A record for the checker (admin.Dump); past 100,000 ids those of jobs gone
                // are dropped, so it grows with the jobs that exist, not with every job ever run.
                if runsStarted.count > runsStartedLimit {
                    runsStarted = runsStarted.filter { core.state.audienceGenerationJobs[$0.key] != nil }
                    runsStartedLimit = max(100_000, runsStarted.count * 2)  // filtered again only after as many more
                }
            }
            perform(core.workStarted(id, now: now))
        case .finished(let result): perform(core.workFinished(result, now: now))
        case .storageFailed(let reason):
            // The work's output could not be written: like a commit that failed. The work runs
            // again once the disk takes writes (its resource is still in progress on disk). The
            // pipeline stops first, so the log is quiet when the node reads it back.
            let error = FileError("write a work output (\(reason))", "", ENOSPC)
            pipeline.submit(.enterFailure(error, done: { [weak self] in
                guard let node = self else { return }
                node.loop.post { node.storageFailed("\(error.operation): \(error.reason)") }
            }))
        }
    }

    /// Performs the core's effects in order, as they come: the core's gate has already held
    /// back what must wait for durability. Blobs go with the commit that follows them.
    private func perform(_ effects: [Effect]) {
        var blobsForCommit: [(id: String, bytes: [UInt8])] = []
        var audit: [AuditEvent] = []
        for e in effects {
            switch e {
            case .writeBlob(let blob, let bytes): blobsForCommit.append((blob, bytes))
            case .persist(let commit, let events):
                submit(commit, blobs: blobsForCommit, events: events)
                blobsForCommit.removeAll()
            case .deleteBlob(let blob): blobs.delete(blob)
            case .deleteFile(let file): work.delete(file)
            case .startWork(let w): work.submit(w)
            case .cancelWork(let id): work.cancel(id)
            case .sendPeer(let m): sendPeer(m)
            case .setTimer(let timer, var at):
                // An injected fault (admin.SetDeleteDelay) may hold deletes in their delete state.
                if timer.finishesADelete { at += options.faults.deleteDelay }
                loop.after(max(0, at - Date().timeIntervalSince1970)) { [weak self] in
                    guard let self else { return }
                    self.perform(self.core.timerFired(timer, now: Date().timeIntervalSince1970))
                }
            case .failpoint(let f): options.faults.pass(f.rawValue)
            case .peerDeleteAcknowledged(let account, let jobID):
                trace.record(.acknowledged, peer: account, method: PeerTrace.deleteMethod, jobID: jobID)
            case .audit(let event): audit.append(event)
            case .reply(let token, let reply):
                switch routes.removeValue(forKey: token) {
                case .rpc(let conn, let id): deliver(reply, conn: conn, id: id)
                case .http(let conn, let call, let requestID): deliverHTTP(reply, conn: conn, call: call, requestID: requestID)
                case nil: continue
                }
            }
        }
        if !audit.isEmpty {
            auditBuffer += audit
            auditLinesWritten += audit.count
            if auditBuffer.count >= 256 {
                flushAudit()
            } else if !auditFlushScheduled {
                auditFlushScheduled = true
                loop.after(0.02) { [weak self] in self?.flushAudit() }
            }
        }
        maintainStorage()
    }

    /// Hands a commit to the pipeline; the core hears when it is durable (or failed).
    private func submit(_ commit: UInt64, blobs newBlobs: [(id: String, bytes: [UInt8])], events: [StateEvent]) {
        let record: [UInt8]
        do { record = try AccountNodeRuntime.encode(events) } catch {
            Log.write("fatal: a commit's events cannot be encoded (\(error)); stopping the node")
            exit(70)
        }
        bytesSinceSnapshot += record.count
        pipeline.submit(.commit(blobs: newBlobs, records: [record], done: { [weak self] outcome in
            guard let node = self else { return }
            node.loop.post {
                switch outcome {
                case .success: node.perform(node.core.committed(commit, now: Date().timeIntervalSince1970))
                case .failure(let error): node.commitFailed(commit, error)
                }
            }
        }))
    }

    private func flushAudit() {
        trace.flush()
        auditFlushScheduled = false
        guard !auditBuffer.isEmpty else { return }
        pipeline.submit(.audit(auditBuffer))
        auditBuffer.removeAll(keepingCapacity: true)
    }

    /// A commit could not be made durable (a full disk); neither will any after it be. The
    /// outage begins with the first such commit; the later ones are answered with it.
    private func commitFailed(_ commit: UInt64, _ error: FileError) {
        guard storageOutage == nil else { return }
        Log.write("crml-node \(accountID): commit \(commit) failed: \(error)")
        storageFailed("\(error.operation): \(error.reason)")
    }

    /// The node goes back to what its disk holds, serving reads, until a probe finds the disk
    /// writable again: work is cancelled, the state is read back from disk (recovery's read-only
    /// pass), and the core answers every open request with the storage refusal.
    private func storageFailed(_ error: String) {
        guard storageOutage == nil else { return }
        storageOutage = error
        Log.write("crml-node \(accountID): storage failed (\(error)); writes are refused and reads served until the disk takes writes again")
        work.cancelAll()
        do {
            let found = try DataDirectory(options.dataDir).inspect(account: accountID)
            perform(core.storageFailed(durableState: try AccountNodeRuntime.recoverState(found), reason: "\(error)"))
            for o in blobs.orphans(referenced: core.state.referencedBlobs) { blobs.delete(o) }
        } catch {
            Log.write("fatal: after a storage failure the data directory cannot be read back (\(error)); stopping the node")
            exit(70)
        }
        probeStorage()
    }

    /// Asks the pipeline, every second, whether the disk takes writes again; when it does,
    /// the node resumes as after a start.
    private func probeStorage() {
        loop.after(1) { [weak self] in
            guard let self else { return }
            self.pipeline.submit(.probe(done: { [weak self] outcome in
                guard let node = self else { return }
                node.loop.post {
                    guard case .success = outcome else { node.probeStorage(); return }
                    node.storageOutage = nil
                    Log.write("crml-node \(node.accountID): the disk takes writes again; resuming")
                    node.perform(node.core.storageRecovered(now: Date().timeIntervalSince1970))
                }
            }))
        }
    }

    /// Sends a message to another account's node, with the bytes of the blobs it carries read
    /// from the blob store (what goes is the core's to say: `paramsWithAttachments`).
    private func sendPeer(_ m: PeerMessage) {
        var parts: [[UInt8]] = []
        for b in m.attachBlobs {
            guard let bytes = try? blobs.read(b) else {
                peers.report([(m.token, .refused(PeerMessage.attachmentGone))])
                return
            }
            parts.append(bytes)
        }
        let params: JSON
        switch m.paramsWithAttachments(parts) {
        case .success(let p): params = p
        case .failure(let refusal):
            peers.report([(m.token, .refused(refusal))])
            return
        }
        let token = m.expectsAnswer ? m.token : nil
        trace.record(.outbound, peer: m.account, method: m.method, jobID: m.params["jobID"]?.stringValue)
        shaper.transmit(to: m.account,
                        send: { [peers] in peers.send(to: m.account, method: m.method, params: params, token: token, timeout: m.timeout) },
                        again: { [peers] in peers.send(to: m.account, method: m.method, params: params, token: nil, timeout: m.timeout) },
                        lost: { [peers] in peers.send(to: m.account, method: m.method, params: params, token: token, timeout: m.timeout, lost: true) })
    }

    private func deliver(_ reply: Reply, conn connID: UInt64, id: RPCID) {
        guard let conn = server.connection(connID) else { return }
        let message: RPCMessage
        switch reply {
        case .result(let r):
            message = .result(id: id, result: r)
        case .resultWithBody(var r, let blob):
            do {
                r["Body"] = .string(Base64.encode(try blobs.read(blob)))
                message = .result(id: id, result: r)
            } catch {
                // The error names the blob, never a path on this host.
                Log.write("crml-node \(accountID): ERROR: blob \(blob) is unreadable: \(error)")
                message = .error(id: id, error: RPCError(AWSError(.s3InternalError,
                    "The object's stored bytes (blob \(blob)) are missing or unreadable on this account's node: its data directory is damaged")))
            }
        case .error(let e, let protocolCode):
            var err = RPCError(e)
            if let protocolCode { err.code = protocolCode }
            message = .error(id: id, error: err)
        }
        guard case .peer(let account) = conn.auth else {
            conn.send(message)
            conn.requestAnswered(loop)
            return
        }
        // An answer to another node travels through the link faults set for that node.
        conn.requestAnswered(loop)
        let write: () -> Void = { [weak self] in
            guard let self, let conn = self.server.connection(connID) else { return }
            conn.send(message)
            conn.flush(self.loop)
        }
        shaper.transmit(to: account, send: write, again: write, lost: {})
    }

    // MARK: HTTP front

    func handleHTTPCall(_ conn: HTTPConnection, call: AWSCall, accessKeyID: String, requestID: String) {
        nextToken += 1
        let token = RequestToken(nextToken)
        routes[token] = .http(conn: conn.id, call: call, requestID: requestID)
        let request = ClientRequest(token: token, method: call.method, params: call.params, accessKeyID: accessKeyID,
                                    sourceIP: conn.peerAddress, now: Date().timeIntervalSince1970)
        perform(core.handle(request))
    }

    /// The core's answer, written in the protocol of the service the client called.
    private func deliverHTTP(_ reply: Reply, conn connID: UInt64, call: AWSCall, requestID: String) {
        guard let http, let conn = http.connection(connID) else { return }
        let service = call.service
        let response: HTTPResponse
        switch reply {
        case .result(let r):
            response = service.response(to: call, result: r, requestID: requestID)
        case .resultWithBody(let r, let blob):
            do {
                response = service.response(to: call, result: r, body: try blobs.read(blob), requestID: requestID)
            } catch {
                Log.write("crml-node \(accountID): ERROR: blob \(blob) is unreadable: \(error)")
                response = service.errorResponse(AWSWireError("InternalError", "The object's stored bytes (blob \(blob)) are missing or unreadable on this account's node: its data directory is damaged", status: 500),
                                                 requestID: requestID, isHead: call.isHead)
            }
        case .error(let e, _):
            // JSON-RPC's own faults carry their HTTP status too (an unknown operation: 404).
            response = service.errorResponse(AWSWireError(e.code.name, e.message, status: e.code.httpStatus), requestID: requestID, isHead: call.isHead)
        }
        conn.respond(response, loop: loop)
    }

    private func maintainStorage() {
        if bytesSinceSnapshot >= max(options.snapshotMinimumBytes, lastSnapshotBytes)
            || (bytesSinceSnapshot > 0 && EventLoop.now() - lastSnapshotTime >= options.snapshotMaximumAge) {
            snapshot(reply: nil)
        }
        if auditLinesWritten > config.auditCapacity * 4 {
            flushAudit()
            let kept = core.auditTrail.oldestFirst
            pipeline.submit(.compactAudit(kept))
            auditLinesWritten = kept.count
        }
    }

    /// Writes a snapshot of the current state and restarts the log after it.
    private func snapshot(reply: (conn: UInt64, id: RPCID)?) {
        bytesSinceSnapshot = 0
        lastSnapshotTime = EventLoop.now()
        guard let state = try? JSONWriter.bytes(JSON(encoding: core.state)) else { return }
        lastSnapshotBytes = state.count
        pipeline.submit(.snapshot(state: state, done: { [weak self] outcome in
            guard let node = self, let reply else { return }
            node.loop.post {
                switch outcome {
                case .success(let lsn): node.deliver(.result(["snapshotLSN": .number(Double(lsn))]), conn: reply.conn, id: reply.id)
                case .failure(let error):
                    node.deliver(.error(AWSError(.internalFailure, "The snapshot was not written (\(error.operation): \(error.reason)); the log still holds everything")),
                                 conn: reply.conn, id: reply.id)
                }
            }
        }))
    }

    // MARK: Admin

    private func handleAdmin(_ conn: Connection, id: RPCID, method: String, params: JSON, accessKeyID: String) {
        guard let who = core.credentials(forAccessKey: accessKeyID)?.principalARN,
              who == "arn:\(config.partition):iam::\(config.account):user/\(config.admin.userName)" else {
            deliver(.error(AWSError(.accessDenied, "admin.* methods are for the account's bootstrap administrator (\(config.admin.userName)) only")), conn: conn.id, id: id)
            return
        }
        if method.hasPrefix("admin.") && ["SetLinkFault", "HealLinks", "ArmFailpoint", "DisarmFailpoint", "SetWorkDelay", "SetDeleteDelay", "ListFaults"].contains(String(method.dropFirst(6))) {
            switch options.faults.handle(method, params) {
            case .success(let r):
                if method == "admin.SetWorkDelay" { work.releaseHeld() }
                deliver(.result(r), conn: conn.id, id: id)
            case .failure(let error): deliver(.error(error), conn: conn.id, id: id)
            }
            return
        }
        switch method {
        case "admin.Ping":
            deliver(.result(["account": .string(accountID), "pid": .int(Int(getpid())), "uptimeSeconds": .number(Date().timeIntervalSince(started))]), conn: conn.id, id: id)
        case "admin.Status":
            let s = core.state
            deliver(.result([
                "account": .string(accountID), "region": .string(config.region), "port": .int(Int(port)), "pid": .int(Int(getpid())),
                "connections": .int(server.connections.count), "users": .int(s.users.count), "roles": .int(s.roles.count),
                "buckets": .int(s.buckets.count), "trainingDatasets": .int(s.trainingDatasets.count),
                "audienceGenerationJobs": .int(s.audienceGenerationJobs.count), "tombstones": .int(s.tombstones.count),
                "outbox": .int(s.outbox.count), "startIntents": .int(s.startIntents.count),
                "peersConnected": .array(peers.connectedAccounts.map { .string($0) }),
                "commitsSubmitted": .number(Double(core.gate.submitted)), "commitsDurable": .number(Double(core.gate.durable)),
                "storage": .compactObject(["writable": .bool(storageOutage == nil), "failure": storageOutage.map { .string($0) }]),
                "recovery": ["snapshotLSN": .number(Double(recovery.snapshotLSN)), "replayedRecords": .int(recovery.replayedRecords),
                             "truncatedBytes": .int(recovery.truncatedBytes), "orphanBlobs": .int(recovery.orphanBlobs),
                             "leftoversRemoved": .int(recovery.leftoversRemoved), "auditEvents": .int(recovery.auditEvents),
                             "stateSeconds": .number(recovery.stateSeconds), "auditSeconds": .number(recovery.auditSeconds),
                             "missingBlobs": .array(recovery.missingBlobs.map { .string($0) })],
            ]), conn: conn.id, id: id)
        case "admin.Snapshot":
            snapshot(reply: (conn.id, id))
        case "admin.Dump":
            trace.flush()
            var d = core.dump()
            d["wallClock"] = .number(Date().timeIntervalSince1970)
            d["audienceFiles"] = .array(FileIO.list(work.audiencesDir).filter { $0.hasSuffix(".csv") }.map { .string(String($0.dropLast(4))) }.sorted { $0.stringValue! < $1.stringValue! })
            d["blobs"] = .array(blobs.orphans(referenced: []).sorted().map { .string($0) })
            d["runsStarted"] = .object(runsStarted.mapValues { .int($0) })
            d["peerMessages"] = trace.json
            d["peerMessagesSent"] = .object(trace.sentByMethod.mapValues { .int($0) })
            deliver(.result(d), conn: conn.id, id: id)
        default:
            deliver(.error(AWSError(AWSErrorCode("UnknownOperationException", 404), "Method not found: \(method)"), protocolCode: -32601), conn: conn.id, id: id)
        }
    }
}
