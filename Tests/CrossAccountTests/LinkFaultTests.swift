import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// SIM-3's link faults and failpoints, set with `crml fault` on a running cluster, and what the
/// cross-account guarantees do under them.
@Suite struct LinkFaultTests {
    static func crml(_ c: TestCluster, _ args: [String]) async throws -> ProcessResult {
        let r = try await c.crml(["fault"] + args)
        try #require(r.exitCode == 0, "crml fault \(args.joined(separator: " ")): \(r.stderrText)")
        return r
    }

    @Test("SIM-3 XA-8: crml fault partition, list and heal; a delete made across the cut lands when it heals")
    func partitionListHeal() async throws {
        try await withCluster(accounts: 2, label: "fault-cli") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("across")
            try #require(try await s.waitFor(s.a, arnA)["status"] == "ACTIVE")
            _ = try await Self.crml(c, ["partition", s.accountA, s.accountB])
            let list = try await Self.crml(c, ["list"]).stdoutText
            #expect(list.contains("\(s.accountA)  \(s.accountB)  drop 1") && list.contains("\(s.accountB)  \(s.accountA)  drop 1"), "\(list)")
            _ = try await s.b.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(s.otherARN(arnA))])
            #expect(try await s.b.call("admin.Status")["outbox"] == 1)
            #expect(await CrossAccountScene.get(s.a, arnA).job != nil, "the delete crossed a cut link")
            _ = try await Self.crml(c, ["heal"])
            #expect(try await Self.crml(c, ["list"]).stdoutText.contains("no link faults"))
            #expect(try await s.waitGone(s.a, arnA))
            #expect(try await DeleteTests.settled(s.b))
        }
    }

    @Test("SIM-3 XA-8: a failpoint armed with crml fault crashes the node after it logged a delete; after a restart the delete reaches the other side")
    func failpointAfterDeleteLog() async throws {
        try await withCluster(accounts: 2, label: "fault-fp") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("doomed")
            try #require(try await s.waitFor(s.b, s.otherARN(arnA))["status"] == "ACTIVE")
            _ = try await Self.crml(c, ["failpoint", s.accountA, "delete.after-log"])
            let table = try await Self.crml(c, ["failpoints"]).stdoutText.split(separator: "\n")
            #expect(table.contains { $0.hasPrefix("delete.after-log ") && $0.hasSuffix(s.accountA) }, "\(table)")
            // The answer may or may not get out before the crash; the delete is logged either way.
            _ = await errorType { _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)]) }
            #expect(try await eventually { (try? await s.a.call("admin.Ping")) == nil }, "A did not crash at the failpoint")
            #expect(try await s.b.call("admin.Status")["audienceGenerationJobs"] == 1)
            try await c.restart(0)
            let a = try await c.client(0)
            let afterRestart = await CrossAccountScene.get(a, arnA)
            #expect(afterRestart.error == "ResourceNotFoundException", "\(String(describing: afterRestart))")
            #expect(try await DeleteTests.settled(s.b), "the logged delete never reached B")
            #expect(try await DeleteTests.settled(a))
        }
    }

    @Test("SIM-3 XA-1 XA-8: with loss, duplication, reordering and jittered delay both ways, every start ends whole or not at all and every delete lands")
    func lossyLinks() async throws {
        try await withCluster(accounts: 2, label: "fault-lossy") { c in
            let s = try await CrossAccountScene.prepare(c)
            for (from, to) in [(s.accountA, s.accountB), (s.accountB, s.accountA)] {
                for args in [["loss", from, to, "0.2", "--one-way"], ["duplicate", from, to, "0.3", "--one-way"],
                             ["reorder", from, to, "0.3", "--one-way"], ["delay", from, to, "5ms", "--jitter", "5ms", "--one-way"]] {
                    _ = try await Self.crml(c, args)
                }
            }
            // Starts in parallel: each either succeeds, or fails with an error that leaves nothing.
            let outcomes = await withTaskGroup(of: (name: String, arn: String?, error: String?).self) { group in
                for k in 0..<8 {
                    group.addTask {
                        do { return ("j\(k)", try await s.start("j\(k)"), nil) } catch { return ("j\(k)", nil, "\(error)") }
                    }
                }
                var out: [(name: String, arn: String?, error: String?)] = []
                for await o in group { out.append(o) }
                return out
            }
            let started = outcomes.compactMap(\.arn)
            #expect(!started.isEmpty, "no start got through links that lose a fifth of the messages: \(outcomes)")
            // A start that succeeded is whole: both copies are there before anyone deletes them.
            for arn in started {
                #expect(await CrossAccountScene.get(s.a, arn).job != nil, "\(arn): the submitter's copy is missing")
                #expect(await CrossAccountScene.get(s.b, s.otherARN(arn)).job != nil, "\(arn): the owner's copy is missing")
            }
            // One that failed failed as a lost answer does: the retryable 500, never another error.
            for o in outcomes where o.arn == nil {
                #expect(o.error?.contains("InternalServiceException") == true, "\(o.name): \(o.error ?? "")")
            }
            // Delete what started, alternately from each side. (A start that failed left nothing, or
            // an abort that removes what it left.)
            for (k, arn) in started.enumerated() {
                let (client, target) = k % 2 == 0 ? (s.a, arn) : (s.b, s.otherARN(arn))
                _ = await errorType { _ = try await client.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(target)]) }
            }
            _ = try await Self.crml(c, ["heal"])
            // Converged: no job, no undelivered delete, no start in flight on either side.
            let settledA = try await DeleteTests.settled(s.a, timeout: 60), settledB = try await DeleteTests.settled(s.b, timeout: 60)
            let statusA = try await s.a.call("admin.Status"), statusB = try await s.b.call("admin.Status")
            #expect(settledA && settledB, "A: \(statusA)\nB: \(statusB)")
        }
    }

    @Test("SIM-3: an injected delay slows a cross-account start by at least the delay each way")
    func delay() async throws {
        try await withCluster(accounts: 2, label: "fault-delay") { c in
            let s = try await CrossAccountScene.prepare(c)
            _ = try await s.start("warm")
            _ = try await Self.crml(c, ["delay", s.accountA, s.accountB, "100ms"])
            let t0 = Date()
            _ = try await s.start("slow")
            let elapsed = Date().timeIntervalSince(t0)
            #expect(elapsed >= 0.2, "a start took \(elapsed) s with 100 ms each way")
            _ = try await Self.crml(c, ["heal", s.accountA, s.accountB])
            #expect(try await Self.crml(c, ["list"]).stdoutText.contains("no link faults"))
        }
    }
}
