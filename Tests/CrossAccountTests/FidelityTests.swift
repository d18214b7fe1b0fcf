import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// Where a node answered other than AWS would, on real processes: a deny in the submitter's own
/// policies on the owner's resources, names that would not fit the owner's copy, and deletes
/// after the owner let go of its CAM or of the collaboration.
@Suite struct FidelityTests {
    static let start = #""cleanrooms-ml:StartAudienceGenerationJob""#

    @Test("XA-6: an explicit Deny in the submitter's identity policies on the owner's job ARN or on the CAM refuses the start, and nothing is created")
    func submitterDenyOnOwnerResources() async throws {
        try await withCluster(accounts: 2, label: "xa6-deny") { c in
            let s = try await CrossAccountScene.prepare(c)
            let passRole = #"{"Effect":"Allow","Action":"iam:PassRole","Resource":"\#(s.roleA)"}"#
            let jobsB = "arn:aws:cleanrooms-ml:us-west-1:\(s.accountB):audience-generation-job/*"
            for (k, resource) in [jobsB, s.camArn].enumerated() {
                let user = try await StartRulesTests.user(s, "deny-\(k)", policy: StartRulesTests.policy(
                    StartRulesTests.allow(Self.start, "\"*\""), passRole, #"{"Effect":"Deny","Action":\#(Self.start),"Resource":"\#(resource)"}"#))
                do {
                    _ = try await s.start("denied-\(k)", client: user)
                    Issue.record("a Deny on \(resource) did not refuse the start")
                } catch RPCCallError.service(let e) {
                    #expect(e.type == "AccessDeniedException")
                    #expect(e.message.contains("explicit deny") && e.message.contains(resource.replacingOccurrences(of: "*", with: "")), "\(e.message)")
                }
            }
            let (jobsA, jobsB2) = (try await StartRulesTests.count(s.a), try await StartRulesTests.count(s.b))
            #expect(jobsA == 0 && jobsB2 == 0, "a refused start left a job")
            // The same user without the Deny starts (the allow was enough on A's side).
            let allowed = try await StartRulesTests.user(s, "allowed", policy: StartRulesTests.policy(StartRulesTests.allow(Self.start, "\"*\""), passRole))
            _ = try await s.start("allowed", client: allowed)
            #expect(try await StartRulesTests.count(s.b) == 1)
        }
    }

    @Test("XA-6 XA-9: an SCP of the submitter's organization that denies starts on other accounts' resources refuses the start")
    func submitterSCPDeniesAStart() async throws {
        try await withCluster(accounts: 2, label: "xa6-scp") { c in
            let s = try await CrossAccountScene.prepare(c)
            let scp = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cleanrooms-ml:StartAudienceGenerationJob","Resource":"arn:aws:cleanrooms-ml:*:\#(s.accountB):*"}]}"#
            try await c.changeClusterFile(restarting: 0) { file in
                file.organizations = [.init(id: "o-noforeign", managementAccount: AccountID("999999999999")!, members: [AccountID(s.accountA)!],
                                            policies: [.init(name: "no-foreign-models", document: scp)])]
            }
            let a = try await c.client(0)
            do {
                _ = try await a.call("cleanroomsml.StartAudienceGenerationJob", s.startParams(name: "scp-denied"))
                Issue.record("the SCP did not refuse the start")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "AccessDeniedException", "\(e)")
            }
            let (countA, countB) = (try await StartRulesTests.count(a), try await StartRulesTests.count(s.b))
            #expect(countA == 0 && countB == 0)
            // A's own jobs on its own models are not what the SCP is about: A still reads and lists.
            #expect(try await a.call("cleanroomsml.ListAudienceGenerationJobs")["audienceGenerationJobs"]?.arrayValue?.count == 0)
        }
    }

    @Test("XA-5: a name that would make the owner's copy (SUBMITTER-NAME) longer than 63 characters is refused with a ValidationException before anything is created")
    func ownerNameMustFit() async throws {
        try await withCluster(accounts: 2, label: "xa5-long") { c in
            let s = try await CrossAccountScene.prepare(c)
            let longest = String(repeating: "n", count: 63 - 13)
            do {
                _ = try await s.start(longest + "x")
                Issue.record("a 51-character name was accepted")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "ValidationException")
                #expect(e.message.contains("less than or equal to 50"), "\(e.message)")
            }
            let (countA, countB) = (try await StartRulesTests.count(s.a), try await StartRulesTests.count(s.b))
            #expect(countA == 0 && countB == 0)
            #expect(try await DeleteTests.status(s.b)["tombstones"] == 0, "nothing was sent to the owner")
            let arn = try await s.start(longest)
            #expect(try await s.waitFor(s.b, s.otherARN(arn))["name"]?.stringValue == "\(s.accountA)-\(longest)")
        }
    }

