import AccessControl
import CleanRoomsModel
import JSON

/// `cleanrooms.*ConfiguredAudienceModelAssociation` (CO-2, CO-3): a configured audience model
/// of the member's own account offered in a collaboration through the member's ACTIVE
/// membership. With `manageResourcePolicies`, the model's resource policy gains a statement
/// that lets the collaboration's members start jobs only when they name the collaboration;
/// the statement goes when the association goes (or the membership ends).
enum AudienceModelAssociations {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanrooms.CreateConfiguredAudienceModelAssociation"] = create
        h["cleanrooms.GetConfiguredAudienceModelAssociation"] = get
        h["cleanrooms.ListConfiguredAudienceModelAssociations"] = list
        h["cleanrooms.UpdateConfiguredAudienceModelAssociation"] = update
        h["cleanrooms.DeleteConfiguredAudienceModelAssociation"] = delete
    }

    static func shape(_ core: AccountNodeCore, _ a: AudienceModelAssociation, summary: Bool) -> JSON {
        .compactObject([
            "id": .string(a.id), "arn": .string(a.arn), "configuredAudienceModelArn": .string(a.configuredAudienceModelArn),
            "membershipId": .string(a.membershipId), "membershipArn": .string(core.membershipArn(a.membershipId)),
            "collaborationId": .string(a.collaborationId),
            "collaborationArn": .string(core.state.collaborations[a.collaborationId]?.arn ?? ""),
            "name": .string(a.name), "description": a.description.map { .string($0) },
            "manageResourcePolicies": summary ? nil : .bool(a.manageResourcePolicies),
            "createTime": .number(a.createTime), "updateTime": .number(a.updateTime),
        ])
    }

    static func create(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let membership = try MembershipHandlers.visible(core, call, "cleanrooms:CreateConfiguredAudienceModelAssociation")
        guard membership.status == "ACTIVE" else {
            throw AWSError(.conflict, "Membership \(membership.id) is \(membership.status); associations need an ACTIVE membership")
        }
        let camArn = try call.string("configuredAudienceModelArn")
        try core.requireOwnAccount(call, "cleanrooms:CreateConfiguredAudienceModelAssociation", camArn)
        guard let cam = core.state.configuredAudienceModels[camArn] else {
            throw AWSError(.resourceNotFound, "Configured audience model \(camArn) not found in account \(core.config.account)")
        }
        if core.state.associations.values.contains(where: { $0.membershipId == membership.id && $0.configuredAudienceModelArn == camArn }) {
            throw AWSError(.conflict, "\(camArn) is associated with membership \(membership.id) already")
        }
        let id = core.newUUID()
        let a = AudienceModelAssociation(id: id, arn: "\(core.membershipArn(membership.id))/configuredaudiencemodelassociation/\(id)",
                                         membershipId: membership.id, collaborationId: membership.collaborationId, configuredAudienceModelArn: camArn,
                                         name: try call.string("configuredAudienceModelAssociationName"), description: call.optionalString("description"),
                                         manageResourcePolicies: call.bool("manageResourcePolicies") ?? false, tags: call.tagMap(),
                                         createTime: call.now, updateTime: call.now)
        call.auditResource("AWS::CleanRooms::ConfiguredAudienceModelAssociation", a.arn)
        if a.manageResourcePolicies {
            let policy = try ManagedResourcePolicy.adding(a, members: managedPrincipals(core, a), to: cam.policy, jobArnPattern: jobArnPattern(core))
            core.emit(.configuredAudienceModelPolicy(arn: camArn, policy: policy))
        }
        core.emit(.associationPut(a))
        let told = SharedAssociations.tell(core, a, removed: false, now: call.now)
        return core.answerAfterFirstDelivery(call, .result(["configuredAudienceModelAssociation": shape(core, a, summary: false)]), of: told)
    }

    static func association(_ core: AccountNodeCore, _ call: Call, _ action: String) throws(AWSError) -> AudienceModelAssociation {
        let membership = try MembershipHandlers.visible(core, call, action)
        let id = try call.string("configuredAudienceModelAssociationIdentifier")
        guard let a = core.state.associations[id], a.membershipId == membership.id else {
            throw AWSError(.resourceNotFound, "Configured audience model association \(id) not found in membership \(membership.id)")
        }
        call.auditResource("AWS::CleanRooms::ConfiguredAudienceModelAssociation", a.arn)
        return a
    }

    static func get(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        .result(["configuredAudienceModelAssociation": shape(core, try association(core, call, "cleanrooms:GetConfiguredAudienceModelAssociation"), summary: false)])
    }

    static func list(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let membership = try MembershipHandlers.visible(core, call, "cleanrooms:ListConfiguredAudienceModelAssociations")
        let all = core.state.associations.values.filter { $0.membershipId == membership.id }.sorted { $0.id < $1.id }
        let page = try Page.slice(all, key: \.id, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["configuredAudienceModelAssociationSummaries": .array(page.items.map { shape(core, $0, summary: true) }),
                                       "nextToken": page.next.map { .string($0) }]))
    }

    static func update(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        var a = try association(core, call, "cleanrooms:UpdateConfiguredAudienceModelAssociation")
        if let name = call.optionalString("name") { a.name = name }
        if let d = call.optionalString("description") { a.description = d }
        a.updateTime = call.now
        core.emit(.associationPut(a))
        let told = SharedAssociations.tell(core, a, removed: false, now: call.now)
        return core.answerAfterFirstDelivery(call, .result(["configuredAudienceModelAssociation": shape(core, a, summary: false)]), of: told)
    }

    static func delete(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let a = try association(core, call, "cleanrooms:DeleteConfiguredAudienceModelAssociation")
        remove(core, a)
        let told = SharedAssociations.tell(core, a, removed: true, now: call.now)
        return core.answerAfterFirstDelivery(call, .result([:]), of: told)
    }

    /// Removes an association and the policy statement it wrote.
    static func remove(_ core: AccountNodeCore, _ a: AudienceModelAssociation) {
        if a.manageResourcePolicies, let cam = core.state.configuredAudienceModels[a.configuredAudienceModelArn] {
            let policy = ManagedResourcePolicy.removing(a, from: cam.policy)
            if policy != cam.policy { core.emit(.configuredAudienceModelPolicy(arn: cam.arn, policy: policy)) }
        }
        core.emit(.associationDeleted(id: a.id))
    }

    /// The accounts a managed statement names: the collaboration's other members that are
    /// still INVITED or ACTIVE.
    static func managedPrincipals(_ core: AccountNodeCore, _ a: AudienceModelAssociation) -> [String] {
        core.state.collaborations[a.collaborationId]?.members
            .filter { $0.isCurrent && $0.accountId != core.config.account.rawValue }.map(\.accountId) ?? []
    }

    static func jobArnPattern(_ core: AccountNodeCore) -> String { CleanRoomsMLHandlers.arn(core, "audience-generation-job", "*") }

    /// The collaboration changed (a member left or was removed): a managed statement still in
    /// the policy names the current members only. A statement the owner took out stays out, and
    /// a policy whose principals are unchanged is not rewritten (its hash stays).
    static func refreshManagedStatements(_ core: AccountNodeCore, collaborationID: String) {
        for a in core.state.associations.values.sorted(by: { $0.id < $1.id }) where a.collaborationId == collaborationID && a.manageResourcePolicies {
            guard let cam = core.state.configuredAudienceModels[a.configuredAudienceModelArn],
                  let policy = ManagedResourcePolicy.narrowing(a, to: managedPrincipals(core, a), in: cam.policy) else { continue }
            core.emit(.configuredAudienceModelPolicy(arn: cam.arn, policy: policy.text))
        }
    }

    /// A membership ended (left, removed, collaboration deleted): its associations go.
    static func dropAll(_ core: AccountNodeCore, membershipID: String) {
        for a in core.state.associations.values.sorted(by: { $0.id < $1.id }) where a.membershipId == membershipID { remove(core, a) }
    }
}

