#if canImport(Glibc)
import Glibc
#endif
import JSON
import Wire

/// One TCP connection to the node, owned by the event loop thread.
///
/// It reads bytes into a line framer, queues complete lines, and hands the node one line per
/// round of the loop (`runReady`), so a client that pipelines many expensive calls delays
/// another client's answer by at most one call. Output is buffered until the socket takes it.
/// Guarantees: a line over the limit gets an error and the connection is closed once the error
/// is sent; a client that stops reading is not read from (backpressure) until its replies
/// drain, and neither is one with `inboxLimit` lines waiting; lines a client sent before it
/// closed its side are still answered; a peer that vanishes mid-line is simply closed.
final class Connection: EventHandler {
    enum AuthState {
        case awaiting(nonce: String)
        case client(accessKeyID: String)
        case peer(account: String)
    }

    let id: UInt64
    let fd: Int32
    let peerAddress: String
    var auth: AuthState
    var framer: LineFramer
    private var output = OutputBuffer()
    /// Lines read and not yet handed to the node (and a line-too-long, in its place).
    private var inbox: [LineFramer.Event] = []
    private var inboxHead = 0
    private(set) var closing = false
    private(set) var closed = false
    /// The client closed its side: answer what it sent, then close.
    private var peerClosed = false
    /// Requests handed to the node and not yet answered (answers may wait for a commit).
    private var outstanding = 0
    var unauthenticatedRequests = 0
    weak var server: NodeServer?

    static let backpressureLimit = 8 * 1024 * 1024
    static let inboxLimit = 256

    init(id: UInt64, fd: Int32, peerAddress: String, nonce: String, maxLineLength: Int) {
        self.id = id
        self.fd = fd
        self.peerAddress = peerAddress
        auth = .awaiting(nonce: nonce)
        framer = LineFramer(maxLineLength: maxLineLength)
    }

    private var inboxCount: Int { inbox.count - inboxHead }

    var wantsRead: Bool { !closing && !peerClosed && output.pending < Connection.backpressureLimit && inboxCount < Connection.inboxLimit }
    var wantsWrite: Bool { !output.isEmpty }

    func send(_ message: RPCMessage) {
        guard !closed else { return }
        output.append(message.line)
    }

    /// Sends what is queued, then closes.
    func closeAfterFlush() {
        closing = true
        if !wantsWrite, let server { close(server.loop) }
    }

    /// One read: the lines it completes join the inbox, handled a line per round.
    func readable(_ loop: EventLoop) {
        guard let scratch = server?.readBuffer, !closed else { return }
        let r: Socket.ReadResult
        do { r = try scratch.bytes.withUnsafeMutableBytes { try Socket.read(fd, into: $0) } } catch {
            close(loop)
            return
        }
        switch r {
        case .wouldBlock:
            break
        case .closed:
            peerClosed = true
            closeIfDone(loop)
            if closed || closing { return }
        case .bytes(let n):
            inbox += framer.feed(scratch.bytes[0..<n])
        }
        if inboxCount > 0 { loop.markReady(self) }
    }

    /// Hands the node the next line.
    func runReady(_ loop: EventLoop) {
        guard !closed, !closing, inboxHead < inbox.count else { return }
        let event = inbox[inboxHead]
        inboxHead += 1
        if inboxHead == inbox.count {
            inbox.removeAll(keepingCapacity: inbox.capacity <= 1024)
            inboxHead = 0
        }
        switch event {
        case .line(let line): server?.handleLine(line, from: self)
        case .tooLong(let limit):
            send(.error(id: nil, error: .invalidRequest("a message line is longer than \(limit) bytes; the connection is closed")))
            closeAfterFlush()
        }
        if !closed && !closing && inboxCount > 0 { loop.markReady(self) }
        flush(loop)
        closeIfDone(loop)
    }

    /// A request of this connection's has gone to the node.
    func requestStarted() { outstanding += 1 }

    /// The node has answered one of this connection's requests (its answer is queued).
    func requestAnswered(_ loop: EventLoop) {
        outstanding = max(0, outstanding - 1)
        flush(loop)
        closeIfDone(loop)
    }

    /// A client that closed its side is closed once everything it sent is answered and sent.
    private func closeIfDone(_ loop: EventLoop) {
        guard peerClosed, !closed, !closing, inboxCount == 0, outstanding == 0 else { return }
        closeAfterFlush()
    }

    func writable(_ loop: EventLoop) { flush(loop) }

    func flush(_ loop: EventLoop) {
        guard !closed else { return }
        do { try output.write(to: fd) } catch {
            close(loop)
            return
        }
        if output.isEmpty && closing { close(loop); return }
        loop.update(self)
    }

    func close(_ loop: EventLoop) {
        guard !closed else { return }
        closed = true
        loop.unregister(fd)
        Socket.close(fd)
        server?.connectionClosed(self)
    }
}
