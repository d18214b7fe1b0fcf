#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import JSON
import Synchronization

/// Why a call did not return a result.
public enum RPCCallError: Error, CustomStringConvertible, Sendable {
    /// The node answered with an error (a service error or a protocol fault).
    case service(RPCError)
    /// No answer within the call's timeout; the outcome is unknown.
    case timeout(method: String, seconds: Double)
    /// The connection could not be made, or was lost before the answer came.
    case connection(String)

    public var description: String {
        switch self {
        case .service(let e): return e.description
        case .timeout(let m, let s): return "\(m): no answer within \(s) s"
        case .connection(let why): return why
        }
    }
}

/// What a client proves it holds: an IAM access key, or a cluster node's secret.
public struct ClientCredentials: Sendable {
    public var identity: Handshake.Identity
    public var secret: [UInt8]

    public init(identity: Handshake.Identity, secret: [UInt8]) {
        self.identity = identity
        self.secret = secret
    }

    public static func accessKey(_ id: String, secret: String) -> ClientCredentials {
        ClientCredentials(identity: .accessKey(id), secret: Array(secret.utf8))
    }
}

/// A JSON-RPC client over one TCP connection.
///
/// Guarantees: many calls may be in flight at once from any threads; replies are matched by
/// id; every call has a timeout; when the connection drops every outstanding call fails at
/// once. The socket is read by a thread of the client's own, so neither the synchronous nor the
/// `async` API ever blocks Swift's cooperative pool on I/O (`connect` itself blocks: call it
/// from a thread, or use `connectAsync`).
public final class RPCClient: @unchecked Sendable {
    /// How many callers are spinning for an answer right now (at most one).
    static let spinners = Atomic<Int>(0)
    /// How long one blocking caller per process looks for its answer before sleeping: only when
    /// `CRML_SPIN_US` asks for it (command-line calls and tests do not need it).
    private static let spinSeconds = getenv("CRML_SPIN_US") != nil ? AdaptiveSpin.configuredLimit : 0
    public let host: String
    public let port: UInt16
    /// The account of the node at the other end (from its challenge).
    public private(set) var serverAccount: String = ""
    /// What the node said about the authenticated caller (`account`, `arn`, …).
    public private(set) var identity: JSON = .null
    /// Sees every successful answer with its method (tests check each against AWS's output
    /// shape); set before the first call.
    public var resultObserver: (@Sendable (_ method: String, _ result: JSON) -> Void)?

    private let fd: Int32
    private let maxLineLength: Int

    private enum Waiter {
        case sync(SyncBox)
        case async(CheckedContinuation<JSON, Error>)
    }

