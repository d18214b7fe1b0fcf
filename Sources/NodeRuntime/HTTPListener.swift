#if canImport(Glibc)
import Glibc
#endif
import AWSProtocols
import Foundation
import HTTP
import SigV4
import JSON
import Randomness
import Wire

/// What the HTTP front asks of the node behind it.
protocol HTTPListenerDelegate: AnyObject {
    var accountID: String { get }
    /// The account's region: requests must be signed for it (IAM and STS excepted).
    var region: String { get }
    /// A key's secret, and the session token its requests must carry (a role session's).
    func signingCredentials(forAccessKey id: String) -> (secret: String, sessionToken: String?)?
    /// Runs a call the front has authenticated and read; the node answers with `respond`.
    func handleHTTPCall(_ conn: HTTPConnection, call: AWSCall, accessKeyID: String, requestID: String)
}

/// The node's HTTP/1.1 endpoint, where AWS SDKs and aws-cli reach the account: it accepts
/// connections on the node's event loop and hands each request to `HTTPFront`.
///
/// Guarantees: requests on one connection are answered in order, one at a time (pipelined ones
/// wait their turn, so the node's fairness is per request, as on the JSON-RPC port); a
/// connection that stalls mid-request for `requestTimeout` gets 408 and is closed, one idle for
/// `idleTimeout` is closed; at its connection limit a new connection gets 503 and is closed.
final class HTTPListener: EventHandler {
    let fd: Int32
    let port: UInt16
    let loop: EventLoop
    let limits: HTTPRequestParser.Limits
    let requestTimeout: Double
    let idleTimeout: Double
    /// How long a request may be with the node before its connection is answered 503 and closed
    /// (the node answers far sooner; this only bounds a connection the node forgot).
    let busyTimeout = 120.0
    let maxConnections: Int
    weak var delegate: HTTPListenerDelegate?
    private(set) var connections: [UInt64: HTTPConnection] = [:]
    let readBuffer = ScratchBuffer(size: 65536)
    private var nextID: UInt64 = 0
    private var sweeping = false
    /// Signing keys already derived (one HMAC per request instead of five).
    private let signingKeys = SigV4.SigningKeyCache()
    /// Request ids: a generator seeded once (ids need to be unique, not secret).
    private var ids = RequestIDs()

    init(host: String, port: UInt16, loop: EventLoop, limits: HTTPRequestParser.Limits = .init(), requestTimeout: Double = 20, idleTimeout: Double = 120,
         maxConnections: Int) throws {
        (fd, self.port) = try Socket.listen(host: host, port: port)
        self.loop = loop
        self.limits = limits
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    private let acceptGuard = AcceptGuard()
    /// Connections the node's JSON-RPC listener holds: both share one budget of descriptors.
    var otherConnections: () -> Int = { 0 }

    var wantsRead: Bool { !acceptGuard.paused }
    var wantsWrite: Bool { false }
    func writable(_ loop: EventLoop) {}
    func runReady(_ loop: EventLoop) {}

    func readable(_ loop: EventLoop) {
        acceptGuard.acceptWaiting(listener: fd, handler: self, loop: loop, open: { connections.count + otherConnections() }, limit: maxConnections,
                                  refuse: refuse) { cfd, peer in
            nextID += 1
            let conn = HTTPConnection(id: nextID, fd: cfd, peerAddress: peer, limits: limits, now: EventLoop.now())
            conn.listener = self
            connections[conn.id] = conn
            loop.register(conn)
            sweepLater()
        }
    }

    /// Answers 503 on a connection the node cannot keep, and closes it.
    private func refuse(_ cfd: Int32, _ why: String) {
        var r = ProtocolService.errorResponse(AWSWireError("ServiceUnavailable", "Too many connections: \(why); try again later", status: 503),
                                              wire: .restJSON, requestID: HTTPListener.requestID())
        r.headers.append(("Connection", "close"))
        _ = r.bytes.withUnsafeBytes { try? Socket.write(cfd, $0) }
        Socket.close(cfd)
    }

    /// Closes connections that stalled or idled past their timeout, once a second while any are open.
    private func sweepLater() {
        guard !sweeping else { return }
        sweeping = true
        loop.after(1) { [weak self] in
            guard let self else { return }
            self.sweeping = false
            let now = EventLoop.now()
            for c in self.connections.values {
                c.checkTimeouts(now: now, request: self.requestTimeout, idle: self.idleTimeout, busy: self.busyTimeout, loop: self.loop)
            }
            if !self.connections.isEmpty { self.sweepLater() }
        }
    }

    func connection(_ id: UInt64) -> HTTPConnection? { connections[id] }

    func connectionClosed(_ conn: HTTPConnection) { connections[conn.id] = nil }

    func stop() {
        loop.unregister(fd)
        Socket.close(fd)
        for c in connections.values { c.close(loop) }
    }

    /// One request, read and authenticated by the front; refusals are answered here.
    func handle(_ request: HTTPRequest, from conn: HTTPConnection) {
        let requestID = ids.next()
        guard let delegate else { return }
        switch HTTPFront.accept(request, now: Date().timeIntervalSince1970, requestID: requestID, region: delegate.region, keys: signingKeys,
                                 credentials: { delegate.signingCredentials(forAccessKey: $0) }) {
        case .reject(let response): conn.respond(response, loop: loop)
        case .call(let call, let key): delegate.handleHTTPCall(conn, call: call, accessKeyID: key, requestID: requestID)
        }
    }

    /// A request id for an answer given before any request is read (a framing error).
    static func requestID() -> String {
        var ids = RequestIDs()
        return ids.next()
    }
}

/// Request ids in the form AWS uses (UUID-shaped), from a SplitMix64 stream seeded once.
struct RequestIDs {
    private var random: SplitMix64 = { var g = SystemRandomNumberGenerator(); return SplitMix64(seed: g.next()) }()
    private static let hex = Array("0123456789abcdef".utf8)

