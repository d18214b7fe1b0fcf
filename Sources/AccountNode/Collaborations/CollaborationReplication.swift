import CleanRoomsModel
import JSON

/// How collaborations reach their members (CO-4, docs/collaborations.md).
///
/// The creator's node decides. Every change raises the record's version and is pushed, whole,
/// to every member still invited or active (and to a member whose status just changed) through
/// the outbox, so it arrives even across crashes and cuts; a member applies only newer
/// versions. A member joins by asking the creator (who records it ACTIVE with the member's
/// membership id) and leaves by telling it through the outbox. Each node keeps its own
/// membership in step with what the creator says of it.
enum CollaborationReplication {
    static let changed = "peer.CollaborationChanged"
    static let join = "peer.JoinCollaboration"
    static let left = "peer.LeaveCollaboration"
    static let check = "peer.CheckMembers"

    // MARK: Creator

    /// Stores a change made on the creator's node and tells the members. Returns the record as
    /// stored and the outbox entries that carry it.
    @discardableResult
    static func commit(_ core: AccountNodeCore, _ change: Collaboration, now: Double, alsoTell: String? = nil) -> (record: Collaboration, pushes: [String]) {
        var c = change
        c.version += 1
        c.updateTime = now
        // What members that left or were removed offered goes with them.
        let current = Set(c.members.filter(\.isCurrent).map(\.accountId))
        if let list = c.associations, list.contains(where: { !current.contains($0.creatorAccountId) }) {
            c.associations = list.filter { current.contains($0.creatorAccountId) }
        }
        core.emit(.collaborationPut(c))
        followOwnStatus(core, c, now: now)
        AudienceModelAssociations.refreshManagedStatements(core, collaborationID: c.id)
        let me = core.config.account.rawValue
        var pushes: [String] = []
        for m in c.members where m.accountId != me && (m.isCurrent || m.accountId == alsoTell) {
            let entry = OutboxEntry(id: "collaboration:\(c.id):\(m.accountId)", account: m.accountId, method: changed,
                                    params: ["collaboration": replica(c)], createdAt: now)
            Outbox.add(core, entry)  // replaces an older push not yet delivered
            pushes.append(entry.id)
        }
        return (c, pushes)
    }

    /// What members get: the record without the creator's tags.
    static func replica(_ c: Collaboration) -> JSON {
        var copy = c
        copy.tags = [:]
        return (try? JSON(encoding: copy)) ?? .null
    }

