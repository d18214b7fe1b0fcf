#if canImport(Glibc)
import Glibc
#endif
import Digest
import JSON
import Wire

/// A reusable byte buffer owned by one event loop.
final class ScratchBuffer {
    var bytes: [UInt8]
    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }
}

/// What the server asks of the node behind it.
protocol NodeServerDelegate: AnyObject {
    var accountID: String { get }
    /// The secret and principal ARN of an active access key.
    func credentials(forAccessKey id: String) -> (secret: String, principalARN: String)?
    /// The node secret of another account's node, for peer authentication.
    func peerSecret(account: String) -> [UInt8]?
    func handleClientRequest(_ conn: Connection, id: RPCID, method: String, params: JSON, accessKeyID: String)
    func handlePeerRequest(_ conn: Connection, id: RPCID, method: String, params: JSON, account: String)
}

/// The node's listening socket and its connections: accepts, authenticates (the challenge–
/// response of `Handshake`), and passes authenticated requests to the node.
///
/// Guarantees: nothing but `auth.Authenticate` is served before authentication (other requests
/// get `UnrecognizedClientException`); a wrong signature or unknown key ends the connection
/// after the error is sent; a connection that has not authenticated within the handshake
/// timeout is closed; one bad connection never affects another. At its connection limit (the
/// descriptor limit less a reserve for the node's own files), or when the process runs out of
/// descriptors all the same, a new connection is taken and closed at once with a
/// `ThrottlingException` line: the node goes on serving the ones it has, and never spins on a
/// listening socket it cannot accept from.
final class NodeServer: EventHandler {
    let fd: Int32
    let port: UInt16
    let loop: EventLoop
    let maxLineLength: Int
    let handshakeTimeout: Double
    /// Open connections beyond this are refused.
    let maxConnections: Int
    weak var delegate: NodeServerDelegate?
    private(set) var connections: [UInt64: Connection] = [:]
    /// Connections the node's other listener holds: both share one budget of descriptors.
    var otherConnections: () -> Int = { 0 }
    /// One read buffer for all connections: the loop reads one socket at a time.
    let readBuffer = ScratchBuffer(size: 65536)
    private var nextID: UInt64 = 0
    private let acceptGuard = AcceptGuard()
    private(set) var refusedConnections = 0
    private var lastRefusalLog = -Double.infinity

    /// Descriptors kept for the node's own files (log, blobs, snapshots) and its peer links.
    static let descriptorReserve = 64

    init(host: String, port: UInt16, loop: EventLoop, maxLineLength: Int, handshakeTimeout: Double, maxConnections: Int? = nil) throws {
        (fd, self.port) = try Socket.listen(host: host, port: port)
        self.loop = loop
        self.maxLineLength = maxLineLength
        self.handshakeTimeout = handshakeTimeout
        self.maxConnections = maxConnections ?? max(16, Socket.fileLimit() - NodeServer.descriptorReserve)
    }

    var wantsRead: Bool { !acceptGuard.paused }
    var wantsWrite: Bool { false }

    func writable(_ loop: EventLoop) {}

    func readable(_ loop: EventLoop) {
        acceptGuard.acceptWaiting(listener: fd, handler: self, loop: loop, open: { connections.count + otherConnections() }, limit: maxConnections,
                                  refuse: refuse, take: admit)
    }

    /// A new connection: the node's challenge, and a deadline for the answer.
    private func admit(_ cfd: Int32, _ peer: String) {
        nextID += 1
        let nonce = Handshake.nonce()
        let conn = Connection(id: nextID, fd: cfd, peerAddress: peer, nonce: nonce, maxLineLength: maxLineLength)
        conn.server = self
        connections[conn.id] = conn
        loop.register(conn)
        conn.send(Handshake.challenge(account: delegate?.accountID ?? "", nonce: nonce))
        conn.flush(loop)
        loop.after(handshakeTimeout) { [weak conn] in
            guard let conn, !conn.closed, case .awaiting = conn.auth else { return }
            conn.send(.error(id: nil, error: .unauthenticated("No authentication within \(Int(self.handshakeTimeout)) s; the connection is closed")))
            conn.closeAfterFlush()
            conn.flush(self.loop)
        }
    }

