import AccessControl
import CleanRoomsModel
import JSON
import Testing

/// XA-6, CO-2: the seed's example resource policy, used the way a cross-account start uses it
/// (caller in A, resources in B; A's identity policy allows the action everywhere).
let seedCases: [AuthCase] = [
    AuthCase(rule: "XA-6 seed policy: A on B's CAM with the collaboration id is allowed (both sides allow)",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .allowed),
    AuthCase(rule: "XA-6 seed policy: A on B's job ARN (audience-generation-job/*) with the collaboration id is allowed",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: jobB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .allowed),
    AuthCase(rule: "CO-2 seed policy: without collaborationId StringEquals does not match, so the CAM is implicitly denied",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: camB, expected: .implicitDeny),
    AuthCase(rule: "CO-2 seed policy: without collaborationId B's job ARN is implicitly denied",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: jobB, expected: .implicitDeny),
    AuthCase(rule: "CO-2 seed policy: another collaboration's id does not match StringEquals",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single("00000000-0000-0000-0000-000000000000")], expected: .implicitDeny),
    AuthCase(rule: "XA-6 seed policy: account C is not the named principal",
             identity: [allowAll], resourcePolicy: seedPolicy, caller: .user(accountC, name: "carol"), resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .implicitDeny),
    AuthCase(rule: "XA-6 seed policy: a resource the policy does not list (another CAM of B) is implicitly denied",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: "arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/other",
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .implicitDeny),
    AuthCase(rule: "XA-6 seed policy: B's training dataset ARN is not covered",
             identity: [allowAll], resourcePolicy: seedPolicy, resource: "arn:aws:cleanrooms-ml:us-west-1:222222222222:training-dataset/t",
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .implicitDeny),
    AuthCase(rule: "XA-6 seed policy: only StartAudienceGenerationJob is granted, not GetConfiguredAudienceModel",
             identity: [allowAll], resourcePolicy: seedPolicy, action: "cleanrooms-ml:GetConfiguredAudienceModel", resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .implicitDeny),
    AuthCase(rule: "XA-6 seed policy: cross-account needs A's identity allow too; with no identity policy it is implicitly denied",
             identity: [], resourcePolicy: seedPolicy, resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .implicitDeny),
    AuthCase(rule: "XA-6 seed policy: an identity policy limited to A's own jobs does not cover B's CAM",
             identity: [policy(stmt(action: "cleanrooms-ml:StartAudienceGenerationJob", resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/*"))],
             resourcePolicy: seedPolicy, resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .implicitDeny),
    AuthCase(rule: "XA-6 A's own job ARN is A's resource: its identity policy on audience-generation-job/* suffices",
             identity: [policy(stmt(action: "cleanrooms-ml:StartAudienceGenerationJob", resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/*"))],
             resource: jobA, expected: .allowed),
    AuthCase(rule: "XA-6 an explicit Deny in A's identity policy beats the seed policy's allow",
             identity: [allowAll, policy(stmt("Deny", action: "cleanrooms-ml:StartAudienceGenerationJob"))],
             resourcePolicy: seedPolicy, resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .explicitDeny),
    AuthCase(rule: "XA-6 the seed policy with the root ARN of A instead of the bare id behaves the same",
             identity: [allowAll],
             resourcePolicy: seedPolicy.replacingOccurrences("\"111111111111\"", with: "\"arn:aws:iam::111111111111:root\""), resource: camB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .allowed),
    AuthCase(rule: "XA-6 a role session of A is covered by the account principal",
             identity: [allowAll], resourcePolicy: seedPolicy, caller: .assumedRole(accountA, role: "Submitter", session: "s1"), resource: jobB,
             context: ["cleanrooms-ml:CollaborationId": .single(collaborationID)], expected: .allowed),
]

@Test(arguments: seedCases)
func seedExamplePolicy(_ c: AuthCase) throws { try check(c) }

/// The documented evaluation logic: explicit deny, same-account, cross-account, boundaries, SCPs.
let evaluationCases: [AuthCase] = [
    AuthCase(rule: "default implicit deny: no policy at all", expected: .implicitDeny),
    AuthCase(rule: "identity allow suffices within one account", identity: [allowAll], expected: .allowed),
    AuthCase(rule: "explicit deny in the identity policy overrides its allow", identity: [allowAll, policy(stmt("Deny"))], expected: .explicitDeny),
    AuthCase(rule: "explicit deny inside the same policy overrides an allow statement", identity: [policy(stmt(), stmt("Deny", action: "cleanrooms-ml:Start*"))], expected: .explicitDeny),
    AuthCase(rule: "a deny for another action does not apply", identity: [policy(stmt(), stmt("Deny", action: "iam:*"))], expected: .allowed),
    AuthCase(rule: "same account: a resource policy naming the caller's user ARN grants without an identity allow",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:user/alice"])), expected: .allowed),
    AuthCase(rule: "same account: a resource policy naming only the account delegates; without an identity allow it is denied",
             resourcePolicy: policy(stmt(principal: ["AWS": "111111111111"])), expected: .implicitDeny),
    AuthCase(rule: "same account: account delegation plus an identity allow is allowed",
             identity: [allowAll], resourcePolicy: policy(stmt(principal: ["AWS": "111111111111"])), expected: .allowed),
    AuthCase(rule: "same account: Principal \"*\" grants IAM principals of the account without identity policy",
             resourcePolicy: policy(stmt(principal: "*")), expected: .allowed),
    AuthCase(rule: "same account: explicit deny in the resource policy beats the identity allow",
             identity: [allowAll], resourcePolicy: policy(stmt("Deny", principal: "*")), expected: .explicitDeny),
    AuthCase(rule: "a Deny naming the account in a resource policy denies every principal of it",
             identity: [allowAll], resourcePolicy: policy(stmt("Deny", principal: ["AWS": "arn:aws:iam::111111111111:root"])), expected: .explicitDeny),
    AuthCase(rule: "cross account: identity allow alone is not enough", identity: [allowAll], resource: jobB, expected: .implicitDeny),
    AuthCase(rule: "cross account: resource policy alone is not enough",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:user/alice"])), resource: jobB, expected: .implicitDeny),
    AuthCase(rule: "cross account: both sides allow",
             identity: [allowAll], resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:user/alice"])), resource: jobB, expected: .allowed),
    AuthCase(rule: "cross account: the root user of the calling account needs only the resource policy",
             resourcePolicy: policy(stmt(principal: ["AWS": "111111111111"])), caller: .root(accountA), resource: jobB, expected: .allowed),
    AuthCase(rule: "cross account: the resource policy's deny wins over both allows",
             identity: [allowAll], resourcePolicy: policy(stmt(principal: "*"), stmt("Deny", principal: ["AWS": "111111111111"])), resource: jobB, expected: .explicitDeny),
    AuthCase(rule: "root user of the account is allowed without policies", caller: .root(accountA), expected: .allowed),
    AuthCase(rule: "root user is still bound by an explicit deny in a resource policy",
             resourcePolicy: policy(stmt("Deny", principal: "*")), caller: .root(accountA), expected: .explicitDeny),
    AuthCase(rule: "a role ARN in the resource policy matches the role's sessions (same account)",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:role/Submitter"])),
             caller: .assumedRole(accountA, role: "Submitter", session: "s"), expected: .allowed),
    AuthCase(rule: "a role ARN grant is bounded by the session's permissions boundary",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:role/Submitter"])),
             boundary: policy(stmt(action: "s3:*")), caller: .assumedRole(accountA, role: "Submitter", session: "s"), expected: .implicitDeny),
    AuthCase(rule: "a grant to the user ARN is not limited by an implicit deny in the boundary",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:user/alice"])),
             boundary: policy(stmt(action: "s3:*")), expected: .allowed),
    AuthCase(rule: "a different user's ARN in the resource policy does not match",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:user/bob"])), expected: .implicitDeny),
    AuthCase(rule: "permissions boundary: identity allow outside the boundary is denied",
             identity: [allowAll], boundary: policy(stmt(action: "s3:*")), expected: .implicitDeny),
    AuthCase(rule: "permissions boundary: identity allow inside the boundary is allowed",
             identity: [allowAll], boundary: policy(stmt(action: "cleanrooms-ml:*")), expected: .allowed),
    AuthCase(rule: "permissions boundary: a boundary alone grants nothing",
             boundary: allowAll, expected: .implicitDeny),
    AuthCase(rule: "permissions boundary: an explicit deny in the boundary wins",
             identity: [allowAll], boundary: policy(stmt(), stmt("Deny", action: "cleanrooms-ml:StartAudienceGenerationJob")), expected: .explicitDeny),
    AuthCase(rule: "cross account: the caller's boundary limits its side",
             identity: [allowAll], resourcePolicy: policy(stmt(principal: "*")), boundary: policy(stmt(action: "s3:*")), resource: jobB, expected: .implicitDeny),
    AuthCase(rule: "SCP deny-list style (FullAWSAccess plus a Deny) denies the listed action",
             identity: [allowAll], scps: [allowAll, policy(stmt("Deny", action: "cleanrooms-ml:StartAudienceGenerationJob"))], expected: .explicitDeny),
    AuthCase(rule: "SCP deny-list style leaves other actions allowed",
             identity: [allowAll], scps: [allowAll, policy(stmt("Deny", action: "cleanrooms-ml:DeleteAudienceGenerationJob"))], expected: .allowed),
    AuthCase(rule: "SCP allow-list style: an action the SCPs do not allow is implicitly denied",
             identity: [allowAll], scps: [policy(stmt(action: "s3:*"))], expected: .implicitDeny),
    AuthCase(rule: "SCP allow-list style: an allowed action still needs the identity allow",
             scps: [policy(stmt(action: "cleanrooms-ml:*"))], expected: .implicitDeny),
    AuthCase(rule: "SCP allow-list style: SCP and identity both allow",
             identity: [allowAll], scps: [policy(stmt(action: "cleanrooms-ml:*"))], expected: .allowed),
    AuthCase(rule: "SCPs bound resource-policy grants too (unlike boundaries)",
             resourcePolicy: policy(stmt(principal: ["AWS": "arn:aws:iam::111111111111:user/alice"])), scps: [policy(stmt(action: "s3:*"))], expected: .implicitDeny),
    AuthCase(rule: "SCPs bind the account's root user", scps: [policy(stmt("Deny", action: "cleanrooms-ml:*")), allowAll], caller: .root(accountA), expected: .explicitDeny),
    AuthCase(rule: "NotPrincipal with Deny denies everyone but the listed principal",
             identity: [allowAll], resourcePolicy: policy(stmt("Deny", notPrincipal: ["AWS": "arn:aws:iam::111111111111:user/bob"])), expected: .explicitDeny),
    AuthCase(rule: "NotPrincipal with Deny spares the listed principal",
             identity: [allowAll], resourcePolicy: policy(stmt("Deny", notPrincipal: ["AWS": "arn:aws:iam::111111111111:user/alice"])), expected: .allowed),
    AuthCase(rule: "service principal: allowed exactly when the resource policy names it",
             resourcePolicy: policy(stmt(principal: ["Service": "cleanrooms-ml.amazonaws.com"])), caller: .service("cleanrooms-ml.amazonaws.com"), expected: .allowed),
    AuthCase(rule: "service principal: another service is not matched",
             resourcePolicy: policy(stmt(principal: ["Service": "cleanrooms-ml.amazonaws.com"])), caller: .service("s3.amazonaws.com"), expected: .implicitDeny),
    AuthCase(rule: "identity policies are unioned: an allow in any one suffices",
             identity: [policy(stmt(action: "s3:*")), policy(stmt(action: "cleanrooms-ml:StartAudienceGenerationJob"))], expected: .allowed),
]

@Test(arguments: evaluationCases)
func evaluationLogic(_ c: AuthCase) throws { try check(c) }

@Test func resultNamesTheDecidingStatements() throws {
    let c = AuthCase(rule: "matched statements", identity: [policy(stmt(sid: "A1"), stmt("Deny", action: "cleanrooms-ml:Start*", sid: "D1"))], expected: .explicitDeny)
    let r = try c.run()
    #expect(r.matchedStatements.map(\.sid) == ["D1"])
    #expect(r.matchedStatements.first?.span?.start.line == 1)
    let ok = try AuthCase(rule: "allowed", identity: [allowAll], expected: .allowed).run()
    #expect(ok.matchedStatements.map(\.sourcePolicyId) == ["identity.1"])
}

@Test func crossAccountResultExplainsEachSide() throws {
    let r = try AuthCase(rule: "cross", identity: [allowAll], resourcePolicy: seedPolicy, resource: camB, expected: .implicitDeny).run()
    #expect(r.crossAccount)
    #expect(r.decisionDetails == ["IAM Policy": .allowed, "Resource Policy": .implicitDeny])
    #expect(r.missingContextValues == ["cleanrooms-ml:CollaborationId"])
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// The owner's half of a cross-account start, as B's node evaluates it (XA-6).
@Test("XA-6 the resource side alone: the seed policy allows A with the collaboration id, denies without, and a Deny wins")
func resourceSideOfACrossAccountStart() throws {
    let seed = PolicySource(id: "resource", type: .resource, document: try PolicyDocument(parsing: seedPolicy, kind: .resource))
    func decide(_ resource: String, _ caller: Principal = .user(accountA, name: "alice"), collaboration: String? = collaborationID, policy: PolicySource? = nil) -> Decision {
        var ctx = RequestContext(principal: caller, action: ActionName("cleanrooms-ml:StartAudienceGenerationJob")!, resource: ResourceName(resource))
        if let collaboration { ctx["cleanrooms-ml:CollaborationId"] = .single(collaboration) }
        return PolicyEvaluator.evaluateResourceSide(ctx, resourcePolicy: policy ?? seed).decision
    }
    #expect(decide(camB) == .allowed)
    #expect(decide(jobB) == .allowed)
    #expect(decide(camB, collaboration: nil) == .implicitDeny)
    #expect(decide(camB, .user(accountC, name: "carol")) == .implicitDeny)
    #expect(decide("arn:aws:cleanrooms-ml:us-west-1:222222222222:training-dataset/x") == .implicitDeny)
    let denying = PolicySource(id: "resource", type: .resource, document: try PolicyDocument(parsing: policy(stmt(principal: "*"), stmt("Deny", principal: ["AWS": "111111111111"])), kind: .resource))
    #expect(decide(camB, policy: denying) == .explicitDeny)
    var noPolicy = RequestContext(principal: .user(accountA, name: "alice"), action: ActionName("cleanrooms-ml:StartAudienceGenerationJob")!, resource: ResourceName(camB))
    noPolicy["cleanrooms-ml:CollaborationId"] = .single(collaborationID)
    #expect(PolicyEvaluator.evaluateResourceSide(noPolicy, resourcePolicy: nil).decision == .implicitDeny)
}

/// A statement without `Resource` (allowed in SCPs and trust policies) covers every resource: it
/// used to be read as `NotResource: *`, so such an SCP statement matched nothing.
@Test("an SCP statement without Resource applies to every resource: its Deny binds, its Allow allows")
func scpStatementWithoutResource() throws {
    let denyNoResource = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cleanrooms-ml:StartAudienceGenerationJob"}]}"#
    let allowNoResource = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}"#
    try check(AuthCase(rule: "SCP Deny without Resource", identity: [allowAll], scps: [allowNoResource, denyNoResource], expected: .explicitDeny))
    try check(AuthCase(rule: "SCP Allow without Resource", identity: [allowAll], scps: [allowNoResource], expected: .allowed))
}