    private final class SyncBox: @unchecked Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        var result: Result<JSON, RPCCallError>?
    }

    private struct State {
        var nextID = 1
        var waiters: [Int: Waiter] = [:]
        var closed: String? = nil
    }

    private let state = Mutex(State())
    private let writeLock = Mutex(())
    /// Without a reader thread: calls read their own answers on the calling thread, one at a time.
    private let direct: Bool
    private let directReader = Mutex(DirectReader(framer: LineFramer()))

    /// What reading on the caller's thread keeps between calls: the framer (a partial line),
    /// messages read but not taken yet, and one read buffer.
    private struct DirectReader {
        var framer: LineFramer
        var queued: [RPCMessage] = []
        var buffer: [UInt8] = []
    }

    private init(fd: Int32, host: String, port: UInt16, maxLineLength: Int, direct: Bool) {
        self.fd = fd
        self.host = host
        self.port = port
        self.maxLineLength = maxLineLength
        self.direct = direct
    }

    deinit { Glibc.close(fd) }

    /// Connects and (with credentials) authenticates. Blocking.
    ///
    /// With `readerThread: false` the client has no thread of its own: each (synchronous) call
    /// writes its request and reads its answer on the calling thread, one call at a time. That is
    /// what a command-line call or a benchmark connection wants: no thread hand-off per call.
    public static func connect(host: String, port: UInt16, credentials: ClientCredentials?, timeout: Double = 10,
                               maxLineLength: Int = 64 * 1024 * 1024, readerThread: Bool = true) throws(RPCCallError) -> RPCClient {
        let fd: Int32
        do { fd = try Socket.connect(host: host, port: port, timeout: timeout) } catch {
            throw .connection("could not connect to \(host):\(port): \(error)")
        }
        let client = RPCClient(fd: fd, host: host, port: port, maxLineLength: maxLineLength, direct: !readerThread)
        var reader = DirectReader(framer: LineFramer(maxLineLength: maxLineLength))
        let deadline = EventLoop.now() + timeout
        // The node speaks first: its challenge.
        guard case .notification(let method, let params) = try client.readMessage(&reader, deadline: deadline),
              method == Handshake.challengeMethod,
              let account = params["account"]?.stringValue, let serverNonce = params["nonce"]?.stringValue else {
            throw .connection("\(host):\(port) did not open with an authentication challenge")
        }
        client.serverAccount = account
        if let credentials {
            let clientNonce = Handshake.nonce()
            let sig = Handshake.clientSignature(secret: credentials.secret, serverAccount: account, serverNonce: serverNonce,
                                                clientNonce: clientNonce, identity: credentials.identity)
            try client.writeLine(RPCMessage.request(id: .number(0), method: Handshake.authenticateMethod,
                                                    params: Handshake.authenticateParams(identity: credentials.identity, clientNonce: clientNonce, signature: sig)).line,
                                 deadline: deadline)
            switch try client.readMessage(&reader, deadline: deadline) {
            case .result(_, let result):
                let expected = Handshake.serverSignature(secret: credentials.secret, serverAccount: account, serverNonce: serverNonce,
                                                         clientNonce: clientNonce, identity: credentials.identity)
                guard let proof = result["serverSignature"]?.stringValue, Handshake.verify(proof, expected: expected) else {
                    throw .connection("\(host):\(port) could not prove it is the node of account \(account)")
                }
                client.identity = result
            case .error(_, let e):
                throw .service(e)
            default:
                throw .connection("\(host):\(port) answered the authentication with something else")
            }
        }
        if readerThread {
            let leftover = reader.framer
            let thread = Thread { client.readLoop(leftover) }
            thread.name = "rpc-client-reader"
            thread.start()
        } else {
            client.directReader.withLock { $0 = reader }
        }
        return client
    }

    /// `connect` on a thread of its own, for callers in async code.
    public static func connectAsync(host: String, port: UInt16, credentials: ClientCredentials?, timeout: Double = 10) async throws -> RPCClient {
        try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread {
                do { cont.resume(returning: try connect(host: host, port: port, credentials: credentials, timeout: timeout)) } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }

    // MARK: Calls

    /// Sends a request and waits for its answer. Blocking.
    public func call(_ method: String, _ params: JSON = [:], timeout: Double = 30) throws(RPCCallError) -> JSON {
        let result = try blockingCall(method, params, timeout: timeout)
        resultObserver?(method, result)
        return result
    }

    private func blockingCall(_ method: String, _ params: JSON, timeout: Double) throws(RPCCallError) -> JSON {
        if direct { return try directCall(method, params, timeout: timeout) }
        let box = SyncBox()
        let id = try register(.sync(box))
        try sendRequest(id: id, method: method, params: params)
        if box.semaphore.wait(timeout: .now() + timeout) == .timedOut {
            if let w = state.withLock({ $0.waiters.removeValue(forKey: id) }), case .sync = w {
                throw .timeout(method: method, seconds: timeout)
            }
            box.semaphore.wait()  // the answer raced the timeout; take it
        }
        return try box.result!.get()
    }

    private func directCall(_ method: String, _ params: JSON, timeout: Double) throws(RPCCallError) -> JSON {
        let r: Result<JSON, RPCCallError> = directReader.withLock { reader in
            let id = nextDirectID()
            let deadline = EventLoop.now() + timeout
            do throws(RPCCallError) {
                try writeLine(RPCMessage.request(id: .number(id), method: method, params: params).line, deadline: deadline)
                while true {
                    switch try readMessage(&reader, deadline: deadline) {
                    case .result(.number(id), let result): return .success(result)
                    case .error(.number(id)?, let e): return .failure(.service(e))
                    case .error(nil, let e): return .failure(.service(e))
                    default: continue
                    }
                }
            } catch {
                if case .connection(let why) = error, why.hasSuffix("did not answer in time") { return .failure(.timeout(method: method, seconds: timeout)) }
                return .failure(error)
            }
        }
        return try r.get()
    }

    /// Sends a request and awaits its answer without blocking a thread.
    public func call(_ method: String, _ params: JSON = [:], timeout: Double = 30) async throws -> JSON {
        let result = try await awaitCall(method, params, timeout: timeout)
        resultObserver?(method, result)
        return result
    }

    private func awaitCall(_ method: String, _ params: JSON, timeout: Double) async throws -> JSON {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<JSON, Error>) in
            let id: Int
            do { id = try register(.async(cont)) } catch { cont.resume(throwing: error); return }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in
                self?.fail(id, .timeout(method: method, seconds: timeout))
            }
            try? sendRequest(id: id, method: method, params: params)  // a failed send fails the waiter itself
        }
    }

    // MARK: Many connections from one thread

    /// The socket, for a caller that drives many clients from one thread (a load generator):
    /// poll it for input, then call `receiveAvailable`. Only for clients without a reader thread.
    public var socket: Int32 { fd }

    /// Writes a request without waiting for its answer; returns its id. For clients without a
    /// reader thread, whose caller collects answers with `receiveAvailable`.
    public func submit(_ method: String, _ params: JSON = [:]) throws(RPCCallError) -> Int {
        precondition(direct, "submit is for clients connected with readerThread: false")
        let id = nextDirectID()
        try sendRequest(id: id, method: method, params: params)
        return id
    }

    /// The messages that have arrived, without blocking (none if nothing is waiting).
    public func receiveAvailable() throws(RPCCallError) -> [RPCMessage] {
        precondition(direct, "receiveAvailable is for clients connected with readerThread: false")
        let r: Result<[RPCMessage], RPCCallError> = directReader.withLock { reader in
            do throws(RPCCallError) { try drain(&reader) } catch { return .failure(error) }
            defer { reader.queued.removeAll(keepingCapacity: true) }
            return .success(reader.queued)
        }
        return try r.get()
    }

    /// An id for a call without a reader thread (no waiter is registered for it).
    private func nextDirectID() -> Int {
        state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
    }

    /// Writes raw bytes to the socket (for tests that send malformed input).
    public func sendRaw(_ bytes: [UInt8]) throws(RPCCallError) {
        try writeLine(bytes, deadline: EventLoop.now() + 10)
    }

    public var isClosed: Bool { state.withLock { $0.closed != nil } }

    public func close() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func register(_ w: Waiter) throws(RPCCallError) -> Int {
        let r: Result<Int, RPCCallError> = state.withLock { s in
            if let why = s.closed { return .failure(.connection(why)) }
            let id = s.nextID
            s.nextID += 1
            s.waiters[id] = w
            return .success(id)
        }
        return try r.get()
    }

    private func sendRequest(id: Int, method: String, params: JSON) throws(RPCCallError) {
        do {
            try writeLine(RPCMessage.request(id: .number(id), method: method, params: params).line, deadline: EventLoop.now() + 30)
        } catch {
            fail(id, error)
            throw error
        }
    }

    private func fail(_ id: Int, _ error: RPCCallError) {
        guard let w = state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
        resolve(w, .failure(error))
    }

    private func resolve(_ w: Waiter, _ r: Result<JSON, RPCCallError>) {
        switch w {
        case .sync(let box):
            box.result = r
            box.semaphore.signal()
        case .async(let cont):
            cont.resume(with: r.mapError { $0 as Error })
        }
    }

    // MARK: Socket I/O

    private func writeLine(_ bytes: [UInt8], deadline: Double) throws(RPCCallError) {
        let r: Result<Void, SocketError> = writeLock.withLock { _ in Result { () throws(SocketError) in try Socket.writeAll(fd, bytes, deadline: deadline) } }
        switch r {
        case .success: return
        case .failure(let e) where e.code == ETIMEDOUT: throw .connection("\(host):\(port) stopped reading")
        case .failure(let e): throw .connection("connection to \(host):\(port) lost: \(e)")
        }
    }

    /// Reads one message synchronously (the handshake, and calls without a reader thread).
    private func readMessage(_ reader: inout DirectReader, deadline: Double) throws(RPCCallError) -> RPCMessage {
        // One caller per process may spin instead of sleeping (more would starve the node on a
        // small machine); the others sleep in poll.
        var spinning = RPCClient.spinSeconds > 0 && RPCClient.spinners.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged
        defer { if spinning { RPCClient.spinners.store(0, ordering: .releasing) } }
        let spinUntil = spinning ? EventLoop.now() + RPCClient.spinSeconds : 0
        while true {
            if !reader.queued.isEmpty { return reader.queued.removeFirst() }
            let now = EventLoop.now()
            let wait = deadline - now
            if wait <= 0 { throw .connection("\(host):\(port) did not answer in time") }
            if now >= spinUntil {
                if spinning {  // done spinning: another caller may
                    spinning = false
                    RPCClient.spinners.store(0, ordering: .releasing)
                }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, Int32(wait * 1000) + 1)
            }
            try drain(&reader)
        }
    }

    /// Reads what the socket holds now, without blocking, and queues the messages it completes.
    /// The end of the connection is reported once the messages before it are queued.
    private func drain(_ reader: inout DirectReader) throws(RPCCallError) {
        // Filled by read(2) before it is looked at: allocated once, never cleared.
        if reader.buffer.isEmpty { reader.buffer = [UInt8](unsafeUninitializedCapacity: 65536) { _, count in count = 65536 } }
        let before = reader.queued.count
        while true {
            let r: Socket.ReadResult
            do { r = try reader.buffer.withUnsafeMutableBytes { try Socket.read(fd, into: $0) } } catch {
                throw .connection("connection to \(host):\(port) lost: \(error)")
            }
            switch r {
            case .wouldBlock: return
            case .closed:
                if reader.queued.count > before { return }  // the next read reports it again
                throw .connection("\(host):\(port) closed the connection")
            case .bytes(let n):
                for event in reader.framer.feed(reader.buffer[0..<n]) {
                    guard case .line(let line) = event else { throw .connection("line from \(host):\(port) too long") }
                    switch RPCMessage.parse(line) {
                    case .success(let m): reader.queued.append(m)
                    case .failure(let e): throw .connection("unreadable message from \(host):\(port): \(e.error.message)")
                    }
                }
                // A read that did not fill the buffer almost always emptied the socket.
                if n < reader.buffer.count { return }
            }
        }
    }

    private func readLoop(_ initial: LineFramer) {
        var framer = initial
        var buf = [UInt8](repeating: 0, count: 65536)
        var reason = "connection to \(host):\(port) closed"
        loop: while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, 1000)
            if n == 0 { continue }
            let r: Socket.ReadResult
            do { r = try buf.withUnsafeMutableBytes { try Socket.read(fd, into: $0) } } catch {
                reason = "connection to \(host):\(port) lost: \(error)"
                break
            }
            switch r {
            case .wouldBlock: continue
            case .closed: break loop
            case .bytes(let count):
                for event in framer.feed(buf[0..<count]) {
                    guard case .line(let line) = event else { reason = "a reply from \(host):\(port) was longer than \(maxLineLength) bytes"; break loop }
                    deliver(line)
                }
            }
        }
        let waiters = state.withLock { s -> [Waiter] in
            s.closed = reason
            let all = Array(s.waiters.values)
            s.waiters.removeAll()
            return all
        }
        for w in waiters { resolve(w, .failure(.connection(reason))) }
    }

    private func deliver(_ line: [UInt8]) {
        switch RPCMessage.parse(line) {
        case .success(.result(.number(let id), let result)):
            if let w = state.withLock({ $0.waiters.removeValue(forKey: id) }) { resolve(w, .success(result)) }
        case .success(.error(let id, let error)):
            if case .number(let n)? = id, let w = state.withLock({ $0.waiters.removeValue(forKey: n) }) {
                resolve(w, .failure(.service(error)))
            } else {
                // An error not tied to a request (a protocol fault): every caller should hear it.
                let all = state.withLock { s -> [Waiter] in
                    let a = Array(s.waiters.values)
                    s.waiters.removeAll()
                    return a
                }
                for w in all { resolve(w, .failure(.service(error))) }
            }
        default:
            break  // notifications and stray messages
        }
    }
}
