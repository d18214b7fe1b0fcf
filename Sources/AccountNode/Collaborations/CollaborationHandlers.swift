import AccessControl
import CleanRoomsModel
import JSON

/// `cleanrooms.*` for collaborations (CO-4): the creator's node holds the collaboration and
/// decides every member's status; the other members read the copy it pushes to them.
/// Operations that change a collaboration are the creator's; the others get
/// `AccessDeniedException`, as does anyone asking about a collaboration they are not in.
enum CollaborationHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanrooms.CreateCollaboration"] = create
        h["cleanrooms.GetCollaboration"] = get
        h["cleanrooms.ListCollaborations"] = list
        h["cleanrooms.UpdateCollaboration"] = update
        h["cleanrooms.DeleteCollaboration"] = delete
        h["cleanrooms.ListMembers"] = listMembers
        h["cleanrooms.DeleteMember"] = deleteMember
    }

    static let memberLimit = 10

    // MARK: Shapes

    static func shape(_ core: AccountNodeCore, _ c: Collaboration, summary: Bool) -> JSON {
        let me = c.member(core.config.account.rawValue)
        let membership = core.state.membership(ofCollaboration: c.id).flatMap { $0.isVisible ? $0 : nil }
        var o: [String: JSON] = ["id": .string(c.id), "arn": .string(c.arn), "name": .string(c.name), "creatorAccountId": .string(c.creatorAccountId),
                                 "creatorDisplayName": .string(c.creatorDisplayName), "createTime": .number(c.createTime),
                                 "updateTime": .number(c.updateTime), "memberStatus": .string(me?.status ?? "INVITED")]
        if let membership {
            o["membershipId"] = .string(membership.id)
            o["membershipArn"] = .string(membership.arn)
        }
        if let a = c.analyticsEngine { o["analyticsEngine"] = .string(a) }
        if !summary {
            o["description"] = .string(c.description)
            o["queryLogStatus"] = .string(c.queryLogStatus)
            if let j = c.jobLogStatus { o["jobLogStatus"] = .string(j) }
        }
        return .object(o)
    }

    static func memberShape(_ c: Collaboration, _ m: CollaborationMember, region: String, partition: String) -> JSON {
        .compactObject([
            "accountId": .string(m.accountId), "status": .string(m.status), "displayName": .string(m.displayName),
            "abilities": .array(m.abilities.map { .string($0) }), "mlAbilities": m.mlAbilities,
            "createTime": .number(m.createTime), "updateTime": .number(m.updateTime),
            "membershipId": m.membershipId.map { .string($0) },
            "membershipArn": m.membershipId.map { .string("arn:\(partition):cleanrooms:\(region):\(m.accountId):membership/\($0)") },
            // Whoever created the collaboration pays for queries unless told otherwise.
            "paymentConfiguration": ["queryCompute": ["isResponsible": .bool(m.accountId == c.creatorAccountId)]],
        ])
    }

    // MARK: Operations

    static func create(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let me = core.config.account.rawValue
        let tags = call.tagMap()
        try core.authorize(call, "cleanrooms:CreateCollaboration", "*", requestTags: tags)
        let specs = call.params["members"]?.arrayValue ?? []
        guard specs.count < memberLimit else {
            throw AWSError(.serviceQuotaExceeded, "A collaboration has at most \(memberLimit) members including its creator; members lists \(specs.count)")
        }
        var members: [CollaborationMember] = [
            CollaborationMember(accountId: me, displayName: try call.string("creatorDisplayName"), abilities: call.stringList("creatorMemberAbilities"),
                                mlAbilities: call.params["creatorMLMemberAbilities"], status: "INVITED", membershipId: nil,
                                createTime: call.now, updateTime: call.now),
        ]
        for (k, spec) in specs.enumerated() {
            let account = spec["accountId"]?.stringValue ?? ""
            guard account != me else {
                throw AWSError(.validation, "members[\(k)].accountId: \(account) is the creator's own account; the creator is a member already (creatorMemberAbilities)")
            }
            guard !members.contains(where: { $0.accountId == account }) else {
                throw AWSError(.validation, "members[\(k)].accountId: account \(account) is listed twice")
            }
            if let peers = core.config.peers, !peers.contains(account) {
                throw AWSError(.validation, "members[\(k)].accountId: account \(account) is not an account of this cluster")
            }
            members.append(CollaborationMember(accountId: account, displayName: spec["displayName"]?.stringValue ?? account,
                                               abilities: (spec["memberAbilities"]?.arrayValue ?? []).compactMap(\.stringValue),
                                               mlAbilities: spec["mlMemberAbilities"], status: "INVITED", membershipId: nil,
                                               createTime: call.now, updateTime: call.now))
        }
        let id = core.newUUID()
        let c = Collaboration(id: id, arn: core.collaborationArn(id, creator: me), name: try call.string("name"), description: try call.string("description"),
                              creatorAccountId: me, creatorDisplayName: members[0].displayName, queryLogStatus: try call.string("queryLogStatus"),
                              jobLogStatus: call.optionalString("jobLogStatus"), analyticsEngine: call.optionalString("analyticsEngine"),
                              members: members, createTime: call.now, updateTime: call.now, version: 0, deleted: false, tags: tags)
        call.auditResource("AWS::CleanRooms::Collaboration", c.arn)
        let saved = CollaborationReplication.commit(core, c, now: call.now)
        return core.answerAfterFirstDelivery(call, .result(["collaboration": shape(core, saved.record, summary: false)]), of: saved.pushes)
    }

    /// A collaboration the caller's account may see: it exists and the account is invited to it
    /// or active in it. Anything else is denied alike (no existence oracle).
    static func visible(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> Collaboration {
        let id = try call.string("collaborationIdentifier")
        let c = core.state.collaborations[id]
        let arn = c?.arn ?? core.collaborationArn(id, creator: core.config.account.rawValue)
        call.auditResource("AWS::CleanRooms::Collaboration", arn)
        try core.authorize(call, action, arn)
        guard let c, c.isLive, let me = c.member(core.config.account.rawValue), me.isCurrent else {
            throw AWSError(.accessDenied, "Account \(core.config.account) is not a member of collaboration \(id), or it does not exist")
        }
        return c
    }

    /// A collaboration the caller's account created (only the creator changes it).
    static func created(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> Collaboration {
        let c = try visible(core, call, action)
        guard c.creatorAccountId == core.config.account.rawValue else {
            throw AWSError(.accessDenied, "Only the creator of collaboration \(c.id) (account \(c.creatorAccountId)) can call \(call.operation)")
        }
        return c
    }

    static func get(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(["collaboration": shape(core, try visible(core, call, "cleanrooms:GetCollaboration"), summary: false)])
    }

    static func list(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "cleanrooms:ListCollaborations", "*")
        let me = core.config.account.rawValue
        let filter = call.optionalString("memberStatus")
        let all = core.state.collaborations.values.filter { c in
            guard c.isLive, let status = c.member(me)?.status, CollaborationMember.isCurrent(status) else { return false }
            return filter == nil || status == filter
        }.sorted { $0.id < $1.id }
        let page = try Page.slice(all, key: \.id, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["collaborationList": .array(page.items.map { shape(core, $0, summary: true) }), "nextToken": page.next.map { .string($0) }]))
    }

    static func update(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        var c = try created(core, call, "cleanrooms:UpdateCollaboration")
        if let name = call.optionalString("name") { c.name = name }
        if let description = call.optionalString("description") { c.description = description }
        if let engine = call.optionalString("analyticsEngine") { c.analyticsEngine = engine }
        let saved = CollaborationReplication.commit(core, c, now: call.now)
        return core.answerAfterFirstDelivery(call, .result(["collaboration": shape(core, saved.record, summary: false)]), of: saved.pushes)
    }

    static func delete(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        var c = try created(core, call, "cleanrooms:DeleteCollaboration")
        c.deleted = true
        let saved = CollaborationReplication.commit(core, c, now: call.now)
        return core.answerAfterFirstDelivery(call, .result([:]), of: saved.pushes)
    }

    static func listMembers(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let c = try visible(core, call, "cleanrooms:ListMembers")
        let page = try Page.slice(c.members.sorted { $0.accountId < $1.accountId }, key: \.accountId, token: call.optionalString("nextToken"),
                                  max: call.int("maxResults") ?? 100)
        let items = page.items.map { memberShape(c, $0, region: core.config.region, partition: core.config.partition) }
        return .result(.compactObject(["memberSummaries": .array(items), "nextToken": page.next.map { .string($0) }]))
    }

    static func deleteMember(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        var c = try created(core, call, "cleanrooms:DeleteMember")
        let account = try call.string("accountId")
        guard account != c.creatorAccountId else {
            throw AWSError(.validation, "The creator cannot remove itself from collaboration \(c.id); delete the collaboration instead")
        }
        guard let k = c.members.firstIndex(where: { $0.accountId == account }) else {
            throw AWSError(.resourceNotFound, "Account \(account) is not a member of collaboration \(c.id)")
        }
        guard c.members[k].isCurrent else {
            throw AWSError(.conflict, "Account \(account) is \(c.members[k].status) in collaboration \(c.id) already")
        }
        c.members[k].status = "REMOVED"
        c.members[k].updateTime = call.now
        let saved = CollaborationReplication.commit(core, c, now: call.now, alsoTell: account)
        return core.answerAfterFirstDelivery(call, .result([:]), of: saved.pushes)
    }
}

extension AccountNodeCore {
    func collaborationArn(_ id: String, creator: String) -> String {
        "arn:\(config.partition):cleanrooms:\(config.region):\(creator):collaboration/\(id)"
    }

    func membershipArn(_ id: String) -> String {
        "arn:\(config.partition):cleanrooms:\(config.region):\(config.account):membership/\(id)"
    }
}