    /// Tells a connection why it is refused (if its socket takes the line now) and closes it.
    private func refuse(_ cfd: Int32, _ why: String) {
        let line = RPCMessage.error(id: nil, error: RPCError(code: 429, message: "Too many connections: \(why); try again later",
                                                              type: "ThrottlingException", httpStatus: 429)).line
        _ = line.withUnsafeBytes { try? Socket.write(cfd, $0) }
        Socket.close(cfd)
        refusedConnections += 1
        let now = EventLoop.now()
        if now - lastRefusalLog > 10 {
            lastRefusalLog = now
            Log.write("crml-node \(delegate?.accountID ?? ""): refusing new connections: \(why) (\(refusedConnections) refused so far)")
        }
    }

    func connection(_ id: UInt64) -> Connection? { connections[id] }

    func connectionClosed(_ conn: Connection) { connections[conn.id] = nil }

    func stop() {
        loop.unregister(fd)
        Socket.close(fd)
        for c in connections.values { c.close(loop) }
    }

    func handleLine(_ line: [UInt8], from conn: Connection) {
        let message: RPCMessage
        switch RPCMessage.parse(line) {
        case .success(let m): message = m
        case .failure(let e):
            conn.send(.error(id: e.id, error: e.error))
            return
        }
        guard case .request(let id, let method, let params) = message else { return }  // notifications and stray replies
        switch conn.auth {
        case .awaiting(let nonce):
            if method == Handshake.authenticateMethod {
                authenticate(conn, id: id, params: params, serverNonce: nonce)
            } else {
                conn.unauthenticatedRequests += 1
                conn.send(.error(id: id, error: .unauthenticated("Authenticate first: call \(Handshake.authenticateMethod) with an access key before \(method)")))
                if conn.unauthenticatedRequests >= 16 { conn.closeAfterFlush() }
            }
        case .client(let key):
            if method == Handshake.authenticateMethod {
                conn.send(.error(id: id, error: .invalidRequest("this connection is already authenticated")))
            } else {
                conn.requestStarted()
                delegate?.handleClientRequest(conn, id: id, method: method, params: params, accessKeyID: key)
            }
        case .peer(let account):
            conn.requestStarted()
            delegate?.handlePeerRequest(conn, id: id, method: method, params: params, account: account)
        }
    }

    private func authenticate(_ conn: Connection, id: RPCID, params: JSON, serverNonce: String) {
        guard let delegate else { return }
        guard let (identity, clientNonce, signature) = Handshake.parseAuthenticate(params) else {
            conn.send(.error(id: id, error: .invalidParams("auth.Authenticate takes accessKeyId (or peerAccount), clientNonce (16 to 128 characters) and signature (64 hex digits)")))
            return
        }
        let secret: [UInt8]
        let principal: String
        switch identity {
        case .accessKey(let key):
            guard let c = delegate.credentials(forAccessKey: key) else {
                refuse(conn, id, RPCError.unauthenticated("The security token included in the request is invalid: access key \(key) is not an active key of account \(delegate.accountID)"))
                return
            }
            secret = Array(c.secret.utf8)
            principal = c.principalARN
        case .peer(let account):
            guard let s = delegate.peerSecret(account: account) else {
                refuse(conn, id, RPCError.unauthenticated("Account \(account) is not a node of this cluster"))
                return
            }
            secret = s
            principal = "arn:aws:iam::\(account):root"
        }
        let expected = Handshake.clientSignature(secret: secret, serverAccount: delegate.accountID, serverNonce: serverNonce, clientNonce: clientNonce, identity: identity)
        guard Handshake.verify(signature, expected: expected) else {
            refuse(conn, id, RPCError(code: 403, message: "The request signature we calculated does not match the signature you provided. Check your secret access key.",
                                      type: "InvalidSignatureException", httpStatus: 403))
            return
        }
        switch identity {
        case .accessKey(let key): conn.auth = .client(accessKeyID: key)
        case .peer(let account): conn.auth = .peer(account: account)
        }
        let proof = Handshake.serverSignature(secret: secret, serverAccount: delegate.accountID, serverNonce: serverNonce, clientNonce: clientNonce, identity: identity)
        conn.send(.result(id: id, result: ["account": .string(delegate.accountID), "arn": .string(principal), "serverSignature": .string(proof)]))
    }

    private func refuse(_ conn: Connection, _ id: RPCID, _ error: RPCError) {
        conn.send(.error(id: id, error: error))
        conn.closeAfterFlush()
    }
}