    @Test("XA-8: the owner deletes its CAM before the submitter deletes the job: the delete still completes on both sides")
    func deleteAfterTheOwnerDeletedItsCAM() async throws {
        try await withCluster(accounts: 2, label: "xa8-nocam") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arn = try await s.start("cam-goes-first")
            _ = try await s.waitFor(s.b, s.otherARN(arn))
            _ = try await s.b.call("cleanroomsml.DeleteConfiguredAudienceModel", ["configuredAudienceModelArn": .string(s.camArn)])
            #expect(await CrossAccountScene.get(s.b, s.otherARN(arn)).job != nil, "the owner's copy outlives its CAM until deleted")
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            #expect(try await DeleteTests.settled(s.a))
            #expect(try await DeleteTests.settled(s.b), "the owner's copy survived the submitter's delete")
        }
    }

    @Test("XA-8 CO-4: the owner leaves the collaboration before the submitter deletes the job: the delete still completes on both sides")
    func deleteAfterTheOwnerLeftTheCollaboration() async throws {
        try await withCluster(accounts: 3, label: "xa8-left") { c in
            let s = try await CrossAccountScene.prepare(c)
            let creator = try await c.client(2)
            let id = try await CollaborationTests.create(creator, "left-first", members: [s.accountA, s.accountB])
            try await CollaborationTests.waitStatus(s.a, id, "INVITED")
            try await CollaborationTests.waitStatus(s.b, id, "INVITED")
            try await CollaborationTests.join(s.a, id)
            let membershipB = try await CollaborationTests.join(s.b, id)
            let arn = try await s.start("in-collaboration", collaborationId: id)
            _ = try await s.waitFor(s.b, s.otherARN(arn))
            _ = try await s.b.call("cleanrooms.DeleteMembership", ["membershipIdentifier": .string(membershipB)])
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            #expect(try await DeleteTests.settled(s.a))
            #expect(try await DeleteTests.settled(s.b), "the owner's copy survived the submitter's delete")
        }
    }
}

/// A CAM's resource policy within its own account (IAM's same-account logic).
@Suite struct SameAccountResourcePolicyTests {
    @Test("XA-6: within the owner's account, a Deny in the CAM's policy binds its own principals, and an Allow naming one of them grants without an identity policy")
    func camPolicyBindsItsOwnAccount() async throws {
        try await withCluster(accounts: 2, label: "xa6-same") { c in
            let s = try await CrossAccountScene.prepare(c)
            let camMember: JSON = ["configuredAudienceModelArn": .string(s.camArn)]
            // A user of B with no policy at all, named by an Allow in the CAM's policy.
            _ = try await s.b.call("iam.CreateUser", ["UserName": "reader"])
            let key = try await s.b.call("iam.CreateAccessKey", ["UserName": "reader"])["AccessKey"]
            let reader = try await c.client(1, credentials: .accessKey(key?["AccessKeyId"]?.stringValue ?? "", secret: key?["SecretAccessKey"]?.stringValue ?? ""))
            #expect(await errorType { _ = try await reader.call("cleanroomsml.GetConfiguredAudienceModel", camMember) } == "AccessDeniedException")
            let readerArn = "arn:aws:iam::\(s.accountB):user/reader"
            func put(_ statements: String) async throws {
                _ = try await s.b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn),
                    "configuredAudienceModelPolicy": .string(#"{"Version":"2012-10-17","Statement":[\#(statements)]}"#)])
            }
            try await put(#"{"Effect":"Allow","Principal":{"AWS":"\#(readerArn)"},"Action":"cleanrooms-ml:GetConfiguredAudienceModel","Resource":"\#(s.camArn)"}"#)
            #expect(try await reader.call("cleanroomsml.GetConfiguredAudienceModel", camMember)["configuredAudienceModelArn"]?.stringValue == s.camArn,
                    "the resource policy's Allow grants within the account")
            #expect(await errorType { _ = try await reader.call("cleanroomsml.UpdateConfiguredAudienceModel", camMember) } == "AccessDeniedException",
                    "only what the policy names")
            // A Deny naming B's admin binds it on its own CAM: reading, tagging, starting on it.
            let adminArn = "arn:aws:iam::\(s.accountB):user/admin"
            try await put(#"{"Effect":"Deny","Principal":{"AWS":"\#(adminArn)"},"Action":["cleanrooms-ml:GetConfiguredAudienceModel","cleanrooms-ml:TagResource","cleanrooms-ml:StartAudienceGenerationJob"],"Resource":"*"}"#)
            #expect(await errorType { _ = try await s.b.call("cleanroomsml.GetConfiguredAudienceModel", camMember) } == "AccessDeniedException")
            #expect(await errorType { _ = try await s.b.call("cleanroomsml.TagResource", ["resourceArn": .string(s.camArn), "tags": ["k": "v"]]) } == "AccessDeniedException")
            // The account can still manage the policy (what the Deny does not name) and lift it.
            _ = try await s.b.call("cleanroomsml.DeleteConfiguredAudienceModelPolicy", camMember)
            #expect(try await s.b.call("cleanroomsml.GetConfiguredAudienceModel", camMember)["configuredAudienceModelArn"]?.stringValue == s.camArn)
        }
    }
}

