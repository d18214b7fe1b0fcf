#if canImport(Glibc)
import Glibc
#endif
import AccountNode
import Foundation
import CleanRoomsModel
import JSON
import Wire

/// This node's outgoing links to the other accounts' nodes, one per account, opened when there
/// is something to send, reopened after a failure, and closed once idle for `idleTimeout`
/// seconds (nothing waiting, sent or received): a node of a hundred accounts keeps open only
/// the links in use.
///
/// Guarantees: every message that expects an answer gets exactly one outcome: its answer, the
/// error it was refused with, or `.unreachable` (no endpoint, connect or authentication failed,
/// link lost, or no answer within its time-out). Outcomes are never reported from inside `send`
/// (always from the loop), so the node never re-enters itself. A message that times out closes
/// the link (it may be stuck); the next message opens a new one. The link authenticates with
/// the handshake of `Handshake` as this node's account, keyed by this node's secret, and checks
/// the other node's proof before anything is sent.
final class PeerLinks {
    typealias Endpoint = (host: String, port: UInt16)

    let loop: EventLoop
    let account: String
    let secret: [UInt8]
    let maxLineLength: Int
    let endpoint: (String) -> Endpoint?
    /// The outcome of a message sent with an answer expected.
    var onOutcome: (MessageToken, PeerOutcome) -> Void = { _, _ in }
    /// A link has authenticated (a first connection or a reconnection).
    var onConnected: (String) -> Void = { _ in }
    let readBuffer = ScratchBuffer(size: 65536)
    let idleTimeout: Double
    private var links: [String: PeerLink] = [:]
    private var sweepScheduled = false

    init(loop: EventLoop, account: String, secret: [UInt8], maxLineLength: Int, idleTimeout: Double = 60, endpoint: @escaping (String) -> Endpoint?) {
        self.loop = loop
        self.account = account
        self.secret = secret
        self.maxLineLength = maxLineLength
        self.idleTimeout = idleTimeout
        self.endpoint = endpoint
    }

    /// Closes the links idle for `idleTimeout`; runs while any link is open (an idle node with
    /// no links sets no timer).
    private func scheduleSweep() {
        guard !sweepScheduled else { return }
        sweepScheduled = true
        loop.after(max(0.05, idleTimeout / 4)) { [weak self] in
            guard let self else { return }
            self.sweepScheduled = false
            let now = EventLoop.now()
            var open = false
            for link in self.links.values where !link.isClosed {
                if link.isQuiet && now - link.lastUsed >= self.idleTimeout { link.closeIdle() } else { open = true }
            }
            if open { self.scheduleSweep() }
        }
    }

    /// Sends `method(params)` to `to`'s node; `token` (if any) names the outcome. A `lost`
    /// message (an injected fault) is not written: its sender sees a time-out.
    func send(to: String, method: String, params: JSON, token: MessageToken?, timeout: Double, lost: Bool = false) {
        let link: PeerLink
        if let l = links[to] { link = l } else {
            link = PeerLink(account: to, owner: self)
            links[to] = link
        }
        link.submit(method: method, params: params, token: token, timeout: timeout, lost: lost)
        scheduleSweep()
    }

    /// Reports outcomes from the loop, never from inside a call into this object.
    func report(_ outcomes: [(MessageToken, PeerOutcome)]) {
        guard !outcomes.isEmpty else { return }
        loop.after(0) { [weak self] in
            guard let self else { return }
            for (token, outcome) in outcomes { self.onOutcome(token, outcome) }
        }
    }

    var connectedAccounts: [String] { links.values.filter(\.isReady).map(\.account).sorted() }

    func closeAll() { for l in links.values { l.fail("node stopping") } }
}

/// One outgoing connection to another account's node.
final class PeerLink: EventHandler {
    private enum State {
        case idle
        /// Looking the peer's host name up on a thread of its own (a lookup blocks).
        case resolving
        case connecting
        case awaitingChallenge
        case authenticating(serverNonce: String, clientNonce: String)
        case ready
    }

