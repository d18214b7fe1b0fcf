#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Synchronization
import Testing
import TestSupport
import Wire

/// SIM-2: one client cannot stall the others. A client that pipelines thousands of expensive
/// reads delays another client's call by about one read, and at its descriptor limit the node
/// refuses new connections and goes on serving. (What idle connections cost is a figure of
/// `crml bench node --cases idle`.)
@Suite(.serialized) struct FairnessTests {

    /// Seconds of CPU the process has used (user and system), from /proc.
    func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        return (Double(f[11]) ?? 0) / 100 + (Double(f[12]) ?? 0) / 100
    }

    final class Finish: Sendable {
        let lastAnswer = Mutex<Double?>(nil)
        let answers = Atomic<Int>(0)
    }

    /// The hog pipelines 3,000 `ListUsers` whose path prefix matches none of 5,000 users: each
    /// walks every name (milliseconds) to answer an empty page. The other client's calls each
    /// wait for about one of them, so only a few go by per call, not the hundreds or thousands
    /// of a whole read of the pipeline; and the hog is still at it when the other is done.
    @Test("SIM-2 another client's calls are answered while one client pipelines 3,000 expensive reads")
    func pipelinedReadsDoNotStallOthers() async throws {
        try await ExclusiveCPU.run { try await pipelinedReads() }
    }

    func pipelinedReads() async throws {
        try await withCluster(label: "fair") { c in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<8 {
                    let writer = try await c.client()
                    group.addTask { for i in 0..<625 { _ = try await writer.call("iam.CreateUser", ["UserName": .string("u\(w)-\(i)")]) } }
                }
                try await group.waitForAll()
            }
            let other = try await c.client()
            let hog = try c.rawClient()
            let n = 3000
            var lines: [UInt8] = []
            for i in 1...n {
                lines += RPCMessage.request(id: .number(i), method: "iam.ListUsers", params: ["PathPrefix": "/none/", "MaxItems": 1000]).line
            }
            let finish = Finish()
            let reader = Thread {
                while finish.answers.load(ordering: .relaxed) < n {
                    // Every line is an answer (counted, not parsed: the count must keep up with the node).
                    guard hog.readLine(timeout: 60) != nil else { return }
                    finish.answers.add(1, ordering: .relaxed)
                }
                finish.lastAnswer.withLock { $0 = Date().timeIntervalSince1970 }
            }
            reader.start()
            let pipeline = lines
            let writer = Thread { try? hog.send(pipeline) }
            writer.start()
            #expect(try await eventually { finish.answers.load(ordering: .relaxed) > 20 }, "the hog's reads are under way")
            var most = 0
            for _ in 0..<20 {
                let before = finish.answers.load(ordering: .relaxed)
                _ = try await other.call("sts.GetCallerIdentity")
                most = max(most, finish.answers.load(ordering: .relaxed) - before)
            }
            let otherDone = Date().timeIntervalSince1970
            #expect(most < 100, "\(most) of the hog's reads were answered while the other client waited for one call")
            #expect(finish.answers.load(ordering: .relaxed) < n, "the other client waited for the whole pipeline")
            #expect(try await eventually(timeout: 120) { finish.lastAnswer.withLock { $0 } != nil })
            #expect(finish.answers.load(ordering: .relaxed) == n, "every pipelined read is answered")
            #expect((finish.lastAnswer.withLock { $0 } ?? 0) > otherDone)
        }
    }

    @Test("SIM-2 out of file descriptors, the node refuses new connections without spinning and keeps serving")
    func descriptorLimit() async throws {
        try await withCluster(label: "fds") { c in
            let pid = try #require(c.account(0).pid)
            let client = try await c.client()
            let limited = try await runProcess("/usr/bin/prlimit", ["--pid", String(pid), "--nofile=64:64"])
            try #require(limited.exitCode == 0, "prlimit: \(limited.stderrText)")
            var held: [RawConnection] = []
            var refusal: JSON? = nil
            for _ in 0..<100 {
                let conn = try RawConnection(host: c.account(0).host, port: c.account(0).port)
                let first = conn.readJSON(timeout: 5)
                if first?["method"] == "auth.Challenge" { held.append(conn); continue }
                refusal = first
                break
            }
            let r = try #require(refusal, "100 connections and none refused (held \(held.count))")
            #expect(r["error"]?["data"]?["type"] == "ThrottlingException", "\(r)")
            // More connections keep coming in; the node answers each with a refusal, not a spin.
            let before = cpuSeconds(pid)
            for _ in 0..<50 {
                let conn = try RawConnection(host: c.account(0).host, port: c.account(0).port)
                #expect(conn.readJSON(timeout: 5)?["error"]?["data"]?["type"] == "ThrottlingException")
            }
            try await Task.sleep(nanoseconds: 1_000_000_000)  // measuring the node's CPU over a second, not synchronising
            let used = cpuSeconds(pid) - before
            #expect(used < 0.5, "the node used \(used) s of CPU refusing 50 connections over about a second")
            _ = try await client.call("iam.CreateUser", ["UserName": "still-writing"])
            #expect(try await client.call("iam.GetUser", ["UserName": "still-writing"])["User"]?["UserName"] == "still-writing")
            held.removeAll()
            #expect(try await eventually { (try? RawConnection(host: c.account(0).host, port: c.account(0).port))?.readJSON(timeout: 2)?["method"] == "auth.Challenge" })
        }
    }
}