    mutating func next() -> String {
        var out = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var i = 0
        for _ in 0..<2 {
            var z = random.next()
            for _ in 0..<16 {
                if i == 8 || i == 13 || i == 18 || i == 23 { i += 1 }
                out[i] = RequestIDs.hex[Int(z & 15)]
                z >>= 4
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One HTTP connection, owned by the event loop thread.
///
/// Guarantees: one request at a time is with the node; nothing more is read while a whole
/// request waits behind it, or while 8 MiB of answers are unsent (backpressure: a client's
/// memory on the node is at most two requests); a request must arrive whole within
/// the request timeout of its first byte; a connection is idle only with nothing to read, send
/// or answer.
final class HTTPConnection: EventHandler {
    let id: UInt64
    let fd: Int32
    let peerAddress: String
    weak var listener: HTTPListener?
    private var parser: HTTPRequestParser
    private var waiting: [HTTPRequestParser.Event] = []
    private var output = OutputBuffer()
    /// A request is with the node (since `busySince`); the next waits until it is answered.
    private(set) var busy = false
    private var busySince = 0.0
    private var keepAlive = true
    /// Closing: a refusal is being sent and nothing more is read.
    var closing: Bool { closingSince != nil }
    private(set) var closed = false
    private var peerClosed = false
    /// When the request being read began (its first byte); nil between requests.
    private var requestBegan: Double?
    /// The last byte read or written.
    private var lastProgress: Double
    /// When the connection began closing (a refusal being sent): it is closed by force later.
    private var closingSince: Double?

    static let backpressureLimit = 8 * 1024 * 1024

    init(id: UInt64, fd: Int32, peerAddress: String, limits: HTTPRequestParser.Limits, now: Double) {
        self.id = id
        self.fd = fd
        self.peerAddress = peerAddress
        parser = HTTPRequestParser(limits: limits)
        lastProgress = now
    }

    /// Reading stops once a whole request waits behind the one with the node (so a client's
    /// memory here is at most two requests), and while answers are unsent; reading on while the
    /// node works spares the loop two epoll changes per request.
    var wantsRead: Bool { !closing && !peerClosed && waiting.isEmpty && output.pending < HTTPConnection.backpressureLimit }
    var wantsWrite: Bool { !output.isEmpty }

    func readable(_ loop: EventLoop) {
        guard let scratch = listener?.readBuffer, !closed else { return }
        let r: Socket.ReadResult
        do { r = try scratch.bytes.withUnsafeMutableBytes { try Socket.read(fd, into: $0) } } catch {
            close(loop)
            return
        }
        switch r {
        case .wouldBlock: break
        case .closed:
            peerClosed = true
            closeIfDone(loop)
        case .bytes(let n):
            let now = EventLoop.now()
            lastProgress = now
            waiting += parser.feed(scratch.bytes[0..<n])
            if parser.isIdle { requestBegan = nil } else if requestBegan == nil { requestBegan = now }
        }
        if !busy && !waiting.isEmpty { loop.markReady(self) }
        loop.update(self)
    }

    /// Takes the next request (or the cue to say `100 Continue`, or a framing error).
    func runReady(_ loop: EventLoop) {
        guard !closed, !closing, !busy, !waiting.isEmpty, output.pending < HTTPConnection.backpressureLimit else { return }
        let event = waiting.removeFirst()
        switch event {
        case .expectContinue:
            output.append(HTTPResponse.continueLine)
            if !waiting.isEmpty { loop.markReady(self) }
        case .request(let request):
            busy = true
            busySince = EventLoop.now()
            // The next request's clock starts now if some of it is already here.
            requestBegan = parser.isIdle ? nil : busySince
            keepAlive = request.keepAlive
            listener?.handle(request, from: self)
        case .error(let e):
            refuse(AWSWireError(HTTPConnection.errorCode(e.status), e.message, status: e.status))
        }
        flush(loop)
    }

    /// Sends one refusal and closes once it is sent (or, if the client does not read it, soon after).
    private func refuse(_ error: AWSWireError) {
        var response = ProtocolService.errorResponse(error, wire: .restJSON, requestID: HTTPListener.requestID())
        response.headers.append(("Connection", "close"))
        output.append(response.bytes)
        closingSince = EventLoop.now()
    }

    static func errorCode(_ status: Int) -> String {
        switch status {
        case 408: return "RequestTimeout"
        case 413: return "RequestEntityTooLarge"
        case 431: return "RequestHeaderFieldsTooLarge"
        case 501: return "NotImplemented"
        case 505: return "HTTPVersionNotSupported"
        default: return "BadRequest"
        }
    }

    /// The answer to the request being served; the next one may start.
    func respond(_ response: HTTPResponse, loop: EventLoop) {
        guard !closed, busy else { return }
        var r = response
        if !keepAlive || peerClosed { r.headers.append(("Connection", "close")) }
        output.append(r.bytes)
        busy = false
        lastProgress = EventLoop.now()
        if !keepAlive {
            closingSince = lastProgress
        } else if !waiting.isEmpty {
            loop.markReady(self)
        }
        flush(loop)
        closeIfDone(loop)
    }

    func checkTimeouts(now: Double, request: Double, idle: Double, busy busyLimit: Double, loop: EventLoop) {
        guard !closed else { return }
        if closing {
            // A refusal the client does not read: close anyway.
            if let since = closingSince, now - since > request { close(loop) }
            return
        }
        if busy {
            if now - busySince > busyLimit {
                busy = false
                refuse(AWSWireError("ServiceUnavailable", "The node did not answer within \(Int(busyLimit)) s", status: 503))
                flush(loop)
            }
            return
        }
        if let began = requestBegan, waiting.isEmpty, now - began > request {
            refuse(AWSWireError("RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period (\(Int(request)) s to send a request).", status: 408))
            flush(loop)
        } else if requestBegan == nil, waiting.isEmpty, output.isEmpty, now - lastProgress > idle {
            close(loop)
        }
    }

    private func closeIfDone(_ loop: EventLoop) {
        guard peerClosed, !closed, !busy, waiting.isEmpty else { return }
        if output.isEmpty {
            close(loop)
        } else if !closing {
            closingSince = EventLoop.now()
        }
    }

    func writable(_ loop: EventLoop) { flush(loop) }

    func flush(_ loop: EventLoop) {
        guard !closed else { return }
        let before = output.pending
        do { try output.write(to: fd) } catch {
            close(loop)
            return
        }
        if output.pending < before { lastProgress = EventLoop.now() }
        if output.isEmpty && closing { close(loop); return }
        // Answers drained below the limit: a waiting request may start.
        if !busy && !waiting.isEmpty && output.pending < HTTPConnection.backpressureLimit { loop.markReady(self) }
        loop.update(self)
    }

    func close(_ loop: EventLoop) {
        guard !closed else { return }
        closed = true
        loop.unregister(fd)
        Socket.close(fd)
        listener?.connectionClosed(self)
    }
}
