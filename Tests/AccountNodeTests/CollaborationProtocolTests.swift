import AccountNode
import CleanRoomsModel
import JSON
import Testing

/// The collaboration messages between two cores on a network the test controls: A
/// (111111111111) creates a collaboration, B (222222222222) is its member.
@Suite struct CollaborationProtocolTests {
    /// A creates the collaboration; its answer waits for the invitation's first delivery, so
    /// the invitation is left in the network queue (not delivered) and the id is read from A's state.
    static func collaboration(_ p: CorePair) throws -> JSON {
        _ = p.a.send("cleanrooms.CreateCollaboration", [
            "name": "c", "description": "d", "creatorDisplayName": "A", "creatorMemberAbilities": ["CAN_QUERY"], "queryLogStatus": "DISABLED",
            "members": [["accountId": "222222222222", "displayName": "B", "memberAbilities": ["CAN_RECEIVE_RESULTS"]]]])
        return .string(try #require(p.a.core.state.collaborations.keys.first))
    }

    /// B joins (the creator's node answers through the network); returns the membership id.
    static func join(_ p: CorePair, _ id: JSON) throws -> JSON {
        let token = p.b.send("cleanrooms.CreateMembership", ["collaborationIdentifier": id, "queryLogStatus": "DISABLED"])
        p.pump()
        return try #require(try p.b.result("join", p.b.replies[token])["membership"]?["id"])
    }

    static func errorType(_ reply: Reply?) -> String? {
        if case .error(let e, _)? = reply { return e.code.name }
        return nil
    }

    static func memberStatus(_ h: CoreHarness, _ id: JSON) -> String? {
        (try? h.call("cleanrooms.GetCollaboration", ["collaborationIdentifier": id]))?["collaboration"]?["memberStatus"]?.stringValue
    }

    @Test("CO-4: CreateCollaboration answers once the invitations have been delivered (or failed a first time), so a member can join at once")
    func createWaitsForInvitations() throws {
        let p = try CorePair()
        let token = p.a.send("cleanrooms.CreateCollaboration", [
            "name": "c", "description": "d", "creatorDisplayName": "A", "creatorMemberAbilities": ["CAN_QUERY"], "queryLogStatus": "DISABLED",
            "members": [["accountId": "222222222222", "displayName": "B", "memberAbilities": ["CAN_RECEIVE_RESULTS"]]]])
        #expect(p.a.replies[token] == nil, "not before the invitation was tried")
        p.pump(limit: 1)
        let id = try #require(try p.a.result("create", p.a.replies[token])["collaboration"]?["id"])
        #expect(Self.memberStatus(p.b, id) == "INVITED", "the member knows when the creator answers")
        // With the member unreachable, the answer comes after the first failed attempt; the outbox keeps trying.
        let second = p.a.send("cleanrooms.CreateCollaboration", [
            "name": "c2", "description": "d", "creatorDisplayName": "A", "creatorMemberAbilities": ["CAN_QUERY"], "queryLogStatus": "DISABLED",
            "members": [["accountId": "222222222222", "displayName": "B", "memberAbilities": ["CAN_RECEIVE_RESULTS"]]]])
        p.pump(limit: 1) { _ in .drop }
        #expect((try? p.a.result("create", p.a.replies[second])) != nil)
        #expect(p.a.core.state.outbox.count == 1)
        p.pump()
        #expect(p.a.core.state.outbox.isEmpty)
    }

    @Test("CO-4: a join whose answer is lost is completed by the creator's push; asking again is a Conflict, not a second membership; recovery rebuilds the same")
    func lostJoinAnswer() throws {
        let p = try CorePair()
        let id = try Self.collaboration(p)
        p.pump()
        #expect(Self.memberStatus(p.b, id) == "INVITED")
        let token = p.b.send("cleanrooms.CreateMembership", ["collaborationIdentifier": id, "queryLogStatus": "DISABLED"])
        p.pump { $0.method == "peer.JoinCollaboration" ? .loseAnswer : .deliver }
        #expect(Self.errorType(p.b.replies[token]) == "InternalServerException")
        let memberships = try p.b.call("cleanrooms.ListMemberships")["membershipSummaries"]?.arrayValue ?? []
        #expect(memberships.count == 1 && memberships.first?["status"] == "ACTIVE")
        let members = try p.a.call("cleanrooms.ListMembers", ["collaborationIdentifier": id])["memberSummaries"]?.arrayValue ?? []
        #expect(members.first { $0["accountId"] == "222222222222" }?["membershipId"] == memberships.first?["id"])
        #expect(p.b.expectError("ConflictException", "cleanrooms.CreateMembership", ["collaborationIdentifier": id, "queryLogStatus": "DISABLED"]).contains("already"))
        let recovered = p.b.replayed()
        #expect(recovered.state.memberships.values.map(\.status) == ["ACTIVE"])
        let version = try #require(p.b.core.state.collaborations[id.stringValue ?? ""]?.version)
        #expect(recovered.state.collaborations[id.stringValue ?? ""]?.version == version)
    }

    @Test("CO-4: a member's copy only moves forward: an older push arriving late changes nothing; only the creator's node speaks for a collaboration")
    func copiesMoveForward() throws {
        let p = try CorePair()
        let id = try Self.collaboration(p)
        p.collect()
        let invite = try #require(p.queue.first { $0.message.method == "peer.CollaborationChanged" }?.message.params)
        p.pump()
        _ = try Self.join(p, id)
        #expect(Self.memberStatus(p.b, id) == "ACTIVE")
        let version = p.b.core.state.collaborations[id.stringValue ?? ""]?.version ?? 0
        // The invitation again, late (version 1): ignored.
        p.b.perform(p.b.core.handlePeer(PeerRequest(token: RequestToken(9_000_007), from: "111111111111", method: "peer.CollaborationChanged", params: invite, now: p.b.now)))
        #expect(Self.memberStatus(p.b, id) == "ACTIVE")
        #expect(p.b.core.state.collaborations[id.stringValue ?? ""]?.version == version)
        // The same record claimed by another account: refused, nothing changes.
        p.b.perform(p.b.core.handlePeer(PeerRequest(token: RequestToken(9_000_008), from: "333333333333", method: "peer.CollaborationChanged", params: invite, now: p.b.now)))
        #expect(Self.errorType(p.b.replies[9_000_008]) == "AccessDeniedException")
        // A hostile record: a wrong type is a ValidationException, never a crash.
        p.b.perform(p.b.core.handlePeer(PeerRequest(token: RequestToken(9_000_009), from: "111111111111", method: "peer.CollaborationChanged", params: ["collaboration": ["id": 5]], now: p.b.now)))
        #expect(Self.errorType(p.b.replies[9_000_009]) == "ValidationException")
        #expect(p.b.core.state.collaborations[id.stringValue ?? ""]?.version == version)
    }

    @Test("CO-4 CO-1: a member cannot take a collaboration over: a record of the same id claimed by another creator is refused, and the member's copy then counts as gone (fail closed)")
    func takeOverRefused() throws {
        let p = try CorePair()
        let id = try Self.collaboration(p)
        p.collect()
        var forged = try #require(p.queue.first { $0.message.method == "peer.CollaborationChanged" }?.message.params["collaboration"])
        p.pump()
        _ = try Self.join(p, id)
        forged["creatorAccountId"] = "333333333333"
        forged["arn"] = .string("arn:aws:cleanrooms:us-west-1:333333333333:collaboration/\(id.stringValue ?? "")")
        forged["version"] = .int(1 << 40)
        forged["queryLogStatus"] = "ENABLED"
        for (h, token) in [(p.a, UInt64(9_000_011)), (p.b, UInt64(9_000_012))] {
            h.perform(h.core.handlePeer(PeerRequest(token: RequestToken(token), from: "333333333333", method: "peer.CollaborationChanged",
                                                    params: ["collaboration": forged], now: h.now)))
            #expect(Self.errorType(h.replies[token]) == "AccessDeniedException")
        }
        // The creator's own record is untouched; the member trusts neither claim any more.
        #expect(p.a.core.state.collaborations[id.stringValue ?? ""]?.creatorAccountId == "111111111111")
        #expect(p.a.core.state.collaborations[id.stringValue ?? ""]?.queryLogStatus == "DISABLED")
        #expect(Self.memberStatus(p.a, id) == "INVITED")
        #expect(p.b.expectError("AccessDeniedException", "cleanrooms.GetCollaboration", ["collaborationIdentifier": id]).contains("not a member"))
        #expect(p.b.core.state.collaborations[id.stringValue ?? ""]?.disputedBy == "333333333333")
        #expect(p.b.replayed().state.collaborations[id.stringValue ?? ""]?.disputedBy == "333333333333")
    }

    @Test("CO-4: a member can always leave: with the creator unreachable the leave is done at once and waits in the outbox until the creator hears it")
    func leaveCannotBeBlocked() throws {
        let p = try CorePair()
        let id = try Self.collaboration(p)
        p.pump()
        let membership = try Self.join(p, id)
        let token = p.b.send("cleanrooms.DeleteMembership", ["membershipIdentifier": membership])
        #expect(p.b.expectError("ResourceNotFoundException", "cleanrooms.GetMembership", ["membershipIdentifier": membership]).contains("not found"))
        p.pump(limit: 6) { _ in .drop }
        #expect((try? p.b.result("leave", p.b.replies[token])) != nil, "answered after the first attempt failed")
        #expect(p.b.core.state.outbox.count == 1, "the leave waits for the creator")
        p.pump()
        #expect(p.b.core.state.outbox.isEmpty)
        let members = try p.a.call("cleanrooms.ListMembers", ["collaborationIdentifier": id])["memberSummaries"]?.arrayValue ?? []
        #expect(members.first { $0["accountId"] == "222222222222" }?["status"] == "LEFT")
        // Who left no longer sees the collaboration.
        #expect(p.b.expectError("AccessDeniedException", "cleanrooms.GetCollaboration", ["collaborationIdentifier": id]).contains("not a member"))
    }

    static func associationParams(_ p: CorePair, membership: JSON, manage: Bool) -> JSON {
        ["membershipIdentifier": membership, "configuredAudienceModelArn": .string(p.camArn),
         "configuredAudienceModelAssociationName": "offer", "manageResourcePolicies": .bool(manage)]
    }

    /// B offers its CAM in the collaboration (through the network); returns the association id.
    static func associate(_ p: CorePair, _ id: JSON, membership: JSON, manage: Bool) throws -> JSON {
        let token = p.b.send("cleanrooms.CreateConfiguredAudienceModelAssociation", associationParams(p, membership: membership, manage: manage))
        p.pump()
        return try #require(try p.b.result("associate", p.b.replies[token])["configuredAudienceModelAssociation"]?["id"])
    }

    @Test("CO-3: an association's changes reach the creator in order: a stale copy of its creation arriving after its removal does not bring it back")
    func associationChangesAreOrdered() throws {
        let p = try CorePair()
        let id = try Self.collaboration(p)
        p.pump()
        let membership = try Self.join(p, id)
        // Create and delete before anything reaches the creator; then deliver the delete first.
        let created = p.b.send("cleanrooms.CreateConfiguredAudienceModelAssociation", Self.associationParams(p, membership: membership, manage: false))
        p.collect()
        let association = try #require(p.b.core.state.associations.keys.first)
        let stale = try #require(p.queue.firstIndex { $0.message.method == "peer.AssociationChanged" })
        let add = p.queue.remove(at: stale)
        _ = p.b.send("cleanrooms.DeleteConfiguredAudienceModelAssociation", ["membershipIdentifier": membership, "configuredAudienceModelAssociationIdentifier": .string(association)])
        p.pump()
        #expect(p.a.core.state.collaborations[id.stringValue ?? ""]?.associations?.isEmpty == true)
        p.queue.append(add)  // the creation's copy, late
        p.pump()
        #expect(p.a.core.state.collaborations[id.stringValue ?? ""]?.associations?.isEmpty == true, "a late creation does not undo the removal")
        #expect(p.a.core.state.collaborations[id.stringValue ?? ""]?.removedAssociations?[association] != nil)
        #expect(try p.b.result("create", p.b.replies[created])["configuredAudienceModelAssociation"] != nil)
    }

    @Test("CO-3: a managed statement the owner took out of its policy is not put back by a later change of the collaboration")
    func managedStatementStaysOut() throws {
        let p = try CorePair()
        let id = try Self.collaboration(p)
        p.pump()
        let membership = try Self.join(p, id)
        _ = try Self.associate(p, id, membership: membership, manage: true)
        #expect(p.b.core.state.configuredAudienceModels[p.camArn]?.policy?.contains("CleanRoomsManaged") == true)
        _ = try p.b.call("cleanroomsml.DeleteConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(p.camArn)])
        let token = p.a.send("cleanrooms.UpdateCollaboration", ["collaborationIdentifier": id, "name": "renamed"])
        p.pump()
        #expect(try p.a.result("update", p.a.replies[token])["collaboration"]?["name"] == "renamed")
        #expect(p.b.core.state.collaborations[id.stringValue ?? ""]?.name == "renamed")
        #expect(p.b.core.state.configuredAudienceModels[p.camArn]?.policy == nil, "the owner's choice stands")
    }
}
