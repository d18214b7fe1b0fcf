#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Wire

/// A bare TCP connection for tests that speak to a node byte by byte: send anything, read lines
/// back with a deadline, see when the node hangs up. Blocking; use from a detached thread or
/// via `Task.detached` (its calls block only for the short deadlines tests give).
public final class RawConnection: @unchecked Sendable {
    public let fd: Int32
    private var framer = LineFramer(maxLineLength: 64 * 1024 * 1024)
    private var lines: [[UInt8]] = []
    public private(set) var closedByPeer = false

    public init(host: String, port: Int) throws {
        fd = try Socket.connect(host: host, port: UInt16(port), timeout: 5)
    }

    deinit { Glibc.close(fd) }

    public func send(_ bytes: [UInt8]) throws { try Socket.writeAll(fd, bytes, deadline: EventLoop.now() + 10) }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Closes the sending side (the node reads the end of the stream); answers still arrive.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next line, or nil if none arrives within `timeout` (or the peer closed).
    public func readLine(timeout: Double = 5) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while lines.isEmpty && !closedByPeer {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            guard let r = try? buf.withUnsafeMutableBytes({ try Socket.read(fd, into: $0) }) else { closedByPeer = true; break }
            switch r {
            case .bytes(let n):
                for e in framer.feed(buf[0..<n]) { if case .line(let l) = e { lines.append(l) } }
            case .wouldBlock: continue
            case .closed: closedByPeer = true
            }
        }
        return lines.isEmpty ? nil : lines.removeFirst()
    }

    public func readJSON(timeout: Double = 5) -> JSON? {
        readLine(timeout: timeout).flatMap { try? JSONParser.parse($0) }
    }

    /// Waits until the node closes the connection (true) or `timeout` passes (false).
    public func waitForClose(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !closedByPeer && Date() < deadline { _ = readLine(timeout: deadline.timeIntervalSinceNow) }
        return closedByPeer
    }

    /// Reads the challenge and authenticates with an access key; returns the reply.
    public func authenticate(accessKey: String, secret: String) throws -> JSON? {
        guard let challenge = readJSON(), let account = challenge["params"]?["account"]?.stringValue,
              let nonce = challenge["params"]?["nonce"]?.stringValue else { return nil }
        let clientNonce = Handshake.nonce()
        let sig = Handshake.clientSignature(secret: Array(secret.utf8), serverAccount: account, serverNonce: nonce, clientNonce: clientNonce, identity: .accessKey(accessKey))
        try send(RPCMessage.request(id: .number(0), method: Handshake.authenticateMethod,
                                    params: Handshake.authenticateParams(identity: .accessKey(accessKey), clientNonce: clientNonce, signature: sig)).line)
        return readJSON()
    }
}
