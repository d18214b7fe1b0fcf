import JSON

/// A Clean Rooms collaboration. The creator's node holds the record that decides (who is a
/// member, with what status); every member's node holds a copy pushed by the creator, newer
/// `version`s replacing older ones, so each member can list and read it in its own account.
public struct Collaboration: Codable, Sendable {
    public var id: String
    public var arn: String
    public var name: String
    public var description: String
    public var creatorAccountId: String
    public var creatorDisplayName: String
    public var queryLogStatus: String
    public var jobLogStatus: String?
    public var analyticsEngine: String?
    public var members: [CollaborationMember]
    public var createTime: Double
    public var updateTime: Double
    /// Raised by every change on the creator's node; a copy applies only newer versions.
    public var version: Int
    /// Ended by its creator: kept so that late messages cannot revive it, shown to nobody.
    public var deleted: Bool
    /// The creator's tags (never pushed to members).
    public var tags: [String: String]
    /// Set on a member's copy when another account also claimed to have created this
    /// collaboration: trusting neither, the copy counts as gone (fail closed).
    public var disputedBy: String? = nil
    /// The configured audience models members offer in it, as each member's node told the
    /// creator (what every member may see of them).
    public var associations: [SharedAssociation]? = nil
    /// When each association that was removed went (so a late message cannot bring it back).
    public var removedAssociations: [String: Double]? = nil

    public func member(_ account: String) -> CollaborationMember? { members.first { $0.accountId == account } }

    public var isLive: Bool { !deleted && disputedBy == nil }
}

/// One account's place in a collaboration, as its creator records it.
public struct CollaborationMember: Codable, Sendable {
    public var accountId: String
    public var displayName: String
    public var abilities: [String]
    public var mlAbilities: JSON?
    /// `INVITED`, `ACTIVE`, `LEFT` or `REMOVED` (AWS's `MemberStatus`).
    public var status: String
    /// Set when the member joins: the id of the membership in the member's own account.
    public var membershipId: String?
    public var createTime: Double
    public var updateTime: Double

    /// Invited or joined: still part of the collaboration (not LEFT or REMOVED).
    public var isCurrent: Bool { CollaborationMember.isCurrent(status) }

    public static func isCurrent(_ status: String) -> Bool { status == "INVITED" || status == "ACTIVE" }
}

/// What the members of a collaboration see of a configured audience model association.
public struct SharedAssociation: Codable, Sendable, Equatable {
    public var id: String
    public var arn: String
    public var name: String
    public var description: String?
    public var configuredAudienceModelArn: String
    public var creatorAccountId: String
    public var createTime: Double
    public var updateTime: Double
}

/// A member's membership of a collaboration: a resource of the member's account.
///
/// `PENDING` is this node's own state between asking the creator to join and hearing back;
/// it is never shown (AWS's statuses are `ACTIVE`, `REMOVED`, `COLLABORATION_DELETED`). A
/// member that leaves has no membership any more.
public struct Membership: Codable, Sendable {
    public var id: String
    public var arn: String
    public var collaborationId: String
    public var status: String
    public var queryLogStatus: String
    public var jobLogStatus: String?
    public var paymentConfiguration: JSON?
    public var defaultResultConfiguration: JSON?
    public var tags: [String: String]
    public var createTime: Double
    public var updateTime: Double

    public static let pending = "PENDING"
    public var isVisible: Bool { status != Membership.pending }
}

/// A configured audience model made available in a collaboration through its owner's
/// membership. With `manageResourcePolicies`, the service wrote statements into the model's
/// resource policy for the collaboration's members; they go when the association goes.
public struct AudienceModelAssociation: Codable, Sendable {
    public var id: String
    public var arn: String
    public var membershipId: String
    public var collaborationId: String
    public var configuredAudienceModelArn: String
    public var name: String
    public var description: String?
    public var manageResourcePolicies: Bool
    public var tags: [String: String]
    public var createTime: Double
    public var updateTime: Double
}
