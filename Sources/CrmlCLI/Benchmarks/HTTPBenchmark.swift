#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import Digest
import AWSProtocols
import Foundation
import HTTP
import JSON
import SigV4
import Wire

/// `crml bench http`: a signed read over the HTTP front beside the same read over JSON-RPC.
enum HTTPBenchmark {
    static let spec = CommandSpec(
        command: "crml bench http",
        summary: """
            Starts a temporary two-account cluster in which A starts a job on B's CAM, then measures
            GetAudienceGenerationJob on A's node: over HTTP (rest-json, SigV4-signed with A's admin key, verified
            by the node on every request) and over JSON-RPC, with 1 and N connections, one request in flight per
            connection, in one run, and prints HTTP's figures as a ratio to JSON-RPC's. Build with -c release.
            """,
        options: [("seconds", "how long to measure each case (default 3)"),
                  ("connections", "concurrent connections for the parallel cases (default 16)"),
                  ("only", "run one side only: http or rpc (for profiling a node under one of them); front: the HTTP front's own work in this process (read, verify, route, answer), without sockets or the node")])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let seconds = try parsed.double("seconds", default: 3)
        let connections = try parsed.int("connections", default: 16)
        let shared = try CrossAccountBenchmark.SharedModel(label: "http")
        defer { shared.remove() }
        let (a, adminA, start, cluster, connect) = (shared.a, shared.adminA, shared.start, shared.cluster, shared.connect)
        guard let httpPort = a.httpPort, httpPort > 0 else { throw CommandFailure(code: .failed, message: "account \(a.id)'s node has no HTTP port") }
        let arn = try adminA.call("cleanroomsml.StartAudienceGenerationJob", start("bench-read"))["audienceGenerationJobArn"]?.stringValue ?? ""
        guard DemoCommand.waitUntil(60, {
            ((try? adminA.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)]))?["status"]?.stringValue ?? "") == "ACTIVE"
        }) else { throw CommandFailure(code: .failed, message: "the job did not become ACTIVE within 60 s") }
        Console.out("HTTP benchmark: GetAudienceGenerationJob of \(arn) on \(a.id)'s node (JSON-RPC \(a.host):\(a.port), HTTP \(a.host):\(httpPort)), \(seconds) s per case\n")

        let read: JSON = ["audienceGenerationJobArn": .string(arn)]
        var lines: [String] = []
        let only = parsed.value("only")
        guard only == nil || only == "http" || only == "rpc" || only == "front" else { throw CommandFailure.usage("--only takes http, rpc or front") }
        if only == "front" {
            let result = try adminA.call("cleanroomsml.GetAudienceGenerationJob", read)
            let bytes = request(host: a.host, port: httpPort, account: a, region: cluster.region, arn: arn)
            Console.out(frontCost(bytes, result: result, account: a, region: cluster.region, seconds: seconds) + "\n")
            return .ok
        }
        Console.out("node pid \(a.pid.map(String.init) ?? "?")\n")
        for n in Array(Set([1, connections])).sorted() {
            if only == "http" {
                lines.append(try measureHTTP(host: a.host, port: httpPort, account: a, region: cluster.region, arn: arn, connections: n, seconds: seconds).line)
                continue
            }
            let rpc = try NodeBenchmark.measureFromOneThread("JSON-RPC GetAudienceGenerationJob", connections: n, seconds: seconds, nodePID: a.pid, connect: { try connect(a) }) { _ in
                ("cleanroomsml.GetAudienceGenerationJob", read)
            }
            if only == "rpc" { lines.append(rpc.line); continue }
            let http = try measureHTTP(host: a.host, port: httpPort, account: a, region: cluster.region, arn: arn, connections: n, seconds: seconds)
            lines += [rpc.line, http.line,
                      String(format: "  HTTP / JSON-RPC with %d connection%@: p50 %.2f×, p99 %.2f×, throughput %.2f×", n, n == 1 ? "" : "s",
                             http.percentile(0.5) / rpc.percentile(0.5), http.percentile(0.99) / rpc.percentile(0.99), rpc.rate / http.rate)]
        }
        for l in lines { Console.out(l + "\n") }
        return .ok
    }

    /// What the front costs per request in this process: the HTTP reader, the signature check and
    /// routing (`HTTPFront.accept`), and writing the answer, each timed over `seconds`.
    static func frontCost(_ bytes: [UInt8], result: JSON, account: ClusterFile.Account, region: String, seconds: Double) -> String {
        let keys = SigV4.SigningKeyCache()
        let secret = account.admin.secretAccessKey, keyID = account.admin.accessKeyId
        var parseTime = 0.0, acceptTime = 0.0, answerTime = 0.0
        var n = 0
        let start = EventLoop.now()
        while EventLoop.now() - start < seconds {
            let t0 = EventLoop.now()
            var parser = HTTPRequestParser()
            guard case .request(let r)? = parser.feed(bytes).first else { return "the request did not parse" }
            let t1 = EventLoop.now()
            guard case .call(let call, _) = HTTPFront.accept(r, now: Date().timeIntervalSince1970, requestID: "r", region: region, keys: keys,
                                                             credentials: { $0 == keyID ? (secret, nil) : nil }) else { return "the request was refused" }
            let t2 = EventLoop.now()
            let answer = call.service.response(to: call, result: result, requestID: "r").bytes
            let t3 = EventLoop.now()
            precondition(!answer.isEmpty)
            parseTime += t1 - t0; acceptTime += t2 - t1; answerTime += t3 - t2
            n += 1
        }
        let per = { (t: Double) in String(format: "%.1f µs", t / Double(n) * 1e6) }
        return "HTTP front per request, in process (\(n) requests): read \(per(parseTime)), verify and route \(per(acceptTime)), answer \(per(answerTime)), total \(per(parseTime + acceptTime + answerTime))"
    }

    /// The signed request every connection repeats (signed once: the node verifies it every time).
    static func request(host: String, port: Int, account: ClusterFile.Account, region: String, arn: String) -> [UInt8] {
        let path = "/audience-generation-job/" + SigV4.uriEncode(arn)
        var r = SigV4.Request(method: "GET", path: path, query: "", headers: [("Host", "\(host):\(port)")], payloadHash: SigV4.emptySHA256)
        SigV4.sign(&r, accessKeyID: account.admin.accessKeyId, secret: account.admin.secretAccessKey, region: region, service: "cleanrooms-ml",
                   at: Date().timeIntervalSince1970)
        var out = Array("GET \(path) HTTP/1.1\r\n".utf8)
        for (n, v) in r.headers { out += Array("\(n): \(v)\r\n".utf8) }
        return out + [0x0D, 0x0A]
    }

    static func measureHTTP(host: String, port: Int, account: ClusterFile.Account, region: String, arn: String, connections: Int, seconds: Double) throws -> NodeBenchmark.Figures {
        let bytes = request(host: host, port: port, account: account, region: region, arn: arn)
        let fds = try (0..<connections).map { _ in try Socket.connect(host: host, port: UInt16(port), timeout: 5) }
        defer { for fd in fds { Socket.close(fd) } }
        var buffers = [[UInt8]](repeating: [], count: connections)
        var scratch = [UInt8](repeating: 0, count: 65536)
        func send(_ k: Int) throws { try Socket.writeAll(fds[k], bytes, deadline: EventLoop.now() + 10) }
        /// Complete answers now in connection `k`'s buffer (each must be 200).
        func answered(_ k: Int) throws -> Int? {
            let r = try scratch.withUnsafeMutableBytes { try Socket.read(fds[k], into: $0) }
            var received = 0
            switch r {
            case .closed: return nil
            case .wouldBlock: break
            case .bytes(let n): received = n
            }
            // Usually one whole answer arrives in one read: parse it where it landed.
            if buffers[k].isEmpty, received > 0, let (status, used) = completeAnswer(scratch, count: received), used == received {
                guard status == 200 else { throw CommandFailure(code: .failed, message: "HTTP GetAudienceGenerationJob answered \(status): \(String(decoding: scratch.prefix(400), as: UTF8.self))") }
                return 1
            }
            buffers[k] += scratch[0..<received]
            var answers = 0
            while let (status, used) = completeAnswer(buffers[k], count: buffers[k].count) {
                guard status == 200 else { throw CommandFailure(code: .failed, message: "HTTP GetAudienceGenerationJob answered \(status): \(String(decoding: buffers[k].prefix(400), as: UTF8.self))") }
                buffers[k].removeFirst(used)
                answers += 1
            }
            return answers
        }
        // Warm up: one call per connection.
        for k in 0..<connections {
            try send(k)
            var got = 0
            let deadline = EventLoop.now() + 5
            while got == 0 {
                guard EventLoop.now() < deadline else { throw CommandFailure(code: .failed, message: "no HTTP answer within 5 s") }
                var p = pollfd(fd: fds[k], events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, 100)
                got = try answered(k) ?? 0
            }
        }
        var pollfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let cpu = NodeBenchmark.CPUWindow.start(node: account.pid)
        let (latencies, elapsed) = try NodeBenchmark.driveFromOneThread(&pollfds, seconds: seconds, name: "HTTP", send: send, answered: answered)
        var figures = NodeBenchmark.Figures(name: "HTTP GetAudienceGenerationJob", connections: connections, calls: latencies.count, seconds: elapsed, latencies: latencies.sorted())
        cpu.stop(&figures)
        return figures
    }

    /// The status and length of the first complete answer in `b`, if there is one (bytes only:
    /// the client's own cost should not hide the node's).
    static func completeAnswer(_ b: [UInt8], count: Int) -> (status: Int, length: Int)? {
        guard count >= 16, count <= b.count else { return nil }
        return b.withUnsafeBufferPointer { whole -> (Int, Int)? in
            let p = UnsafeBufferPointer(rebasing: whole[0..<count])
            var end = -1
            var i = 12
            while i + 3 < p.count {
                if p[i] == 13 && p[i + 1] == 10 && p[i + 2] == 13 && p[i + 3] == 10 { end = i; break }
                i += 1
            }
            guard end >= 0 else { return nil }
            let status = Int(p[9] - 48) * 100 + Int(p[10] - 48) * 10 + Int(p[11] - 48)
            // Content-Length, matched ASCII case-insensitively at the start of a line.
            let name: [UInt8] = Array("\r\ncontent-length:".utf8)
            var length = 0
            var j = 0
            while j + name.count < end {
                var k = 0
                while k < name.count && (p[j + k] | 0x20) == (name[k] | 0x20) { k += 1 }
                if k == name.count {
                    var v = j + k
                    while p[v] == 32 { v += 1 }
                    while v < end, p[v] >= 48, p[v] <= 57 { length = length * 10 + Int(p[v] - 48); v += 1 }
                    break
                }
                j += 1
            }
            guard p.count >= end + 4 + length else { return nil }
            return (status, end + 4 + length)
        }
    }
}