/// The statements the service writes into a configured audience model's resource policy for a
/// collaboration (CO-3): named by the association, merged with the owner's own statements,
/// each allowing the collaboration's other members to start jobs only with the
/// `cleanrooms-ml:CollaborationId` condition (CO-2).
enum ManagedResourcePolicy {
    static func sid(_ a: AudienceModelAssociation) -> String { "CleanRoomsManaged" + a.id.filter { $0 != "-" } }

    static func statement(_ a: AudienceModelAssociation, members: [String], jobArnPattern: String) -> JSON {
        [
            "Sid": .string(sid(a)), "Effect": "Allow",
            "Principal": principal(members),
            "Action": "cleanrooms-ml:StartAudienceGenerationJob",
            "Resource": [.string(a.configuredAudienceModelArn), .string(jobArnPattern)],
            "Condition": ["StringEquals": ["cleanrooms-ml:CollaborationId": .string(a.collaborationId)]],
        ]
    }

    static func adding(_ a: AudienceModelAssociation, members: [String], to policy: String?, jobArnPattern: String) throws(AWSError) -> String {
        guard !members.isEmpty else { throw AWSError(.validation, "Collaboration \(a.collaborationId) has no other members to share \(a.configuredAudienceModelArn) with") }
        var (version, statements) = parts(policy)
        statements.removeAll { $0["Sid"]?.stringValue == sid(a) }
        statements.append(statement(a, members: members, jobArnPattern: jobArnPattern))
        return text(version, statements) ?? ""
    }

