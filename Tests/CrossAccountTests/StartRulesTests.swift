import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// Who may start a job on another account's CAM, what a refused or failed start leaves (nothing),
/// names, tags and the audit trail, through real node processes.
@Suite struct StartRulesTests {
    static func count(_ client: RPCClient) async throws -> Int {
        try await client.call("admin.Status")["audienceGenerationJobs"]?.intValue ?? -1
    }

    /// A user of A with `policy` and an access key, as a connected client.
    static func user(_ s: CrossAccountScene, _ name: String, policy: String, account: Int = 0) async throws -> RPCClient {
        let admin = account == 0 ? s.a : s.b
        _ = try await admin.call("iam.CreateUser", ["UserName": .string(name)])
        _ = try await admin.call("iam.PutUserPolicy", ["UserName": .string(name), "PolicyName": "p", "PolicyDocument": .string(policy)])
        let key = try await admin.call("iam.CreateAccessKey", ["UserName": .string(name)])["AccessKey"]
        return try await s.cluster.client(account, credentials: .accessKey(key?["AccessKeyId"]?.stringValue ?? "", secret: key?["SecretAccessKey"]?.stringValue ?? ""))
    }

    static func policy(_ statements: String...) -> String { #"{"Version":"2012-10-17","Statement":[\#(statements.joined(separator: ","))]}"# }
    static func allow(_ actions: String, _ resources: String) -> String { #"{"Effect":"Allow","Action":\#(actions),"Resource":\#(resources)}"# }

    @Test("XA-5: A's names are unique among its jobs; a B-side collision on ACCOUNT-NAME fails the whole start with ConflictException and leaves no job")
    func names() async throws {
        try await withCluster(accounts: 2, label: "xa5") { c in
            let s = try await CrossAccountScene.prepare(c)
            _ = try await s.start("taken")
            #expect(await errorType { _ = try await s.start("taken") } == "ConflictException")
            // B already has a job of its own named A-clash (a start on its CAM within B).
            _ = try await s.b.call("s3.CreateBucket", ["Bucket": "bseed"])
            _ = try await s.b.call("s3.PutObject", ["Bucket": "bseed", "Key": "s.csv", "Body": .string(Base64.encode(s.files.seed))])
            _ = try await s.b.call("cleanroomsml.StartAudienceGenerationJob", [
                "name": .string("\(s.accountA)-clash"), "configuredAudienceModelArn": .string(s.camArn),
                "seedAudience": ["dataSource": ["s3Uri": "s3://bseed/s.csv"], "roleArn": .string("arn:aws:iam::\(s.accountB):role/ml")]])
            let (beforeA, beforeB) = (try await Self.count(s.a), try await Self.count(s.b))
            #expect(await errorType { _ = try await s.start("clash") } == "ConflictException")
            #expect(try await Self.count(s.a) == beforeA)
            #expect(try await Self.count(s.b) == beforeB)
            #expect(try await s.a.call("admin.Status")["startIntents"] == 0, "the name A reserved is free again")
            _ = try await s.start("clash-2")
        }
    }

    @Test("XA-6: A's identity policy on A's job ARN and B's resource policy on B's job ARN and the CAM must all allow; any Deny wins; a refused start leaves nothing")
    func threeResources() async throws {
        try await withCluster(accounts: 2, label: "xa6") { c in
            let s = try await CrossAccountScene.prepare(c)
            let jobsA = "arn:aws:cleanrooms-ml:us-west-1:\(s.accountA):audience-generation-job/*"
            let jobsB = "arn:aws:cleanrooms-ml:us-west-1:\(s.accountB):audience-generation-job/*"
            let passRole = #"{"Effect":"Allow","Action":"iam:PassRole","Resource":"\#(s.roleA)"}"#
            let start = #""cleanrooms-ml:StartAudienceGenerationJob""#

            // A's side: allowed on the CAM only (not on A's job ARN) is not enough.
            let camOnly = try await Self.user(s, "cam-only", policy: Self.policy(Self.allow(start, "\"\(s.camArn)\""), passRole))
            #expect(await errorType { _ = try await s.start("a1", client: camOnly) } == "AccessDeniedException")
            // Allowed on A's job ARN: enough on A's side (B's resource policy does the rest).
            let jobOnly = try await Self.user(s, "job-only", policy: Self.policy(Self.allow(start, "\"\(jobsA)\""), passRole))
            _ = try await s.start("a2", client: jobOnly)
            // Without iam:PassRole for the seed's role: denied.
            let noPass = try await Self.user(s, "no-pass", policy: Self.policy(Self.allow(start, "\"*\"")))
            #expect(await errorType { _ = try await s.start("a3", client: noPass) } == "AccessDeniedException")
            // Tags in the request need cleanrooms-ml:TagResource too.
            #expect(await errorType { _ = try await s.start("a4", tags: ["k": "v"], client: jobOnly) } == "AccessDeniedException")

            // B's side: the resource policy must name both B's job ARN and the CAM.
            let before = try await Self.count(s.b)
            func resourcePolicy(_ text: String) async throws {
                _ = try await s.b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn), "configuredAudienceModelPolicy": .string(text)])
            }
            let principalA = #"{"AWS":["\#(s.accountA)"]}"#
            for (label, text) in [
                ("CAM only", Self.policy(#"{"Effect":"Allow","Principal":\#(principalA),"Action":\#(start),"Resource":"\#(s.camArn)"}"#)),
                ("jobs only", Self.policy(#"{"Effect":"Allow","Principal":\#(principalA),"Action":\#(start),"Resource":"\#(jobsB)"}"#)),
                ("another account", Self.policy(#"{"Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":\#(start),"Resource":["\#(s.camArn)","\#(jobsB)"]}"#)),
                ("allow plus deny", Self.policy(#"{"Effect":"Allow","Principal":\#(principalA),"Action":\#(start),"Resource":["\#(s.camArn)","\#(jobsB)"]}"#,
                                                #"{"Effect":"Deny","Principal":"*","Action":"cleanrooms-ml:*","Resource":"\#(jobsB)"}"#)),
            ] {
                try await resourcePolicy(text)
                #expect(await errorType { _ = try await s.start("b-\(label)") } == "AccessDeniedException", "\(label)")
            }
            _ = try await s.b.call("cleanroomsml.DeleteConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn)])
            #expect(await errorType { _ = try await s.start("b-none") } == "AccessDeniedException", "no resource policy")
            #expect(try await Self.count(s.b) == before, "a refused start left a job in B")
            #expect(try await Self.count(s.a) == 1, "a refused start left a job in A")

        }
    }

    @Test("XA-1: B unreachable fails the start with a retryable InternalServiceException and no job on either side")
    func ownerUnreachable() async throws {
        try await withCluster(accounts: 2, label: "xa1-down") { c in
            let s = try await CrossAccountScene.prepare(c)
            try await c.kill(1)
            do {
                _ = try await s.start("nobody-home")
                Issue.record("the start succeeded with B down")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "InternalServiceException")
                #expect(e.httpStatus == 500, "a 5xx, which AWS SDKs retry")
            }
            #expect(try await Self.count(s.a) == 0)
            try await c.restart(1)
            let b = try await c.client(1)
            #expect(try await DeleteTests.settled(b))
            #expect(try await DeleteTests.settled(s.a))
            _ = try await s.start("nobody-home")  // the name is free, and the retry works
        }
    }

    @Test("XA-1 XA-8: A crashes after B created its copy and before A committed; A's recovery aborts the start and B's copy goes")
    func presumedAbort() async throws {
        try await withCluster(accounts: 2, label: "xa1-abort") { c in
            let s = try await CrossAccountScene.prepare(c)
            _ = try await s.a.call("admin.ArmFailpoint", ["name": "start.after-peer-created"])
            #expect(await errorType { _ = try await s.start("doomed") } != nil, "the call cannot succeed: A crashed before answering")
            #expect(try await eventually { try await Self.count(s.b) == 1 }, "B never created its copy")
            try await c.restart(0)
            let a = try await c.client(0)
            #expect(try await DeleteTests.settled(s.b), "B's copy outlived A's recovery")
            #expect(try await DeleteTests.settled(a))
            #expect(try await a.call("admin.Status")["tombstones"] == 1)
        }
    }

    @Test("TG-2 TG-3 XA-9: request tags stay in A; B's copy carries the CAM's tags (or none with NONE); retagging one copy leaves the other; tag-based access sees each copy's own tags")
    func tags() async throws {
        try await withCluster(accounts: 2, label: "tg") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("tagged", tags: ["project": "x", "team": "a-side"])
            let arnB = s.otherARN(arnA)
            let jobA = try await s.waitFor(s.a, arnA), jobB = try await s.waitFor(s.b, arnB)
            #expect(jobA["tags"] == ["project": "x", "team": "a-side"])
            #expect(jobB["tags"] == ["team": "models", "env": "b"], "FROM_PARENT_RESOURCE: the CAM's tags, none of the request's")
            // TG-3: each side retags its own copy.
            _ = try await s.a.call("cleanroomsml.TagResource", ["resourceArn": .string(arnA), "tags": ["stage": "a"]])
            _ = try await s.b.call("cleanroomsml.UntagResource", ["resourceArn": .string(arnB), "tagKeys": ["env"]])
            #expect(try await s.a.call("cleanroomsml.ListTagsForResource", ["resourceArn": .string(arnA)])["tags"] == ["project": "x", "team": "a-side", "stage": "a"])
            #expect(try await s.b.call("cleanroomsml.ListTagsForResource", ["resourceArn": .string(arnB)])["tags"] == ["team": "models"])
            #expect(await errorType { _ = try await s.a.call("cleanroomsml.TagResource", ["resourceArn": .string(arnB), "tags": ["x": "y"]]) } == "AccessDeniedException")
            // XA-9: a tag condition in each account sees that account's copy.
            let onlyProjectX = Self.policy(#"{"Effect":"Allow","Action":"cleanrooms-ml:GetAudienceGenerationJob","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/project":"x"}}}"#)
            let readerA = try await Self.user(s, "reader", policy: onlyProjectX, account: 0)
            let readerB = try await Self.user(s, "reader", policy: onlyProjectX, account: 1)
            #expect(await CrossAccountScene.get(readerA, arnA).job != nil)
            #expect(await CrossAccountScene.get(readerB, arnB).error == "AccessDeniedException")

            // NONE: B's copy has no tags at all.
            var params = s.startParams(name: "untagged", tags: ["project": "y"])
            params["configuredAudienceModelArn"] = .string(try await s.addCAM("cam-none", tagPolicy: "NONE", tags: ["team": "models"]))
            let arn2 = try #require(try await s.a.call("cleanroomsml.StartAudienceGenerationJob", params)["audienceGenerationJobArn"]?.stringValue)
            #expect(try await s.waitFor(s.b, s.otherARN(arn2))["tags"] == nil)
            #expect(try await s.waitFor(s.a, arn2)["tags"] == ["project": "y"])
        }
    }

    @Test("XA-10: the start is in A's audit trail only; each call in its caller's trail; a propagated delete leaves no event in the other account")
    func audit() async throws {
        try await withCluster(accounts: 2, label: "xa10") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("audited")
            try await s.waitFor(s.b, s.otherARN(arnA))
            func events(_ client: RPCClient, _ name: String) async throws -> [JSON] {
                try await client.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": .string(name)]]])["Events"]?.arrayValue ?? []
            }
            let startsA = try await events(s.a, "StartAudienceGenerationJob")
            #expect(startsA.count == 1)
            #expect(startsA.first?["Resources"]?[0]?["ResourceName"]?.stringValue == arnA)
            #expect(try await events(s.b, "StartAudienceGenerationJob").isEmpty)
            // Only B read the job (waiting for it): every read is in B's trail, none in A's.
            #expect(try await events(s.b, "GetAudienceGenerationJob").count >= 1)
            #expect(try await events(s.a, "GetAudienceGenerationJob").isEmpty)
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(try await DeleteTests.settled(s.b))
            #expect(try await events(s.a, "DeleteAudienceGenerationJob").count == 1)
            #expect(try await events(s.b, "DeleteAudienceGenerationJob").isEmpty)
        }
    }
}
