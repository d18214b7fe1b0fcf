#if canImport(Glibc)
import Glibc
#endif
import JSON
import Wire

/// One TCP connection to the node, owned by the event loop thread.
///
/// It reads bytes into a line framer, hands each complete line to the node, and buffers output
/// until the socket takes it. Guarantees: a line over the limit gets an error and the
/// connection is closed once the error is sent; a client that stops reading is not read from
/// (backpressure) until its replies drain; a peer that vanishes mid-line is simply closed.
final class Connection: PollHandler {
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
    private(set) var closing = false
    private(set) var closed = false
    var unauthenticatedRequests = 0
    weak var server: NodeServer?

    static let backpressureLimit = 8 * 1024 * 1024

    init(id: UInt64, fd: Int32, peerAddress: String, nonce: String, maxLineLength: Int) {
        self.id = id
        self.fd = fd
        self.peerAddress = peerAddress
        auth = .awaiting(nonce: nonce)
        framer = LineFramer(maxLineLength: maxLineLength)
    }

    var wantsRead: Bool { !closing && output.pending < Connection.backpressureLimit }
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

    func readable(_ loop: PollLoop) {
        guard let scratch = server?.readBuffer else { return }
        reading: for _ in 0..<16 where !closed && !closing {
            let r: Socket.ReadResult
            do { r = try scratch.bytes.withUnsafeMutableBytes { try Socket.read(fd, into: $0) } } catch {
                close(loop)
                return
            }
            switch r {
            case .wouldBlock:
                flush(loop)
                return
            case .closed:
                close(loop)
                return
            case .bytes(let n):
                for event in framer.feed(scratch.bytes[0..<n]) {
                    switch event {
                    case .line(let line): server?.handleLine(line, from: self)
                    case .tooLong(let limit):
                        send(.error(id: nil, error: .invalidRequest("a message line is longer than \(limit) bytes; the connection is closed")))
                        closeAfterFlush()
                    }
                    if closed || closing { break }
                }
                // A read that did not fill the buffer almost always emptied the socket: skip the
                // read that would only say so (poll reports anything that arrives later).
                if n < scratch.bytes.count { break reading }
            }
        }
        flush(loop)
    }

    func writable(_ loop: PollLoop) { flush(loop) }

    func flush(_ loop: PollLoop) {
        guard !closed else { return }
        do { try output.write(to: fd) } catch {
            close(loop)
            return
        }
        if output.isEmpty && closing { close(loop) }
    }

    func close(_ loop: PollLoop) {
        guard !closed else { return }
        closed = true
        loop.unregister(fd)
        Socket.close(fd)
        server?.connectionClosed(self)
    }
}