    /// A new text for a policy (nil: no statement left, so no policy).
    struct Rewrite {
        var text: String?
    }

    /// The policy with the association's statement naming `members` only, or nil when there is
    /// nothing to change (no such statement, or the same principals).
    static func narrowing(_ a: AudienceModelAssociation, to members: [String], in policy: String?) -> Rewrite? {
        var (version, statements) = parts(policy)
        guard let k = statements.firstIndex(where: { $0["Sid"]?.stringValue == sid(a) }) else { return nil }
        let current = Set((statements[k]["Principal"]?["AWS"]?.arrayValue ?? []).compactMap(\.stringValue))
        guard current != Set(members) else { return nil }
        if members.isEmpty {
            statements.remove(at: k)
        } else {
            statements[k]["Principal"] = principal(members)
        }
        return Rewrite(text: text(version, statements))
    }

    static func removing(_ a: AudienceModelAssociation, from policy: String?) -> String? {
        var (version, statements) = parts(policy)
        let before = statements.count
        statements.removeAll { $0["Sid"]?.stringValue == sid(a) }
        guard statements.count != before else { return policy }
        return text(version, statements)
    }

    static func principal(_ members: [String]) -> JSON { ["AWS": .array(members.sorted().map { .string($0) })] }

    /// A policy's text, or nil when no statement is left (then there is no policy).
    private static func text(_ version: String, _ statements: [JSON]) -> String? {
        statements.isEmpty ? nil : JSONWriter.string(["Version": .string(version), "Statement": .array(statements)])
    }

    /// The version and statements of a stored policy (it was valid when stored).
    private static func parts(_ policy: String?) -> (String, [JSON]) {
        guard let policy, let doc = try? JSONParser.parse(policy) else { return ("2012-10-17", []) }
        let version = doc["Version"]?.stringValue ?? "2012-10-17"
        switch doc["Statement"] {
        case .array(let list)?: return (version, list)
        case .object?: return (version, [doc["Statement"]!])
        default: return (version, [])
        }
    }
}

