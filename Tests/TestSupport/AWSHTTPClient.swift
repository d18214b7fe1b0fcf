#if canImport(Glibc)
import Glibc
#endif
import Digest
import Foundation
import HTTP
import SigV4
import Wire

/// One HTTP answer as a client reads it.
public struct HTTPAnswer: Sendable, CustomStringConvertible {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    public var text: String { String(decoding: body, as: UTF8.self) }
    public var description: String { "\(status) \(headers.map { "\($0.name): \($0.value)" }.joined(separator: "; ")) \(text.prefix(500))" }
}

/// A signed AWS request over one HTTP/1.1 connection, as an SDK sends it: the tests' stand-in for
/// boto3 (which `swift test` does not use). Blocking, with deadlines; answers are read by
/// `Content-Length` (none for HEAD, 1xx, 204, 304).
public final class AWSHTTPClient: @unchecked Sendable {
    public let fd: Int32
    public let host: String
    public let port: Int
    public var accessKeyID: String
    public var secret: String
    public var region = "us-west-1"
    /// A role session's token, sent as `X-Amz-Security-Token` and signed.
    public var sessionToken: String?
    private var buffer: [UInt8] = []
    public private(set) var closedByPeer = false

    public init(host: String, port: Int, accessKeyID: String, secret: String) throws {
        fd = try Socket.connect(host: host, port: UInt16(port), timeout: 5)
        (self.host, self.port, self.accessKeyID, self.secret) = (host, port, accessKeyID, secret)
    }

    deinit { Glibc.close(fd) }

    /// A request's bytes, signed for `service` (S3 with `x-amz-content-sha256`).
    public func signedBytes(_ service: String, _ method: String, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                            at time: Double = Date().timeIntervalSince1970, contentSHA: String? = nil) -> [UInt8] {
        var h = AWSRequestSigning.signedHeaders(service, method, target, host: "\(host):\(port)", headers: headers, body: body, accessKeyID: accessKeyID,
                                                secret: secret, region: region, at: time, contentSHA: contentSHA, sessionToken: sessionToken)
        if !body.isEmpty || method == "PUT" || method == "POST" { h.append(("Content-Length", String(body.count))) }
        var out = Array("\(method) \(target) HTTP/1.1\r\n".utf8)
        for (n, v) in h { out += Array("\(n): \(v)\r\n".utf8) }
        return out + [0x0D, 0x0A] + body
    }

    /// Sends a signed request and reads its answer.
    public func call(_ service: String, _ method: String, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                     contentSHA: String? = nil, timeout: Double = 10) throws -> HTTPAnswer {
        try send(signedBytes(service, method, target, headers: headers, body: body, contentSHA: contentSHA))
        guard let answer = try readAnswer(head: method == "HEAD", timeout: timeout) else { throw SocketError(operation: "read an answer to \(method) \(target)", code: ETIMEDOUT) }
        return answer
    }

    public func send(_ bytes: [UInt8]) throws { try Socket.writeAll(fd, bytes, deadline: EventLoop.now() + 10) }

    /// The next answer, or nil if none is complete within `timeout` (or the peer closed).
    public func readAnswer(head: Bool = false, timeout: Double = 10) throws -> HTTPAnswer? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let (answer, used) = parse(head: head) {
                buffer.removeFirst(used)
                return answer
            }
            if closedByPeer { return nil }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            readSome(waitingAtMost: left)
        }
    }

    /// Waits up to `wait` seconds for bytes, and reads what came (or sees the peer close).
    private func readSome(waitingAtMost wait: Double) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(wait * 1000) + 1) > 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
        if n <= 0 { closedByPeer = true } else { buffer += chunk[0..<n] }
    }

    private func parse(head: Bool) -> (HTTPAnswer, Int)? {
        guard let end = (0..<max(0, buffer.count - 3)).first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }) else { return nil }
        let lines = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { l -> (name: String, value: String)? in
            guard let c = l.firstIndex(of: ":") else { return nil }
            return (String(l[..<c]), String(l[l.index(after: c)...]).trimmingCharacters(in: .whitespaces))
        }
        let length = (head || status < 200 || status == 204 || status == 304) ? 0 : Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
        guard buffer.count >= end + 4 + length else { return nil }
        return (HTTPAnswer(status: status, headers: headers, body: Array(buffer[(end + 4)..<(end + 4 + length)])), end + 4 + length)
    }

    /// Waits until the node closes the connection (true) or `timeout` passes (false).
    public func waitForClose(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !closedByPeer, deadline.timeIntervalSinceNow > 0 { readSome(waitingAtMost: min(0.05, deadline.timeIntervalSinceNow)) }
        return closedByPeer
    }
}

/// Requests signed as an SDK signs them: one way for the tests that send them over a socket and
/// those that hand them to the front in process.
public enum AWSRequestSigning {
    /// `headers` plus `Host`, S3's `x-amz-content-sha256`, `X-Amz-Date`, a session token and
    /// `Authorization`, signing all of them.
    public static func signedHeaders(_ service: String, _ method: String, _ target: String, host: String, headers: [(name: String, value: String)],
                                     body: [UInt8], accessKeyID: String, secret: String, region: String, at time: Double,
                                     contentSHA: String? = nil, sessionToken: String? = nil) -> [(name: String, value: String)] {
        let bodyHash = Hex.encode(SHA256.hash(body))
        var h = [(name: "Host", value: host)] + headers
        if service == "s3" { h.append(("x-amz-content-sha256", contentSHA ?? bodyHash)) }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var r = SigV4.Request(method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "", headers: h,
                              payloadHash: service == "s3" ? (contentSHA ?? bodyHash) : bodyHash)
        SigV4.sign(&r, accessKeyID: accessKeyID, secret: secret, region: region, service: service, at: time, securityToken: sessionToken)
        return r.headers
    }
}

extension TestCluster {
    /// An HTTP client of account `index`'s node, signing with its bootstrap admin's key (or another).
    public func httpClient(_ index: Int = 0, accessKeyID: String? = nil, secret: String? = nil) throws -> AWSHTTPClient {
        let a = account(index)
        guard let port = a.httpPort, port > 0 else { throw SocketError(operation: "account \(a.id) has no HTTP port", code: ENOENT) }
        return try AWSHTTPClient(host: a.host, port: port, accessKeyID: accessKeyID ?? a.admin.accessKeyId, secret: secret ?? a.admin.secretAccessKey)
    }
}
