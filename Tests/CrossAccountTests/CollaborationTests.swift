import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// Collaborations on three real node processes, the collaboration's creator being a third
/// account C (index 2) beside the submitter A (0) and the model owner B (1).
@Suite struct CollaborationTests {
    /// C creates a collaboration with `members`; returns its id.
    static func create(_ creator: RPCClient, _ name: String, members: [String], queryLog: String = "DISABLED") async throws -> String {
        let r = try await creator.call("cleanrooms.CreateCollaboration", [
            "name": .string(name), "description": "a test collaboration", "creatorDisplayName": "C", "creatorMemberAbilities": ["CAN_QUERY"],
            "members": .array(members.map { ["accountId": .string($0), "displayName": .string("member \($0)"), "memberAbilities": ["CAN_RECEIVE_RESULTS"]] }),
            "queryLogStatus": .string(queryLog)])
        return try #require(r["collaboration"]?["id"]?.stringValue)
    }

    /// The caller's `memberStatus` in the collaboration, or the error type of `GetCollaboration`.
    static func status(_ client: RPCClient, _ id: String) async -> String {
        do { return try await client.call("cleanrooms.GetCollaboration", ["collaborationIdentifier": .string(id)])["collaboration"]?["memberStatus"]?.stringValue ?? "?" } catch {
            return errorType(error)
        }
    }

    static func waitStatus(_ client: RPCClient, _ id: String, _ expected: String) async throws {
        let seen = try await eventually(timeout: 10) { await status(client, id) == expected }
        let have = await status(client, id)
        #expect(seen, "memberStatus \(expected) expected, have \(have)")
    }

    /// Joins; returns the membership id.
    @discardableResult
    static func join(_ client: RPCClient, _ id: String, queryLog: String = "DISABLED") async throws -> String {
        let r = try await client.call("cleanrooms.CreateMembership", ["collaborationIdentifier": .string(id), "queryLogStatus": .string(queryLog)])
        #expect(r["membership"]?["status"] == "ACTIVE")
        return try #require(r["membership"]?["id"]?.stringValue)
    }