/// The collaboration's view of associations (`Get`/`ListCollaborationConfiguredAudienceModelAssociation(s)`):
/// each member's node tells the creator of its associations through the outbox
/// (`peer.AssociationChanged`); the creator keeps them in the collaboration record it pushes to
/// every member, so any member reads them in its own account.
enum SharedAssociations {
    static let changed = "peer.AssociationChanged"

    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cleanrooms.GetCollaborationConfiguredAudienceModelAssociation"] = get
        h["cleanrooms.ListCollaborationConfiguredAudienceModelAssociations"] = list
    }

    static func shared(_ a: AudienceModelAssociation, by account: String) -> SharedAssociation {
        SharedAssociation(id: a.id, arn: a.arn, name: a.name, description: a.description, configuredAudienceModelArn: a.configuredAudienceModelArn,
                          creatorAccountId: account, createTime: a.createTime, updateTime: a.updateTime)
    }

    static func shape(_ c: Collaboration, _ a: SharedAssociation, summary: Bool) -> JSON {
        .compactObject([
            "id": .string(a.id), "arn": .string(a.arn), "collaborationId": .string(c.id), "collaborationArn": .string(c.arn),
            "configuredAudienceModelArn": summary ? nil : .string(a.configuredAudienceModelArn), "name": .string(a.name),
            "description": a.description.map { .string($0) }, "creatorAccountId": .string(a.creatorAccountId),
            "createTime": .number(a.createTime), "updateTime": .number(a.updateTime),
        ])
    }

    static func get(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let c = try CollaborationHandlers.visible(core, call, "cleanrooms:GetCollaborationConfiguredAudienceModelAssociation")
        let id = try call.string("configuredAudienceModelAssociationIdentifier")
        guard let a = c.associations?.first(where: { $0.id == id }) else {
            throw AWSError(.resourceNotFound, "Collaboration \(c.id) has no configured audience model association \(id)")
        }
        return .result(["collaborationConfiguredAudienceModelAssociation": shape(c, a, summary: false)])
    }

    static func list(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let c = try CollaborationHandlers.visible(core, call, "cleanrooms:ListCollaborationConfiguredAudienceModelAssociations")
        let page = try Page.slice((c.associations ?? []).sorted { $0.id < $1.id }, key: \.id, token: call.optionalString("nextToken"), max: call.int("maxResults") ?? 100)
        return .result(.compactObject(["collaborationConfiguredAudienceModelAssociationSummaries": .array(page.items.map { shape(c, $0, summary: true) }),
                                       "nextToken": page.next.map { .string($0) }]))
    }

    /// An association of this account was made, changed or removed: tell the creator (or, on
    /// the creator's node, change the record). Returns the outbox entries to wait for.
    static func tell(_ core: AccountNodeCore, _ a: AudienceModelAssociation, removed: Bool, now: Double) -> [String] {
        let me = core.config.account.rawValue
        guard let c = core.state.collaborations[a.collaborationId], c.isLive else { return [] }
        if c.creatorAccountId == me {
            var changed = c
            guard apply(&changed, removed ? nil : shared(a, by: me), id: a.id, from: me, at: removed ? now : a.updateTime) else { return [] }
            return CollaborationReplication.commit(core, changed, now: now).pushes
        }
        // `changedAt` orders the changes of one association: a late or repeated message about it
        // changes nothing once a newer one has been applied.
        var params: JSON = ["collaborationId": .string(a.collaborationId), "associationId": .string(a.id), "changedAt": .number(removed ? now : a.updateTime)]
        if !removed { params["association"] = (try? JSON(encoding: shared(a, by: me))) ?? .null }
        let entry = OutboxEntry(id: "association:\(a.id)", account: c.creatorAccountId, method: changed, params: params, createdAt: now)
        Outbox.add(core, entry)
        return [entry.id]
    }

    /// The creator's side: a member's association, made or gone.
    static func changedFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        let id = try request.jobID("collaborationId")
        let associationID = try request.jobID("associationId")
        guard let c = core.state.collaborations[id], c.creatorAccountId == core.config.account.rawValue, c.isLive else { return .result([:]) }
        guard c.member(request.from)?.status == "ACTIVE" else {
            throw AWSError(.accessDenied, "Account \(request.from) is not an ACTIVE member of collaboration \(id)")
        }
        var shared: SharedAssociation?
        if let json = request.params["association"] {
            guard let a = try? json.decode(SharedAssociation.self), a.id == associationID, a.creatorAccountId == request.from,
                  ARN(a.arn)?.account == request.from, ARN(a.configuredAudienceModelArn)?.account == request.from else {
                throw AWSError(.validation, "\(request.method): association must be one of account \(request.from)'s")
            }
            shared = a
        }
        guard let at = request.params["changedAt"]?.numberValue, at.isFinite else {
            throw AWSError(.validation, "\(request.method): changedAt must be a time")
        }
        if let held = c.associations?.first(where: { $0.id == associationID }), held.creatorAccountId != request.from {
            throw AWSError(.conflict, "Association \(associationID) belongs to account \(held.creatorAccountId)")
        }
        var changed = c
        if apply(&changed, shared, id: associationID, from: request.from, at: at) { CollaborationReplication.commit(core, changed, now: request.now) }  // else: nothing new
        return .result([:])
    }

    /// Applies one change of a member's association if it is newer than what the record holds
    /// (removals are remembered by time); returns whether anything changed.
    static func apply(_ c: inout Collaboration, _ a: SharedAssociation?, id: String, from: String, at: Double) -> Bool {
        if let removedAt = c.removedAssociations?[id], removedAt >= at { return false }
        let held = c.associations?.first { $0.id == id && $0.creatorAccountId == from }
        if let held, held.updateTime > at || (a != nil && held.updateTime == at) { return false }
        var list = (c.associations ?? []).filter { !($0.id == id && $0.creatorAccountId == from) }
        if let a {
            guard a != held else { return false }
            list.append(a)
        } else {
            // Remembered even if its creation has not arrived yet: that copy must not undo this.
            c.removedAssociations = (c.removedAssociations ?? [:]).merging([id: at]) { max($0, $1) }
        }
        c.associations = list
        return true
    }
}
