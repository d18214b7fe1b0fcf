import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// A job started by A on B's configured audience model, through real node processes: two ARNs,
/// one run, what each side sees.
@Suite struct StartAndReadTests {
    @Test("XA-1 XA-2 XA-3: one job under two ARNs with the same id, run once on B, both copies reach ACTIVE and are listed in their own account")
    func oneJobTwoARNs() async throws {
        try await withCluster(accounts: 2, label: "xa1") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("campaign")
            let arnB = s.otherARN(arnA)
            // XA-1: A's account in A's ARN, B's in B's, the same id.
            #expect(arnA.hasPrefix("arn:aws:cleanrooms-ml:us-west-1:\(s.accountA):audience-generation-job/"))
            #expect(arnA.split(separator: "/").last == arnB.split(separator: "/").last)
            // XA-2: both copies end ACTIVE; B's copy is the one with the run's audience.
            let jobA = try await s.waitFor(s.a, arnA)
            let jobB = try await s.waitFor(s.b, arnB)
            try #require(jobB["status"] == "ACTIVE", "B's copy: \(jobB)")
            try #require(jobA["status"] == "ACTIVE", "A's copy: \(jobA)")
            #expect(jobA["audienceGenerationJobArn"]?.stringValue == arnA)
            #expect(jobB["audienceGenerationJobArn"]?.stringValue == arnB)
            // XA-3: each account lists its own copy, and only that.
            let listA = try await s.a.call("cleanroomsml.ListAudienceGenerationJobs")["audienceGenerationJobs"]?.arrayValue ?? []
            let listB = try await s.b.call("cleanroomsml.ListAudienceGenerationJobs")["audienceGenerationJobs"]?.arrayValue ?? []
            #expect(listA.map { $0["audienceGenerationJobArn"]?.stringValue } == [arnA])
            #expect(listB.map { $0["audienceGenerationJobArn"]?.stringValue } == [arnB])
            // XA-5: B's copy is named ACCOUNT-NAME; startedBy is A on both.
            #expect(jobA["name"] == "campaign")
            #expect(jobB["name"]?.stringValue == "\(s.accountA)-campaign")
            #expect(jobA["startedBy"]?.stringValue == s.accountA)
            #expect(jobB["startedBy"]?.stringValue == s.accountA)
            // XA-2: the run happened once, on B: B's node did the work (its status moved through
            // CREATE_IN_PROGRESS), A's node has no audience of its own and only mirrors.
            #expect(jobB["metrics"]?["relevanceMetrics"]?.arrayValue?.count == 2)
        }
    }

    @Test("XA-4: through the other account's ARN, Get, Delete and StartAudienceExportJob are denied, identically whether or not the job exists")
    func ownARNOnly() async throws {
        try await withCluster(accounts: 2, label: "xa4") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("mine")
            let arnB = s.otherARN(arnA)
            try await s.waitFor(s.b, arnB)
            let missing = arnB.replacingOccurrences(of: String(arnB.suffix(12)), with: "000000000000")
            for (client, arn, absent) in [(s.a, arnB, missing), (s.b, arnA, s.otherARN(missing))] {
                var answers: [String] = []
                for target in [arn, absent] {
                    for (method, params) in [("cleanroomsml.GetAudienceGenerationJob", JSON.object(["audienceGenerationJobArn": .string(target)])),
                                             ("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(target)]),
                                             ("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(target), "name": "x",
                                                                                      "audienceSize": ["type": "ABSOLUTE", "value": 50]])] {
                        do {
                            _ = try await client.call(method, params)
                            answers.append("\(method): allowed")
                        } catch RPCCallError.service(let e) {
                            // The message names the ARN asked for; with it taken out, both answers must match.
                            answers.append("\(e.type): \(e.message.replacingOccurrences(of: target, with: "ARN"))")
                        }
                    }
                }
                #expect(answers.allSatisfy { $0.hasPrefix("AccessDeniedException") }, "\(answers)")
                #expect(Array(answers[0..<3]) == Array(answers[3..<6]), "the answer differs for an existing job: \(answers)")
            }
            // Nothing was deleted by those calls.
            #expect(try await s.waitFor(s.a, arnA)["status"] == "ACTIVE")
            #expect(try await s.waitFor(s.b, arnB)["status"] == "ACTIVE")
        }
    }

    @Test("PV-1 PV-3: B's copy shows no seed; A's copy shows no location of B's and the metrics only because the CAM shares them; with NONE, A sees no metrics")
    func whatEachSideSees() async throws {
        try await withCluster(accounts: 2, label: "pv") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("shared")
            let jobA = try await s.waitFor(s.a, arnA)
            let jobB = try await s.waitFor(s.b, s.otherARN(arnA))
            #expect(jobB["seedAudience"] == nil)
            #expect(!JSONWriter.string(jobB).contains("s3://seeds"))
            #expect(jobA["seedAudience"]?["dataSource"]?["s3Uri"]?.stringValue == s.seedURI)
            #expect(!JSONWriter.string(jobA).contains("s3://data") && !JSONWriter.string(jobA).contains("s3://out"))
            #expect(jobA["metrics"] == jobB["metrics"])
            #expect(jobA["metrics"] != nil)

            // With sharedAudienceMetrics NONE, A never gets metrics.
            let camNone = try await s.addCAM("cam-none", sharedMetrics: "NONE")
            var params = s.startParams(name: "unshared")
            params["configuredAudienceModelArn"] = .string(camNone)
            let arn2 = try #require(try await s.a.call("cleanroomsml.StartAudienceGenerationJob", params)["audienceGenerationJobArn"]?.stringValue)
            let b2 = try await s.waitFor(s.b, s.otherARN(arn2))
            let a2 = try await s.waitFor(s.a, arn2)
            #expect(b2["metrics"] != nil)
            #expect(a2["status"] == "ACTIVE")
            #expect(a2["metrics"] == nil)
        }
    }

    @Test("PV-2: a seed given as SQL is refused without a collaboration, so the owner never learns of one; the owner's copy says nothing about the seed's kind")
    func sqlSeedsDoNotCross() async throws {
        try await withCluster(accounts: 2, label: "pv2") { c in
            let s = try await CrossAccountScene.prepare(c)
            var params = s.startParams(name: "sql")
            params["seedAudience"] = ["sqlParameters": ["queryString": "SELECT user_id FROM seeds"], "roleArn": .string(s.roleA)]
            #expect(await errorType { _ = try await s.a.call("cleanroomsml.StartAudienceGenerationJob", params) } == "ValidationException")
            #expect(try await s.b.call("admin.Status")["audienceGenerationJobs"] == 0)
            let arn = try await s.start("s3-seed")
            let copyB = try await s.waitFor(s.b, s.otherARN(arn))
            let text = JSONWriter.string(copyB)
            #expect(copyB["seedAudience"] == nil && copyB["protectedQueryIdentifier"] == nil)
            #expect(!text.contains("sqlParameters") && !text.contains("dataSource") && !text.contains("s3Uri"))
        }
    }

    @Test("XA-7: other Clean Rooms ML operations on B's resources are denied to A, even with a resource policy that allows A everything")
    func onlyStartCrosses() async throws {
        try await withCluster(accounts: 2, label: "xa7") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("crossing")
            let arnB = s.otherARN(arnA)
            try await s.waitFor(s.b, arnB)
            _ = try await s.b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn), "configuredAudienceModelPolicy": .string(
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\#(s.accountA)"},"Action":"cleanrooms-ml:*","Resource":"*"}]}"#)])
            let model = try await s.b.call("cleanroomsml.GetConfiguredAudienceModel", ["configuredAudienceModelArn": .string(s.camArn)])["audienceModelArn"] ?? .null
            let calls: [(String, JSON)] = [
                ("cleanroomsml.GetConfiguredAudienceModel", ["configuredAudienceModelArn": .string(s.camArn)]),
                ("cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn)]),
                ("cleanroomsml.UpdateConfiguredAudienceModel", ["configuredAudienceModelArn": .string(s.camArn), "minMatchingSeedSize": 30]),
                ("cleanroomsml.DeleteConfiguredAudienceModel", ["configuredAudienceModelArn": .string(s.camArn)]),
                ("cleanroomsml.GetAudienceModel", ["audienceModelArn": model]),
                ("cleanroomsml.TagResource", ["resourceArn": .string(s.camArn), "tags": ["x": "y"]]),
                ("cleanroomsml.ListTagsForResource", ["resourceArn": .string(arnB)]),
                ("cleanroomsml.ListAudienceExportJobs", ["audienceGenerationJobArn": .string(arnB)]),
            ]
            for (method, params) in calls {
                #expect(await errorType { _ = try await s.a.call(method, params) } == "AccessDeniedException", "\(method)")
            }
            // And the start itself still crosses.
            _ = try await s.start("still-crossing")
        }
    }
}