    /// A member asks to join: it becomes ACTIVE with the membership id it chose. Asking again
    /// with the same id (its answer was lost) gets the same answer.
    static func joinFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        let id = try request.jobID("collaborationId")
        let membershipID = try request.jobID("membershipId")
        guard var c = ownCollaboration(core, id), c.isLive, let k = c.members.firstIndex(where: { $0.accountId == request.from }) else {
            throw AWSError(.resourceNotFound, "Collaboration \(id) does not exist or has no member \(request.from)")
        }
        switch c.members[k].status {
        case "INVITED":
            c.members[k].status = "ACTIVE"
            c.members[k].membershipId = membershipID
            c.members[k].updateTime = request.now
            c = commit(core, c, now: request.now).record
        case "ACTIVE" where c.members[k].membershipId == membershipID:
            break
        case "ACTIVE":
            throw AWSError(.conflict, "Account \(request.from) is a member of collaboration \(id) already")
        default:
            throw AWSError(.accessDenied, "Account \(request.from) is \(c.members[k].status) in collaboration \(id) and cannot join it again")
        }
        return .result(["collaboration": replica(c)])
    }

    /// A member left (its own node deleted its membership).
    static func leftFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        let id = try request.jobID("collaborationId")
        if var c = ownCollaboration(core, id), c.isLive, let k = c.members.firstIndex(where: { $0.accountId == request.from }), c.members[k].status == "ACTIVE" {
            c.members[k].status = "LEFT"
            c.members[k].updateTime = request.now
            commit(core, c, now: request.now, alsoTell: request.from)
        }
        return .result([:])
    }

    /// CO-1, asked by the node of a model owner about to accept a start: does the
    /// collaboration exist, and what are these accounts' statuses in it?
    static func checkFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        let id = try request.jobID("collaborationId")
        let accounts = (request.params["accounts"]?.arrayValue ?? []).compactMap(\.stringValue).prefix(2)
        // Only members learn anything: current ones about themselves and one other account (the
        // model owner asking and the submitter of a start), former ones their own status only.
        guard let c = ownCollaboration(core, id), c.isLive, let asker = c.member(request.from)?.status, accounts.contains(request.from) else {
            return .result(["exists": false])
        }
        guard CollaborationMember.isCurrent(asker) else { return .result(["exists": true, "statuses": [request.from: .string(asker)]]) }
        return .result(checkAnswer(c, accounts: Array(accounts)))
    }

    /// What the creator answers a current member about a live collaboration: the accounts'
    /// statuses and the query log status.
    static func checkAnswer(_ c: Collaboration, accounts: [String]) -> JSON {
        var statuses: [String: JSON] = [:]
        for a in accounts { statuses[a] = .string(c.member(a)?.status ?? "NOT_A_MEMBER") }
        return ["exists": true, "queryLogStatus": .string(c.queryLogStatus), "statuses": .object(statuses)]
    }

    private static func ownCollaboration(_ core: AccountNodeCore, _ id: String) -> Collaboration? {
        guard let c = core.state.collaborations[id], c.creatorAccountId == core.config.account.rawValue else { return nil }
        return c
    }

    // MARK: Members

    /// A push from the creator: keep it if it is newer than the copy held here.
    static func changedFromPeer(_ core: AccountNodeCore, _ request: PeerRequest) throws(AWSError) -> Reply {
        let c = try decodeReplica(request.params["collaboration"], from: request.from, method: request.method)
        try apply(core, c, now: request.now)
        return .result(["version": .int(c.version)])
    }

    static func decodeReplica(_ json: JSON?, from: String, method: String) throws(AWSError) -> Collaboration {
        guard let json, let c = try? json.decode(Collaboration.self) else {
            throw AWSError(.validation, "\(method): collaboration is not a collaboration record")
        }
        // Only its creator speaks for a collaboration.
        guard c.creatorAccountId == from, ARN(c.arn)?.account == from else {
            throw AWSError(.accessDenied, "Account \(from) did not create collaboration \(c.id)")
        }
        return c
    }

    /// Stores a copy from the creator if it is newer and names this account. A record that
    /// claims a collaboration this node knows under another creator is refused; the copy held
    /// is then disputed and counts as gone (a member cannot take a collaboration over).
    static func apply(_ core: AccountNodeCore, _ c: Collaboration, now: Double) throws(AWSError) {
        let me = core.config.account.rawValue
        guard c.creatorAccountId != me, c.member(me) != nil else { return }
        if let held = core.state.collaborations[c.id] {
            guard held.creatorAccountId == c.creatorAccountId, held.arn == c.arn else {
                if held.creatorAccountId != me, held.disputedBy == nil {
                    var disputed = held
                    disputed.disputedBy = c.creatorAccountId
                    core.emit(.collaborationPut(disputed))
                }
                throw AWSError(.accessDenied, "Collaboration \(c.id) was created by account \(held.creatorAccountId), not \(c.creatorAccountId)")
            }
            if held.disputedBy != nil || held.version >= c.version { return }
        }
        var copy = c
        copy.disputedBy = nil
        core.emit(.collaborationPut(copy))
        followOwnStatus(core, c, now: now)
        AudienceModelAssociations.refreshManagedStatements(core, collaborationID: c.id)
    }

    /// Brings this account's membership in line with what the collaboration says of it.
    static func followOwnStatus(_ core: AccountNodeCore, _ c: Collaboration, now: Double) {
        guard let me = c.member(core.config.account.rawValue), var m = core.state.membership(ofCollaboration: c.id) else { return }
        let next: String?
        if c.deleted {
            next = "COLLABORATION_DELETED"
        } else {
            switch me.status {
            case "ACTIVE" where m.status == Membership.pending && me.membershipId == m.id: next = "ACTIVE"
            case "REMOVED": next = "REMOVED"
            default: next = nil
            }
        }
        guard let next, next != m.status else { return }
        if m.status == Membership.pending, next != "ACTIVE" {
            core.emit(.membershipDeleted(id: m.id))  // never joined: nothing to show
        } else {
            m.status = next
            m.updateTime = now
            core.emit(.membershipPut(m))
        }
        if next != "ACTIVE" { AudienceModelAssociations.dropAll(core, membershipID: m.id) }
    }
}