/// Audit records as CloudTrail writes them (XA-10), read back through LookupEvents.
@Suite struct AuditRecordShapeTests {
    @Test("XA-10: a start's record lists the job and the CAM, says who called and how (IAMUser, readOnly, eventCategory, recipientAccountId); a denied call carries its errorCode and errorMessage")
    func recordsAsCloudTrailWritesThem() async throws {
        try await withCluster(accounts: 2, label: "xa10-shape") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arn = try await s.start("audited")
            #expect(await errorType { _ = try await s.a.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(s.otherARN(arn))]) } == "AccessDeniedException")
            func lookup(_ name: String) async throws -> [JSON] {
                let events = try await s.a.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": .string(name)]]])["Events"]?.arrayValue ?? []
                return events.compactMap { e in e["CloudTrailEvent"]?.stringValue.flatMap { try? JSONParser.parse(Array($0.utf8)) }.map { r in ["event": e, "record": r] } }
            }
            let start = try #require(try await lookup("StartAudienceGenerationJob").first)
            let resources = Set((start["event"]?["Resources"]?.arrayValue ?? []).compactMap { $0["ResourceName"]?.stringValue })
            #expect(resources == [arn, s.camArn], "\(resources)")
            let record = try #require(start["record"])
            #expect(record["userIdentity"]?["type"] == "IAMUser" && record["userIdentity"]?["userName"] == "admin")
            #expect(record["readOnly"] == false && record["eventCategory"] == "Management" && record["recipientAccountId"]?.stringValue == s.accountA)
            #expect(Set((record["resources"]?.arrayValue ?? []).compactMap { $0["ARN"]?.stringValue }) == [arn, s.camArn])
            #expect(record["errorCode"] == nil)
            let denied = try #require(try await lookup("GetAudienceGenerationJob").first?["record"])
            #expect(denied["errorCode"] == "AccessDeniedException" && denied["errorMessage"]?.stringValue?.contains("not authorized") == true, "\(denied)")
            #expect(denied["readOnly"] == true)
        }
    }
}

/// Delete states as AWS shows them, on real nodes (`admin.SetDeleteDelay` holds each delete in
/// its state long enough to look at it).
@Suite struct DeleteStateTests {
    @Test("XA-8: the deleting side answers at once and shows DELETE_PENDING, the other side DELETE_IN_PROGRESS; both refuse exports with ConflictException; then both copies are gone; a model's delete shows DELETE_PENDING too")
    func deleteStatesOnRealNodes() async throws {
        try await withCluster(accounts: 2, label: "xa8-states") { c in
            let s = try await CrossAccountScene.prepare(c)
            let arn = try await s.start("to-delete")
            #expect(try await s.waitFor(s.b, s.otherARN(arn))["status"] == "ACTIVE")
            #expect(try await s.waitFor(s.a, arn)["status"] == "ACTIVE")
            for node in [s.a, s.b] { _ = try await node.call("admin.SetDeleteDelay", ["seconds": 3]) }
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            #expect(await CrossAccountScene.get(s.a, arn).job?["status"] == "DELETE_PENDING")
            #expect(try await eventually { await CrossAccountScene.get(s.b, s.otherARN(arn)).job?["status"] == "DELETE_IN_PROGRESS" })
            let size: JSON = ["type": "ABSOLUTE", "value": 20]
            for (node, target) in [(s.a, arn), (s.b, s.otherARN(arn))] {
                let refused = await errorType {
                    _ = try await node.call("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(target), "name": "late", "audienceSize": size])
                }
                #expect(refused == "ConflictException", "\(target)")
            }
            // Deleting again while the delete is in progress is not an error.
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            #expect(try await s.waitGone(s.a, arn))
            #expect(try await s.waitGone(s.b, s.otherARN(arn)))
            let settledA = try await DeleteTests.settled(s.a), settledB = try await DeleteTests.settled(s.b)
            #expect(settledA && settledB)

            // A model's delete too: DELETE_PENDING, then gone.
            let camMember: JSON = ["configuredAudienceModelArn": .string(s.camArn)]
            let model = try #require(try await s.b.call("cleanroomsml.GetConfiguredAudienceModel", camMember)["audienceModelArn"]?.stringValue)
            _ = try await s.b.call("cleanroomsml.DeleteConfiguredAudienceModel", camMember)
            _ = try await s.b.call("cleanroomsml.DeleteAudienceModel", ["audienceModelArn": .string(model)])
            #expect(try await s.b.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])["status"] == "DELETE_PENDING")
            #expect(try await eventually(timeout: 15) {
                await errorType { _ = try await s.b.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)]) } == "ResourceNotFoundException"
            })
        }
    }
}