    let account: String
    unowned let owner: PeerLinks
    private(set) var fd: Int32 = -1
    private var state = State.idle
    private var framer: LineFramer
    private var output = OutputBuffer()
    /// Lines waiting for the link to be ready.
    private var queued: [[UInt8]] = []
    /// Requests sent or queued that expect an answer: their token and time-out timer.
    private var inflight: [Int: (token: MessageToken, timer: UInt64)] = [:]
    private var nextID = 0
    /// Bumped on every new connection, so timers of an old one do nothing.
    private var generation = 0
    /// When something was last sent or received on the link.
    private(set) var lastUsed = EventLoop.now()
    private static let authID = RPCID.string("auth")

    init(account: String, owner: PeerLinks) {
        self.account = account
        self.owner = owner
        framer = LineFramer(maxLineLength: owner.maxLineLength)
    }

    var isReady: Bool { if case .ready = state { return true } else { return false } }
    /// Neither connected nor on the way (a new message reopens it).
    var isClosed: Bool { if case .idle = state { return true } else { return false } }
    /// Nothing waiting for an answer, to be sent, or to be written.
    var isQuiet: Bool { inflight.isEmpty && queued.isEmpty && output.isEmpty && isReady }

    /// Closes a quiet link (nothing fails: nothing was waiting on it); the next message opens a
    /// new one.
    func closeIdle() {
        guard isQuiet else { return }
        fail("idle for \(owner.idleTimeout) s")
    }

    var wantsWrite: Bool {
        if case .connecting = state { return true }
        return !output.isEmpty
    }

    func submit(method: String, params: JSON, token: MessageToken?, timeout: Double, lost: Bool) {
        lastUsed = EventLoop.now()
        nextID += 1
        let id = nextID
        if !lost, !isReady, case .idle = state {
            connect()
            // Could not even start connecting: this message is unreachable now, not in 5 s.
            if case .idle = state {
                if let token { owner.report([(token, .unreachable("cannot connect to account \(account)'s node"))]) }
                return
            }
        }
        if let token {
            // The connection this message goes out on: its time-out closes that one, not a later one.
            let gen = generation
            let timer = owner.loop.after(timeout) { [weak self] in
                guard let self, let entry = self.inflight.removeValue(forKey: id) else { return }
                self.owner.report([(entry.token, .unreachable("no answer from account \(self.account)'s node within \(timeout) s"))])
                if self.generation == gen { self.fail("a request timed out") }
            }
            inflight[id] = (token, timer)
        }
        if lost { return }
        let line = RPCMessage.request(id: .number(id), method: method, params: params).line
        if isReady {
            output.append(line)
            flush()
        } else {
            queued.append(line)
        }
    }

    private func connect() {
        guard let (host, port) = owner.endpoint(account), port != 0 else {
            fail("no endpoint is known for account \(account) (is its node up?)")
            return
        }
        generation += 1
        let gen = generation
        if Socket.isNumeric(host) {
            open(host, port, name: host)
        } else {
            // Host names (a StatefulSet's pods, other machines) are looked up off the loop, which
            // must never wait on a resolver.
            state = .resolving
            let loop = owner.loop
            let link = UnsafeTransfer(self)
            Thread.detachNewThread {
                let address: Result<String, SocketError>
                do throws(SocketError) { address = .success(try Socket.resolve(host)) } catch { address = .failure(error) }
                loop.post {
                    let me = link.value
                    guard me.generation == gen, case .resolving = me.state else { return }
                    switch address {
                    case .success(let a): me.open(a, port, name: host)
                    case .failure(let e): me.fail("cannot look up \(host): \(e)")
                    }
                }
            }
        }
        // Looking up, connecting and authenticating get the same bound as a request.
        owner.loop.after(10) { [weak self] in
            guard let self, self.generation == gen, !self.isReady else { return }
            if case .idle = self.state { return }
            self.fail("could not connect to and authenticate with account \(self.account)'s node within 10 s")
        }
    }

    private func open(_ address: String, _ port: UInt16, name: String) {
        do {
            let (fd, connected) = try Socket.startConnect(host: address, port: port)
            self.fd = fd
            framer = LineFramer(maxLineLength: owner.maxLineLength)
            state = connected ? .awaitingChallenge : .connecting
            owner.loop.register(self)
        } catch {
            fail("cannot connect to \(name):\(port): \(error)")
        }
    }

    func writable(_ loop: EventLoop) {
        if case .connecting = state {
            let err = Socket.connectError(fd)
            guard err == 0 else {
                fail("connect: \(String(cString: strerror(err)))")
                return
            }
            state = .awaitingChallenge
        }
        flush()
    }

