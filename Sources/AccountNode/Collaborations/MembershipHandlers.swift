import CleanRoomsModel
import JSON

/// `cleanrooms.*` for memberships (CO-4): a membership is a resource of the member's own
/// account. Joining asks the collaboration's creator (its node records the member ACTIVE);
/// leaving tells it through the outbox, so a member can always leave.
enum MembershipHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanrooms.CreateMembership"] = create
        h["cleanrooms.GetMembership"] = get
        h["cleanrooms.ListMemberships"] = list
        h["cleanrooms.UpdateMembership"] = update
        h["cleanrooms.DeleteMembership"] = delete
    }

    static func shape(_ core: AccountNodeCore, _ m: Membership, summary: Bool) -> JSON {
        let c = core.state.collaborations[m.collaborationId]
        let me = c?.member(core.config.account.rawValue)
        var o: [String: JSON] = [
            "id": .string(m.id), "arn": .string(m.arn), "collaborationId": .string(m.collaborationId),
            "collaborationArn": .string(c?.arn ?? core.collaborationArn(m.collaborationId, creator: "000000000000")),
            "collaborationCreatorAccountId": .string(c?.creatorAccountId ?? ""), "collaborationCreatorDisplayName": .string(c?.creatorDisplayName ?? ""),
            "collaborationName": .string(c?.name ?? ""), "createTime": .number(m.createTime), "updateTime": .number(m.updateTime),
            "status": .string(m.status), "memberAbilities": .array((me?.abilities ?? []).map { .string($0) }),
            "paymentConfiguration": m.paymentConfiguration ?? ["queryCompute": ["isResponsible": .bool(c?.creatorAccountId == core.config.account.rawValue)]],
        ]
        if let ml = me?.mlAbilities { o["mlMemberAbilities"] = ml }
        if !summary {
            o["queryLogStatus"] = .string(m.queryLogStatus)
            if let j = m.jobLogStatus { o["jobLogStatus"] = .string(j) }
            if let d = m.defaultResultConfiguration { o["defaultResultConfiguration"] = d }
        }
        return .object(o)
    }

    static func create(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let me = core.config.account.rawValue
        let id = try call.string("collaborationIdentifier")
        let tags = call.tagMap()
        let c = core.state.collaborations[id]
        call.auditResource("AWS::CleanRooms::Collaboration", c?.arn ?? id)
        try core.authorize(call, "cleanrooms:CreateMembership", c?.arn ?? "*", requestTags: tags)
        guard let c, c.isLive, let status = c.member(me)?.status else {
            throw AWSError(.resourceNotFound, "Collaboration \(id) does not exist or account \(me) is not invited to it")
        }
        let existing = core.state.membership(ofCollaboration: id)
        if let existing, existing.isVisible {
            throw AWSError(.conflict, "Account \(me) has membership \(existing.id) of collaboration \(id) already")
        }
        guard CollaborationMember.isCurrent(status) else {
            throw AWSError(.accessDenied, "Account \(me) is \(status) in collaboration \(id) and cannot join it again")
        }
        // A join whose answer was lost is asked again under the same membership id.
        let membershipID = existing?.id ?? core.newUUID()
        let pending = Membership(id: membershipID, arn: core.membershipArn(membershipID), collaborationId: id, status: Membership.pending,
                                 queryLogStatus: try call.string("queryLogStatus"), jobLogStatus: call.optionalString("jobLogStatus"),
                                 paymentConfiguration: call.params["paymentConfiguration"],
                                 defaultResultConfiguration: call.params["defaultResultConfiguration"], tags: tags,
                                 createTime: call.now, updateTime: call.now)
        call.auditResource("AWS::CleanRooms::Membership", pending.arn)
        core.emit(.membershipPut(pending))
        if c.creatorAccountId == me {
            var changed = c
            if let k = changed.members.firstIndex(where: { $0.accountId == me }) {
                changed.members[k].status = "ACTIVE"
                changed.members[k].membershipId = pending.id
                changed.members[k].updateTime = call.now
            }
            let saved = CollaborationReplication.commit(core, changed, now: call.now)
            return core.answerAfterFirstDelivery(call, .result(["membership": shape(core, core.state.memberships[pending.id] ?? pending, summary: false)]),
                                                 of: saved.pushes)
        }
        let token = MessageToken.join(membershipID: pending.id, n: core.nextMessageNumber())
        core.calls.add(token, call, .join(membershipID: pending.id))
        core.send(PeerMessage(token: token, account: c.creatorAccountId, method: CollaborationReplication.join,
                              params: ["collaborationId": .string(id), "membershipId": .string(pending.id)], timeout: core.config.crossAccount.callTimeout))
        call.deferred = true
        return .result([:])
    }

    /// The creator answered a join (or did not).
    static func resolveJoin(_ core: AccountNodeCore, _ call: Call, membershipID: String, _ outcome: PeerOutcome, now: Double) {
        switch outcome {
        case .answered(let answer):
            let creator = core.state.memberships[membershipID].flatMap { core.state.collaborations[$0.collaborationId]?.creatorAccountId } ?? ""
            if let c = try? CollaborationReplication.decodeReplica(answer["collaboration"], from: creator, method: CollaborationReplication.join) {
                try? CollaborationReplication.apply(core, c, now: now)
            }
            if let m = core.state.memberships[membershipID], m.status == "ACTIVE" {
                core.finish(call, .result(["membership": shape(core, m, summary: false)]))
            } else {
                core.finish(call, .error(AWSError(.internalServer, "The collaboration's creator accepted membership \(membershipID) but its record has not arrived; retry")))
            }
        case .refused(let error):
            if let m = core.state.memberships[membershipID], m.status == Membership.pending { core.emit(.membershipDeleted(id: m.id)) }
            core.finish(call, .error(error))
        case .unreachable(let why):
            // The creator may have recorded the join: its push will complete it; a retry asks again.
            core.finish(call, .error(AWSError(.internalServer, "The node of the collaboration's creator did not answer (\(why)); the membership is not active yet. Retry the request.")))
        }
    }

    static func visible(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> Membership {
        let id = try call.string("membershipIdentifier")
        let arn = core.membershipArn(id)
        call.auditResource("AWS::CleanRooms::Membership", arn)
        let m = core.state.memberships[id]
        try core.authorize(call, action, arn, resourceTags: m?.tags ?? [:])
        guard let m, m.isVisible else { throw AWSError(.resourceNotFound, "Membership \(id) not found in account \(core.config.account)") }
        return m
    }

    static func get(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(["membership": shape(core, try visible(core, call, "cleanrooms:GetMembership"), summary: false)])
    }

    static func list(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "cleanrooms:ListMemberships", "*")
        let filter = call.optionalString("status")
        let all = core.state.memberships.values.filter { $0.isVisible && (filter == nil || $0.status == filter) }.sorted { $0.id < $1.id }
        let page = try Page.slice(all, key: \.id, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["membershipSummaries": .array(page.items.map { shape(core, $0, summary: true) }), "nextToken": page.next.map { .string($0) }]))
    }

    static func update(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        var m = try visible(core, call, "cleanrooms:UpdateMembership")
        guard m.status == "ACTIVE" else { throw AWSError(.conflict, "Membership \(m.id) is \(m.status); only an ACTIVE membership can be changed") }
        if let q = call.optionalString("queryLogStatus") { m.queryLogStatus = q }
        if let j = call.optionalString("jobLogStatus") { m.jobLogStatus = j }
        if let d = call.params["defaultResultConfiguration"] { m.defaultResultConfiguration = d }
        m.updateTime = call.now
        core.emit(.membershipPut(m))
        return .result(["membership": shape(core, m, summary: false)])
    }

    static func delete(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let m = try visible(core, call, "cleanrooms:DeleteMembership")
        let me = core.config.account.rawValue
        let c = core.state.collaborations[m.collaborationId]
        if m.status == "ACTIVE", let c, c.creatorAccountId == me {
            throw AWSError(.conflict, "The creator of collaboration \(c.id) cannot leave it; delete the collaboration instead")
        }
        core.emit(.membershipDeleted(id: m.id))
        AudienceModelAssociations.dropAll(core, membershipID: m.id)
        guard m.status == "ACTIVE", var c else { return .result([:]) }
        // Leaving cannot be blocked: done here now, and told to the creator until it hears.
        if let k = c.members.firstIndex(where: { $0.accountId == me }) {
            c.members[k].status = "LEFT"
            c.members[k].updateTime = call.now
            core.emit(.collaborationPut(c))  // same version: the creator's next push replaces it
        }
        let entry = OutboxEntry(id: "leave:\(c.id)", account: c.creatorAccountId, method: CollaborationReplication.left,
                                params: ["collaborationId": .string(c.id), "membershipId": .string(m.id)], createdAt: call.now)
        Outbox.add(core, entry)
        return core.answerAfterFirstDelivery(call, .result([:]), of: [entry.id])
    }
}
