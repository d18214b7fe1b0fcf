import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// XA-8 against real processes: either side deletes, and nothing the other side does, or
/// suffers, keeps the job or any of its data alive.
@Suite struct DeleteTests {
    /// B's node state as its admin endpoint reports it (which IAM cannot deny).
    static func status(_ client: RPCClient) async throws -> JSON { try await client.call("admin.Status") }

    /// Waits until `client`'s node holds no job, no undelivered message and no start in flight.
    static func settled(_ client: RPCClient, timeout: Double = 30) async throws -> Bool {
        try await eventually(timeout: timeout) {
            let s = try await status(client)
            return s["audienceGenerationJobs"] == 0 && s["outbox"] == 0 && s["startIntents"] == 0
        }
    }

    /// Everything of the job is gone from B's disk: export outputs and any seed held as a blob
    /// (blobs back to what they were before the job), and the audience file. (A small seed lives
    /// in the job's record and goes with it.)
    static func noDataLeft(_ c: TestCluster, baseline: Set<String>, jobID: String) -> Bool {
        c.files(1, "blobs") == baseline && !c.files(1, "audiences").contains("\(jobID).csv")
    }

    static func jobID(_ arn: String) -> String { String(arn.split(separator: "/").last ?? "") }

    @Test("XA-8: A deletes an ACTIVE job with exports from both sides; B's copy, the seed it held, the audience, the exports and their output go")
    func deleteRemovesEverything() async throws {
        try await withCluster(accounts: 2, label: "xa8-all") { c in
            let s = try await CrossAccountScene.prepare(c)
            let baseline = c.files(1, "blobs")
            let arnA = try await s.start("all")
            let arnB = s.otherARN(arnA)
            try #require(try await s.waitFor(s.b, arnB)["status"] == "ACTIVE")
            try #require(try await s.waitFor(s.a, arnA)["status"] == "ACTIVE")
            // ML-3 from both sides: B exports its copy, A exports through its own ARN.
            _ = try await s.b.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnB), "name": "b-top", "audienceSize": ["type": "ABSOLUTE", "value": 50]])
            _ = try await s.a.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnA), "name": "a-top", "audienceSize": ["type": "ABSOLUTE", "value": 100]])
            var exportsA: [JSON] = [], exportsB: [JSON] = []
            _ = try await eventually(timeout: 30) {
                exportsA = try await s.a.call("cleanroomsml.ListAudienceExportJobs", ["audienceGenerationJobArn": .string(arnA)])["audienceExportJobs"]?.arrayValue ?? []
                exportsB = try await s.b.call("cleanroomsml.ListAudienceExportJobs", ["audienceGenerationJobArn": .string(arnB)])["audienceExportJobs"]?.arrayValue ?? []
                return exportsA.first?["status"] == "ACTIVE" && exportsB.first?["status"] == "ACTIVE"
            }
            // Each export is recorded in the caller's account only; A's shows no location (PV-1).
            #expect(exportsA.map { $0["name"] } == ["a-top"])
            #expect(exportsB.map { $0["name"] } == ["b-top"])
            #expect(exportsA.first?["status"] == "ACTIVE" && exportsA.first?["outputLocation"] == nil)
            #expect(exportsB.first?["outputLocation"]?.stringValue?.hasPrefix("s3://out/audiences/") == true)
            let outputs = try await s.b.call("s3.ListObjectsV2", ["Bucket": "out"])["Contents"]?.arrayValue ?? []
            #expect(outputs.count == 2, "both exports ran on B and wrote to the CAM's output location")

            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(await CrossAccountScene.get(s.a, arnA).error == "ResourceNotFoundException", "A's copy is gone when the delete is acknowledged")
            #expect(try await s.waitGone(s.b, arnB))
            #expect(try await eventually { Self.noDataLeft(c, baseline: baseline, jobID: Self.jobID(arnA)) }, "B's disk still holds \(c.files(1, "blobs").subtracting(baseline))")
            #expect((try await s.b.call("s3.ListObjectsV2", ["Bucket": "out"])["Contents"]?.arrayValue ?? []).isEmpty)
            #expect(try await s.b.call("cleanroomsml.ListAudienceExportJobs")["audienceExportJobs"] == [])
            #expect(try await s.a.call("cleanroomsml.ListAudienceExportJobs")["audienceExportJobs"] == [])
            #expect(try await Self.settled(s.a))
            #expect(try await Self.settled(s.b))
        }
    }

    @Test("XA-8 XA-9: B denies everything (identity policy, resource policy, SCP) and A's delete still removes B's copy")
    func denyEverythingCannotBlock() async throws {
        try await withCluster(accounts: 2, label: "xa8-deny") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("blocked?")
            let arnB = s.otherARN(arnA)
            try #require(try await s.waitFor(s.b, arnB)["status"] == "ACTIVE")
            let denyAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
            // Resource policy: deny A everything on the CAM and its jobs.
            _ = try await s.b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", [
                "configuredAudienceModelArn": .string(s.camArn),
                "configuredAudienceModelPolicy": .string(#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#)])
            // Tags that a tag-based policy could key on.
            _ = try await s.b.call("cleanroomsml.TagResource", ["resourceArn": .string(arnB), "tags": ["protected": "true"]])
            // Identity policy: B's admin denies itself everything.
            _ = try await s.b.call("iam.PutUserPolicy", ["UserName": "admin", "PolicyName": "deny-all", "PolicyDocument": .string(denyAll)])
            // SCP: B joins an organization whose SCP denies everything (a restart reads it).
            try await c.changeClusterFile(restarting: 1) { file in
                file.organizations = [.init(id: "o-denyall", managementAccount: AccountID("999999999999")!, members: [AccountID(s.accountB)!],
                                            policies: [.init(name: "deny-all", document: denyAll)])]
            }
            let b = try await c.client(1)
            #expect(await CrossAccountScene.get(b, arnB).error == "AccessDeniedException", "B's own principals can no longer read the job")
            #expect(try await Self.status(b)["audienceGenerationJobs"] == 1)

            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(try await Self.settled(b), "B's copy survived A's delete")
            #expect(try await Self.settled(s.a))
        }
    }

    @Test("XA-8: B's node is killed, A deletes (answered at once), B restarts and its copy goes")
    func deleteWhileOtherNodeDown() async throws {
        try await withCluster(accounts: 2, label: "xa8-down") { c in
            let s = try await CrossAccountScene.prepare(c)
            let baseline = c.files(1, "blobs")
            let arnA = try await s.start("down")
            try #require(try await s.waitFor(s.b, s.otherARN(arnA))["status"] == "ACTIVE")
            try await c.kill(1)
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(await CrossAccountScene.get(s.a, arnA).error == "ResourceNotFoundException")
            #expect(try await Self.status(s.a)["outbox"] == 1, "the delete waits in A's outbox for B")
            try await c.restart(1)
            let b = try await c.client(1)
            #expect(try await Self.settled(b))
            #expect(try await Self.settled(s.a), "A's outbox never drained")
            #expect(Self.noDataLeft(c, baseline: baseline, jobID: Self.jobID(arnA)))
        }
    }

    @Test("XA-8: with the link cut both ways B deletes; A's copy goes once the link heals")
    func deleteAcrossAPartition() async throws {
        try await withCluster(accounts: 2, label: "xa8-cut") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("cut")
            let arnB = s.otherARN(arnA)
            try #require(try await s.waitFor(s.a, arnA)["status"] == "ACTIVE")
            _ = try await s.a.call("admin.SetLinkFault", ["peer": .string(s.accountB), "drop": 1])
            _ = try await s.b.call("admin.SetLinkFault", ["peer": .string(s.accountA), "drop": 1])
            _ = try await s.b.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnB)])
            #expect(await CrossAccountScene.get(s.b, arnB).error == "ResourceNotFoundException")
            // Cut off, A still has its copy, and B keeps the delete until A acknowledges it.
            #expect(await CrossAccountScene.get(s.a, arnA).job?["status"] == "ACTIVE")
            #expect(try await Self.status(s.b)["outbox"] == 1)
            _ = try await s.a.call("admin.HealLinks")
            _ = try await s.b.call("admin.HealLinks")
            #expect(try await s.waitGone(s.a, arnA))
            #expect(try await Self.settled(s.a))
            #expect(try await Self.settled(s.b))
        }
    }

    @Test("XA-8: both sides delete at the same moment; neither is refused (at most one finds the job already gone) and both copies go")
    func bothDeleteAtOnce() async throws {
        try await withCluster(accounts: 2, label: "xa8-both") { c in
            let s = try await CrossAccountScene.prepare(c)
            for round in 0..<3 {
                let arnA = try await s.start("both-\(round)")
                let arnB = s.otherARN(arnA)
                try #require(try await s.waitFor(s.b, arnB)["status"] == "ACTIVE")
                async let fromA = errorType { _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)]) }
                async let fromB = errorType { _ = try await s.b.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnB)]) }
                let (ra, rb) = await (fromA, fromB)
                // Each call succeeds, or finds the job already deleted by the other side's call.
                let fine: Set<String?> = [nil, "ResourceNotFoundException"]
                #expect(fine.contains(ra) && fine.contains(rb) && (ra == nil || rb == nil), "A: \(ra ?? "ok"), B: \(rb ?? "ok")")
            }
            #expect(try await Self.settled(s.a))
            #expect(try await Self.settled(s.b))
            #expect(try await Self.status(s.a)["tombstones"] == 3)
            #expect(try await Self.status(s.b)["tombstones"] == 3)
        }
    }

    @Test("XA-8: a delete during the run cancels it; nothing comes back when the run would have finished")
    func deleteDuringTheRun() async throws {
        try await withCluster(accounts: 2, label: "xa8-run") { c in
            let s = try await CrossAccountScene.prepare(c)
            let baseline = c.files(1, "blobs")
            _ = try await s.b.call("admin.SetWorkDelay", ["seconds": 10])
            let arnA = try await s.start("running")
            // A sees the run in progress (pushed by B), then deletes.
            try #require(try await s.waitFor(s.a, arnA, status: ["CREATE_IN_PROGRESS"])["status"] == "CREATE_IN_PROGRESS")
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(try await s.waitGone(s.b, s.otherARN(arnA), timeout: 8), "B's copy outlived the delete")
            // Had the run gone on, it would end after its 10 s; the job must stay gone on both sides.
            _ = try await s.b.call("admin.SetWorkDelay", ["seconds": 0])
            let check = try await s.start("after")  // a later job runs to completion past the cancelled one
            #expect(try await s.waitFor(s.a, check)["status"] == "ACTIVE")
            #expect(await CrossAccountScene.get(s.a, arnA).error == "ResourceNotFoundException")
            #expect(await CrossAccountScene.get(s.b, s.otherARN(arnA)).error == "ResourceNotFoundException")
            #expect(!c.files(1, "audiences").contains("\(Self.jobID(arnA)).csv"))
            #expect(c.files(1, "blobs") == baseline, "blobs of the cancelled job are left on B")
        }
    }

    @Test("XA-8: a delete during an export cancels it and leaves no output")
    func deleteDuringAnExport() async throws {
        try await withCluster(accounts: 2, label: "xa8-export") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("exporting")
            try #require(try await s.waitFor(s.a, arnA)["status"] == "ACTIVE")
            _ = try await s.b.call("admin.SetWorkDelay", ["seconds": 10])
            _ = try await s.a.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arnA), "name": "slow", "audienceSize": ["type": "ABSOLUTE", "value": 50]])
            _ = try await eventually {
                try await s.a.call("cleanroomsml.ListAudienceExportJobs")["audienceExportJobs"]?[0]?["status"] == "CREATE_IN_PROGRESS"
            }
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(try await s.waitGone(s.b, s.otherARN(arnA), timeout: 8))
            _ = try await s.b.call("admin.SetWorkDelay", ["seconds": 0])
            let check = try await s.start("after")
            #expect(try await s.waitFor(s.a, check)["status"] == "ACTIVE")
            #expect((try await s.b.call("s3.ListObjectsV2", ["Bucket": "out"])["Contents"]?.arrayValue ?? []).isEmpty, "the cancelled export wrote its output")
            #expect(try await s.a.call("cleanroomsml.ListAudienceExportJobs")["audienceExportJobs"] == [])
        }
    }

    @Test("XA-8: a start message duplicated after the delete, and a late status push, do not bring the job back")
    func noResurrection() async throws {
        try await withCluster(accounts: 2, label: "xa8-dup") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("once")
            let id = Self.jobID(arnA)
            try #require(try await s.waitFor(s.a, arnA)["status"] == "ACTIVE")
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(try await Self.settled(s.b))
            // A's node's start message again, as the network might deliver a duplicate.
            let asA = try await c.peerClient(from: 0, to: 1)
            let duplicate: JSON = ["jobID": .string(id), "name": "once", "configuredAudienceModelArn": .string(s.camArn), "includeSeedInOutput": false,
                                   "requestTags": [:], "principal": ["arn": .string("arn:aws:iam::\(s.accountA):user/admin"), "kind": "user", "name": "admin"],
                                   "seedData": [.string(Base64.encode(s.files.seed))]]
            let refused = await errorType { _ = try await asA.call("peer.StartJob", duplicate) }
            #expect(refused == "ConflictException")
            // B's node's status push again, late.
            let asB = try await c.peerClient(from: 1, to: 0)
            _ = try await asB.call("peer.JobStatus", ["jobs": [["jobID": .string(id), "status": "ACTIVE", "updateTime": 1]], "exports": []])
            #expect(await CrossAccountScene.get(s.a, arnA).error == "ResourceNotFoundException")
            #expect(await CrossAccountScene.get(s.b, s.otherARN(arnA)).error == "ResourceNotFoundException")
            #expect(try await Self.status(s.a)["audienceGenerationJobs"] == 0)
            #expect(try await Self.status(s.b)["audienceGenerationJobs"] == 0)
        }
    }
}