    /// Every member's status as `client`'s account sees it (`ListMembers`).
    static func members(_ client: RPCClient, _ id: String) async throws -> [String: String] {
        let list = try await client.call("cleanrooms.ListMembers", ["collaborationIdentifier": .string(id)])["memberSummaries"]?.arrayValue ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["accountId"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") })
    }

    static func jobCount(_ client: RPCClient) async throws -> Int {
        try await client.call("admin.Status")["audienceGenerationJobs"]?.intValue ?? -1
    }

    @Test("CO-4: a collaboration lives in its creator's account and reaches each member as an invitation; joining, leaving, removal and deletion show in every account")
    func lifecycle() async throws {
        try await withCluster(accounts: 3, label: "co4") { c in
            let a = try await c.client(0), b = try await c.client(1), cc = try await c.client(2)
            let (idA, idB, idC) = (c.account(0).id.rawValue, c.account(1).id.rawValue, c.account(2).id.rawValue)
            let id = try await Self.create(cc, "lifecycle", members: [idA, idB])
            let got = try await cc.call("cleanrooms.GetCollaboration", ["collaborationIdentifier": .string(id)])["collaboration"]
            #expect(got?["arn"]?.stringValue == "arn:aws:cleanrooms:us-west-1:\(idC):collaboration/\(id)")
            #expect(got?["creatorAccountId"]?.stringValue == idC)
            // Invitations arrive over the peer links before the creator answers.
            #expect(await Self.status(a, id) == "INVITED")
            #expect(await Self.status(b, id) == "INVITED")
            #expect(try await a.call("cleanrooms.ListCollaborations", ["memberStatus": "INVITED"])["collaborationList"]?.arrayValue?.count == 1)
            // Only the creator changes it.
            #expect(await errorType { _ = try await a.call("cleanrooms.UpdateCollaboration", ["collaborationIdentifier": .string(id), "name": "mine"]) } == "AccessDeniedException")
            #expect(await errorType { _ = try await a.call("cleanrooms.DeleteMember", ["collaborationIdentifier": .string(id), "accountId": .string(idB)]) } == "AccessDeniedException")
            // An account that is not a member sees nothing.
            let outsider = try await Self.create(cc, "c only", members: [idB])
            #expect(await Self.status(a, outsider) == "AccessDeniedException")

            // Joining: the membership is A's resource; the creator's record says ACTIVE.
            let membership = try await Self.join(a, id)
            #expect(await errorType { _ = try await Self.join(a, id) } == "ConflictException")
            let m = try await a.call("cleanrooms.GetMembership", ["membershipIdentifier": .string(membership)])["membership"]
            #expect(m?["arn"]?.stringValue == "arn:aws:cleanrooms:us-west-1:\(idA):membership/\(membership)")
            #expect(m?["collaborationCreatorAccountId"]?.stringValue == idC)
            #expect(await errorType { _ = try await b.call("cleanrooms.GetMembership", ["membershipIdentifier": .string(membership)]) } == "ResourceNotFoundException")
            #expect(try await Self.members(cc, id)[idA] == "ACTIVE")
            try await Self.waitStatus(a, id, "ACTIVE")
            _ = try await eventually { try await Self.members(b, id)[idA] == "ACTIVE" }
            #expect(try await Self.members(b, id)[idA] == "ACTIVE", "B's copy shows A joined")

            // Leaving: A's membership is gone at once, and the creator hears of it.
            try await Self.join(b, id)
            _ = try await a.call("cleanrooms.DeleteMembership", ["membershipIdentifier": .string(membership)])
            #expect(await errorType { _ = try await a.call("cleanrooms.GetMembership", ["membershipIdentifier": .string(membership)]) } == "ResourceNotFoundException")
            #expect(try await Self.members(cc, id)[idA] == "LEFT", "the creator has heard when the leave is answered")
            #expect(await errorType { _ = try await Self.join(a, id) } == "AccessDeniedException", "who left cannot join again")

            // Removal: B's membership says REMOVED.
            let membershipB = try #require(try await b.call("cleanrooms.ListMemberships")["membershipSummaries"]?[0]?["id"]?.stringValue)
            _ = try await cc.call("cleanrooms.DeleteMember", ["collaborationIdentifier": .string(id), "accountId": .string(idB)])
            #expect(try await b.call("cleanrooms.GetMembership", ["membershipIdentifier": .string(membershipB)])["membership"]?["status"] == "REMOVED")
            #expect(await Self.status(b, id) == "AccessDeniedException")

            // Deletion ends it for everyone: the creator's own membership too.
            let membershipC = try await Self.join(cc, id)
            _ = try await cc.call("cleanrooms.DeleteCollaboration", ["collaborationIdentifier": .string(id)])
            #expect(await Self.status(cc, id) == "AccessDeniedException")
            #expect(try await cc.call("cleanrooms.GetMembership", ["membershipIdentifier": .string(membershipC)])["membership"]?["status"] == "COLLABORATION_DELETED")
            #expect(try await a.call("cleanrooms.ListCollaborations")["collaborationList"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("CO-4: invitations and removals reach a member that was down when they were made (outbox), and survive its restart")
    func deliveredAcrossCrash() async throws {
        try await withCluster(accounts: 3, label: "co4-crash") { c in
            let cc = try await c.client(2)
            let (idA, idB) = (c.account(0).id.rawValue, c.account(1).id.rawValue)
            try await c.kill(0)
            let id = try await Self.create(cc, "while down", members: [idA, idB])
            try await c.restart(0)
            let a = try await c.client(0)
            try await Self.waitStatus(a, id, "INVITED")
            try await Self.join(a, id)
            try await c.restart(0)
            let a2 = try await c.client(0)
            #expect(await Self.status(a2, id) == "ACTIVE")
            #expect(try await a2.call("cleanrooms.ListMemberships", ["status": "ACTIVE"])["membershipSummaries"]?.arrayValue?.count == 1)
            // A removal made while B is down reaches B once it is back.
            try await Self.waitStatus(try await c.client(1), id, "INVITED")
            try await c.kill(1)
            _ = try await cc.call("cleanrooms.DeleteMember", ["collaborationIdentifier": .string(id), "accountId": .string(idB)])
            try await c.restart(1)
            try await Self.waitStatus(try await c.client(1), id, "AccessDeniedException")
            #expect(try await Self.members(cc, id)[idB] == "REMOVED")
        }
    }

    @Test("CO-1 CO-4: a start naming a collaboration needs it to exist and both accounts ACTIVE, as the creator's node says; every refusal leaves no job; the creator's node down fails it closed")
    func validatingCollaborators() async throws {
        try await withCluster(accounts: 3, label: "co1") { c in
            let s = try await CrossAccountScene.prepare(c)
            let cc = try await c.client(2)
            let id = try await Self.create(cc, "co1", members: [s.accountA, s.accountB])
            try await Self.waitStatus(s.a, id, "INVITED")
            try await Self.waitStatus(s.b, id, "INVITED")
            let refused: (String, String, String) async throws -> Void = { name, expected, id in
                let (beforeA, beforeB) = (try await Self.jobCount(s.a), try await Self.jobCount(s.b))
                var message = ""
                let got = await errorType {
                    do { _ = try await s.start(name, collaborationId: id) } catch { message = "\(error)"; throw error }
                }
                #expect(got == expected, "\(name): \(message)")
                #expect(try await Self.jobCount(s.a) == beforeA, "\(name) left a job in A")
                #expect(try await Self.jobCount(s.b) == beforeB, "\(name) left a job in B")
            }

            // A collaboration that does not exist.
            #expect(await errorType { _ = try await s.start("missing", collaborationId: "00000000-0000-4000-8000-000000000000") } == "ResourceNotFoundException")
            // The submitter invited, not joined.
            try await refused("a-invited", "AccessDeniedException", id)
            // The submitter joined, the owner not: only the creator's node knows, B asks it.
            try await Self.join(s.a, id)
            try await refused("b-invited", "AccessDeniedException", id)
            // Both ACTIVE: the job exists in both accounts, in the collaboration.
            try await Self.join(s.b, id)
            let arn = try await s.start("both-active", collaborationId: id)
            #expect(try await s.waitFor(s.b, s.otherARN(arn))["collaborationId"]?.stringValue == id)

            // The creator's node down: B cannot check, so it refuses (retryable), leaving nothing.
            try await c.kill(2)
            try await refused("creator-down", "InternalServiceException", id)
            try await c.restart(2)
            _ = try await s.start("creator-back", collaborationId: id)

            // The owner removed by the creator.
            let cc2 = try await c.client(2)
            _ = try await cc2.call("cleanrooms.DeleteMember", ["collaborationIdentifier": .string(id), "accountId": .string(s.accountB)])
            try await refused("b-removed", "AccessDeniedException", id)

            // The submitter left (another collaboration, both active first).
            let other = try await Self.create(cc2, "co1-left", members: [s.accountA, s.accountB])
            try await Self.waitStatus(s.a, other, "INVITED")
            try await Self.waitStatus(s.b, other, "INVITED")
            let membershipA = try await Self.join(s.a, other)
            try await Self.join(s.b, other)
            _ = try await s.start("before-leaving", collaborationId: other)
            _ = try await s.a.call("cleanrooms.DeleteMembership", ["membershipIdentifier": .string(membershipA)])
            try await refused("a-left", "AccessDeniedException", other)
        }
    }

    @Test("CO-2 CO-3: a managed association adds a statement for the collaboration's members with the CollaborationId condition, merged with the owner's policy, and takes it away again")
    func managedResourcePolicy() async throws {
        try await withCluster(accounts: 3, label: "co3") { c in
            let s = try await CrossAccountScene.prepare(c)
            let cc = try await c.client(2)
            // B's own policy lets a fourth account in (not A): A cannot start at all.
            let own = CrossAccountScene.seedPolicy(a: "444444444444", camArn: s.camArn)
            _ = try await s.b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn), "configuredAudienceModelPolicy": .string(own)])
            let id = try await Self.create(cc, "co3", members: [s.accountA, s.accountB])
            try await Self.waitStatus(s.a, id, "INVITED")
            try await Self.waitStatus(s.b, id, "INVITED")
            try await Self.join(s.a, id)
            let membershipB = try await Self.join(s.b, id)
            #expect(await errorType { _ = try await s.start("no-association", collaborationId: id) } == "AccessDeniedException")

            let made = try await s.b.call("cleanrooms.CreateConfiguredAudienceModelAssociation", [
                "membershipIdentifier": .string(membershipB), "configuredAudienceModelArn": .string(s.camArn),
                "configuredAudienceModelAssociationName": "shared", "manageResourcePolicies": true])["configuredAudienceModelAssociation"]
            let association = try #require(made?["id"]?.stringValue)
            #expect(made?["collaborationId"]?.stringValue == id)
            let policyText = try #require(try await s.b.call("cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn)])["configuredAudienceModelPolicy"]?.stringValue)
            let statements = try JSONParser.parse(policyText)["Statement"]?.arrayValue ?? []
            #expect(statements.count == 2, "B's own statement stays beside the managed one")
            let managed = try #require(statements.first { $0["Sid"]?.stringValue?.hasPrefix("CleanRoomsManaged") == true })
            #expect(managed["Condition"]?["StringEquals"]?["cleanrooms-ml:CollaborationId"]?.stringValue == id)
            #expect(managed["Principal"]?["AWS"]?.arrayValue?.contains(.string(s.accountA)) == true)

            // Every member sees the association in its copy of the collaboration (the creator at
            // once: B's answer waited for it to hear).
            let listParams: JSON = ["collaborationIdentifier": .string(id)]
            let seenByC = try await cc.call("cleanrooms.ListCollaborationConfiguredAudienceModelAssociations", listParams)["collaborationConfiguredAudienceModelAssociationSummaries"]
            #expect(seenByC?.arrayValue?.count == 1 && seenByC?[0]?["creatorAccountId"]?.stringValue == s.accountB)
            _ = try await eventually {
                try await s.a.call("cleanrooms.ListCollaborationConfiguredAudienceModelAssociations", listParams)["collaborationConfiguredAudienceModelAssociationSummaries"]?.arrayValue?.count == 1
            }
            let seenByA = try await s.a.call("cleanrooms.GetCollaborationConfiguredAudienceModelAssociation", [
                "collaborationIdentifier": .string(id), "configuredAudienceModelAssociationIdentifier": .string(association)])["collaborationConfiguredAudienceModelAssociation"]
            #expect(seenByA?["configuredAudienceModelArn"]?.stringValue == s.camArn && seenByA?["name"] == "shared")

            // CO-2: with the managed statement, a start must name the collaboration.
            #expect(await errorType { _ = try await s.start("without-id") } == "AccessDeniedException")
            let arn = try await s.start("with-id", collaborationId: id)
            #expect(try await s.waitFor(s.b, s.otherARN(arn))["collaborationId"]?.stringValue == id)
            #expect(try await s.b.call("cleanrooms.ListConfiguredAudienceModelAssociations", ["membershipIdentifier": .string(membershipB)])["configuredAudienceModelAssociationSummaries"]?.arrayValue?.count == 1)

            // A member removed is no longer named by the managed statement.
            _ = try await cc.call("cleanrooms.DeleteMember", ["collaborationIdentifier": .string(id), "accountId": .string(s.accountA)])
            let narrowed = try await s.b.call("cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn)])["configuredAudienceModelPolicy"]?.stringValue
            let principals = try JSONParser.parse(narrowed ?? "")["Statement"]?.arrayValue?.first { $0["Sid"]?.stringValue?.hasPrefix("CleanRoomsManaged") == true }?["Principal"]?["AWS"]
            #expect(principals?.arrayValue?.contains(.string(s.accountA)) == false, "\(principals ?? .null)")
            #expect(principals?.arrayValue?.contains(.string(c.account(2).id.rawValue)) == true)

            // The association goes: so does its statement; B's own is as it was.
            _ = try await s.b.call("cleanrooms.DeleteConfiguredAudienceModelAssociation", [
                "membershipIdentifier": .string(membershipB), "configuredAudienceModelAssociationIdentifier": .string(association)])
            let after = try await s.b.call("cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(s.camArn)])["configuredAudienceModelPolicy"]?.stringValue
            #expect(try JSONParser.parse(after ?? "")["Statement"]?.arrayValue?.count == 1)
            #expect(try JSONParser.parse(after ?? "")["Statement"]?[0]?["Sid"] == (try JSONParser.parse(own))["Statement"]?[0]?["Sid"])
            #expect(await errorType { _ = try await s.start("after-association", collaborationId: id) } == "AccessDeniedException")
            #expect(try await cc.call("cleanrooms.ListCollaborationConfiguredAudienceModelAssociations", listParams)["collaborationConfiguredAudienceModelAssociationSummaries"]?.arrayValue?.isEmpty == true)
        }
    }

    /// A Glue table `crm.customers` (user_id, country) in `client`'s account: the seed's users
    /// in the US, as many others in FR.
    static func customerTable(_ client: RPCClient, _ s: CrossAccountScene) async throws {
        let seedUsers = String(decoding: s.files.seed, as: UTF8.self).split(separator: "\n").dropFirst()
        var csv = "user_id,country\n"
        for (k, u) in seedUsers.enumerated() { csv += "\(u),US\nother-\(k),FR\n" }
        _ = try await client.call("s3.CreateBucket", ["Bucket": "crm"])
        _ = try await client.call("s3.PutObject", ["Bucket": "crm", "Key": "customers/part-0.csv", "Body": .string(Base64.encode(Array(csv.utf8)))])
        _ = try await client.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "crm"]])
        _ = try await client.call("glue.CreateTable", ["DatabaseName": "crm", "TableInput": [
            "Name": "customers", "StorageDescriptor": ["Location": "s3://crm/customers/", "Columns": [["Name": "user_id", "Type": "string"], ["Name": "country", "Type": "string"]]]]])
    }

    static func sqlStart(_ s: CrossAccountScene, _ name: String, _ query: String, collaborationId: String?, client: RPCClient? = nil,
                         camArn: String? = nil, role: String? = nil) async throws -> String {
        let r = try await (client ?? s.a).call("cleanroomsml.StartAudienceGenerationJob", .compactObject([
            "name": .string(name), "configuredAudienceModelArn": .string(camArn ?? s.camArn), "collaborationId": collaborationId.map { .string($0) },
            "seedAudience": ["sqlParameters": ["queryString": .string(query)], "roleArn": .string(role ?? s.roleA)]]))
        return try #require(r["audienceGenerationJobArn"]?.stringValue)
    }

    @Test("PV-2: an SQL seed runs over the submitter's own Glue table; the model owner sees the query only when the collaboration logs queries, and otherwise cannot tell the seed was SQL")
    func sqlSeedAndQueryLogging() async throws {
        try await withCluster(accounts: 3, label: "pv2") { c in
            let s = try await CrossAccountScene.prepare(c)
            let cc = try await c.client(2)
            let logged = try await Self.create(cc, "logged", members: [s.accountA, s.accountB], queryLog: "ENABLED")
            let unlogged = try await Self.create(cc, "unlogged", members: [s.accountA, s.accountB], queryLog: "DISABLED")
            for id in [logged, unlogged] {
                try await Self.waitStatus(s.a, id, "INVITED")
                try await Self.waitStatus(s.b, id, "INVITED")
                try await Self.join(s.a, id)
                try await Self.join(s.b, id)
            }
            try await Self.customerTable(s.a, s)
            let query = "SELECT DISTINCT user_id FROM crm.customers WHERE country = 'US'"

            // Query logging on: B's copy shows the query (and nothing of A's table or S3).
            let arnLogged = try await Self.sqlStart(s, "sql-logged", query, collaborationId: logged)
            let bLogged = try await s.waitFor(s.b, s.otherARN(arnLogged))
            #expect(bLogged["status"] == "ACTIVE", "the selection is a usable seed: \(bLogged)")
            #expect(bLogged["seedAudience"]?["sqlParameters"]?["queryString"]?.stringValue == query)
            // The model requires a role in the seed: B's view names its own CAM's output role, never A's.
            #expect(bLogged["seedAudience"]?["roleArn"]?.stringValue == "arn:aws:iam::\(s.accountB):role/ml")
            #expect(!JSONWriter.string(bLogged).contains(s.roleA))
            // Both copies name the protected query that selected the seed.
            let aLogged = try await s.a.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnLogged)])
            #expect(aLogged["protectedQueryIdentifier"]?.stringValue != nil)
            #expect(bLogged["protectedQueryIdentifier"] == aLogged["protectedQueryIdentifier"])
            #expect(!JSONWriter.string(bLogged).contains("s3://crm"))
            #expect(try await s.a.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnLogged)])["seedAudience"]?["sqlParameters"]?["queryString"]?.stringValue == query)
            // A's audit record of the start hides the query's text, as CloudTrail hides sensitive parameters.
            let events = try await s.a.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "StartAudienceGenerationJob"]]])["Events"]?.arrayValue ?? []
            let records = events.compactMap { $0["CloudTrailEvent"]?.stringValue }.compactMap { try? JSONParser.parse(Array($0.utf8)) }
            let sqlRecords = records.filter { $0["requestParameters"]?["seedAudience"]?["sqlParameters"] != nil }
            #expect(!sqlRecords.isEmpty)
            for r in sqlRecords { #expect(r["requestParameters"]?["seedAudience"]?["sqlParameters"]?["queryString"] == "HIDDEN_DUE_TO_SECURITY_REASONS", "\(r)") }
            #expect(!records.contains { JSONWriter.string($0).contains("country = 'US'") }, "the query's text is in no record")

            // The model owner created the collaboration: it answers the check itself, and still logs.
            let ownedByB = try await Self.create(s.b, "owned by B", members: [s.accountA], queryLog: "ENABLED")
            try await Self.waitStatus(s.a, ownedByB, "INVITED")
            try await Self.join(s.a, ownedByB)
            try await Self.join(s.b, ownedByB)
            let arnOwned = try await Self.sqlStart(s, "sql-owned", query, collaborationId: ownedByB)
            #expect(try await s.waitFor(s.b, s.otherARN(arnOwned))["seedAudience"]?["sqlParameters"]?["queryString"]?.stringValue == query)

            // Query logging off: B's copy of the SQL job looks like its copy of an S3 seed's job.
            let arnUnlogged = try await Self.sqlStart(s, "sql-unlogged", query, collaborationId: unlogged)
            let arnS3 = try await s.start("s3-unlogged", collaborationId: unlogged)
            let bUnlogged = try await s.waitFor(s.b, s.otherARN(arnUnlogged))
            let bS3 = try await s.waitFor(s.b, s.otherARN(arnS3))
            #expect(bUnlogged["status"] == "ACTIVE")
            #expect(bUnlogged["seedAudience"] == nil && bUnlogged["protectedQueryIdentifier"] == nil)
            #expect(Set(bUnlogged.objectValue?.keys ?? [:].keys) == Set(bS3.objectValue?.keys ?? [:].keys), "the same members either way")
            #expect(!JSONWriter.string(bUnlogged).lowercased().contains("select"))

            // Bad SQL, a missing column or table, and SQL without a collaboration fail the start, pointing at the problem.
            for (bad, hint) in [("SELECT user_id FORM crm.customers", "at character 16"), ("SELECT user_id FROM crm.customers WHERE shoe_size > 40", "shoe_size"),
                                ("SELECT user_id FROM crm.nothing", "crm.nothing")] {
                do {
                    _ = try await Self.sqlStart(s, "bad", bad, collaborationId: logged)
                    Issue.record("\(bad) started")
                } catch {
                    #expect(errorType(error) == "ValidationException")
                    #expect("\(error)".contains(hint), "\(error)")
                }
            }
            #expect(await errorType { _ = try await Self.sqlStart(s, "no-collaboration", query, collaborationId: nil) } == "ValidationException")

            // Within one account (B's own CAM, B's own table): the query runs in B's run.
            try await Self.customerTable(s.b, s)
            let local = try await Self.sqlStart(s, "sql-local", query, collaborationId: logged, client: s.b, role: "arn:aws:iam::\(s.accountB):role/ml")
            #expect(try await s.waitFor(s.b, local)["status"] == "ACTIVE")
        }
    }
}