    func readable(_ loop: EventLoop) {
        if case .connecting = state {
            writable(loop)
            if case .idle = state { return }
        }
        // What a line sets off may close this connection and open another: lines read from the
        // old one are then dropped, never handled in the new one's state.
        let gen = generation
        for _ in 0..<16 where fd >= 0 && generation == gen {
            let r: Socket.ReadResult
            do { r = try owner.readBuffer.bytes.withUnsafeMutableBytes { try Socket.read(fd, into: $0) } } catch {
                fail("read: \(error)")
                return
            }
            switch r {
            case .wouldBlock: return
            case .closed:
                fail("account \(account)'s node closed the connection")
                return
            case .bytes(let n):
                lastUsed = EventLoop.now()
                for event in framer.feed(owner.readBuffer.bytes[0..<n]) {
                    guard fd >= 0, generation == gen else { return }
                    switch event {
                    case .line(let line): handle(line)
                    case .tooLong(let limit):
                        fail("account \(account)'s node sent a line over \(limit) bytes")
                        return
                    }
                }
            }
        }
    }

    private func handle(_ line: [UInt8]) {
        guard case .success(let message) = RPCMessage.parse(line) else { return }
        switch (state, message) {
        case (.awaitingChallenge, .notification(let method, let params)) where method == Handshake.challengeMethod:
            guard params["account"]?.stringValue == account, let nonce = params["nonce"]?.stringValue else {
                fail("the node at account \(account)'s endpoint is not account \(account)'s node")
                return
            }
            let clientNonce = Handshake.nonce()
            let identity = Handshake.Identity.peer(account: owner.account)
            let signature = Handshake.clientSignature(secret: owner.secret, serverAccount: account, serverNonce: nonce, clientNonce: clientNonce, identity: identity)
            state = .authenticating(serverNonce: nonce, clientNonce: clientNonce)
            output.append(RPCMessage.request(id: PeerLink.authID, method: Handshake.authenticateMethod,
                                         params: Handshake.authenticateParams(identity: identity, clientNonce: clientNonce, signature: signature)).line)
            flush()
        case (.authenticating(let serverNonce, let clientNonce), .result(let id, let r)) where id == PeerLink.authID:
            let expected = Handshake.serverSignature(secret: owner.secret, serverAccount: account, serverNonce: serverNonce, clientNonce: clientNonce,
                                                     identity: .peer(account: owner.account))
            guard let proof = r["serverSignature"]?.stringValue, Handshake.verify(proof, expected: expected) else {
                fail("account \(account)'s node could not prove it holds the cluster's secret")
                return
            }
            state = .ready
            for l in queued { output.append(l) }
            queued.removeAll()
            flush()
            owner.onConnected(account)
        case (.authenticating, .error(_, let e)):
            fail("account \(account)'s node refused this node: \(e)")
        case (.ready, .result(.number(let n), let r)):
            guard let entry = inflight.removeValue(forKey: n) else { return }
            owner.loop.cancel(entry.timer)
            owner.onOutcome(entry.token, .answered(r))
        case (.ready, .error(.some(.number(let n)), let e)):
            guard let entry = inflight.removeValue(forKey: n) else { return }
            owner.loop.cancel(entry.timer)
            owner.onOutcome(entry.token, .refused(AWSError(AWSErrorCode(e.type, e.httpStatus), e.message)))
        default:
            break  // notifications and anything out of turn
        }
    }

    private func flush() {
        guard fd >= 0 else { return }
        if case .connecting = state { return }
        do { try output.write(to: fd) } catch { fail("write: \(error)"); return }
        owner.loop.update(self)
    }

    /// Closes the link and fails everything waiting on it (reported from the loop).
    func fail(_ reason: String) {
        if fd >= 0 {
            owner.loop.unregister(fd)
            Socket.close(fd)
            fd = -1
        }
        state = .idle
        output.removeAll()
        queued.removeAll()
        let failed = inflight.sorted { $0.key < $1.key }.map { ($0.value.token, PeerOutcome.unreachable(reason)) }
        for entry in inflight.values { owner.loop.cancel(entry.timer) }
        inflight.removeAll()
        owner.report(failed)
    }
}
