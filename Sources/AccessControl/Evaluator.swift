import CleanRoomsModel
import JSON

/// The three answers IAM gives.
public enum Decision: String, Hashable, Sendable {
    case allowed
    case explicitDeny
    case implicitDeny
}

/// Where a policy came from, as `SimulateCustomPolicy` reports it (`SourcePolicyType`).
public enum PolicySourceType: String, Hashable, Sendable {
    case user, group, role
    case awsManaged = "aws-managed"
    case userManaged = "user-managed"
    case resource
    case none
    /// Extension: an organization's service control policy.
    case serviceControlPolicy = "scp"
    /// Extension: a permissions boundary.
    case permissionsBoundary = "permissions-boundary"
}

/// A compiled policy with the id a report names it by.
public struct PolicySource: Sendable {
    public let id: String
    public let type: PolicySourceType
    public let document: PolicyDocument

    public init(id: String, type: PolicySourceType, document: PolicyDocument) {
        self.id = id
        self.type = type
        self.document = document
    }
}

/// Every policy that bears on one request.
public struct PolicySet: Sendable {
    /// The caller's identity policies (user or role, inline and attached).
    public var identity: [PolicySource]
    /// The resource's own policy, if it has one.
    public var resource: PolicySource?
    /// The caller's permissions boundary; `nil` when it has none.
    public var permissionsBoundary: PolicySource?
    /// The service control policies that govern the caller's account; `nil` when the account
    /// is in no organization (or is its management account, which SCPs never restrict).
    public var serviceControl: [PolicySource]?

    public init(identity: [PolicySource] = [], resource: PolicySource? = nil, permissionsBoundary: PolicySource? = nil, serviceControl: [PolicySource]? = nil) {
        self.identity = identity
        self.resource = resource
        self.permissionsBoundary = permissionsBoundary
        self.serviceControl = serviceControl
    }
}

/// A statement that decided (or took part in) a result.
public struct MatchedStatement: Hashable, Sendable {
    public let sourcePolicyId: String
    public let sourcePolicyType: PolicySourceType
    public let statementIndex: Int
    public let sid: String?
    public let effect: Effect
    public let span: JSONSpan?
}

/// The answer to "may this principal do this action on this resource?", with the reasons.
public struct AuthorizationResult: Sendable {
    public var decision: Decision
    /// Statements that matched the request: the denies that decided an explicit deny, or the
    /// allows that granted it.
    public var matchedStatements: [MatchedStatement] = []
    /// Condition keys the policies asked about that the request did not carry.
    public var missingContextValues: [String] = []
    /// Whether the SCPs allow the request; `nil` when no SCP applies.
    public var allowedByOrganizations: Bool?
    /// Whether the permissions boundary allows it; `nil` when there is none.
    public var allowedByPermissionsBoundary: Bool?
    /// For cross-account requests: the decision of each side ("IAM Policy", "Resource Policy").
    public var decisionDetails: [String: Decision] = [:]
    /// True when the resource is in another account than the caller's.
    public var crossAccount: Bool = false

    public var isAllowed: Bool { decision == .allowed }
}

/// IAM's policy evaluation logic, as AWS documents it.
///
/// 1. An explicit `Deny` in any applicable policy (SCP, resource, identity, boundary) wins.
/// 2. If SCPs govern the caller's account, one of them must allow.
/// 3. Same account: an allow from the resource policy or the identity policies suffices, with
///    IAM's refinements: a resource grant naming the caller's user or session ARN (or `*`) stands
///    alone; one naming a role ARN is still bounded by the caller's permissions boundary; one
///    naming only the account delegates to the identity policies. Identity allows are bounded by
///    the permissions boundary. The account's root user is allowed unless denied.
/// 4. Cross account: the caller's side (identity policies within boundary and SCPs; the root
///    user's side always) *and* the resource owner's resource policy must both allow.
public enum PolicyEvaluator {
    /// How strongly a resource policy's matching principal entry grants.
    enum Grant: Int, Comparable {
        case account = 1  // delegation to the account
        case role = 2  // a role ARN matching one of its sessions
        case direct = 3  // the caller's own ARN, or everyone

        static func < (a: Grant, b: Grant) -> Bool { a.rawValue < b.rawValue }
    }

    /// What scanning the statements of the policies collects along the way.
    struct Trace {
        let explain: Bool
        var missing: Set<String>? = nil
        var denies: [MatchedStatement] = []
        var allowsByType: [PolicySourceType: [MatchedStatement]] = [:]

        init(explain: Bool) {
            self.explain = explain
            if explain { missing = [] }
        }
    }

    struct Scan {
        var allow = false
        var deny = false
        var grant: Grant? = nil
    }

    /// Scans one policy's statements. Statements are read in place (by index) so the hot path
    /// copies nothing.
    static func scan(_ source: PolicySource, _ context: RequestContext, _ trace: inout Trace) -> Scan {
        var r = Scan()
        for st in source.document.statements {
            guard let g = st.applies(context, missing: &trace.missing) else { continue }
            if st.effect == .deny {
                r.deny = true
                if trace.explain { trace.denies.append(matched(source, st)) }
            } else {
                r.allow = true
                if let g { r.grant = max(r.grant ?? g, g) }
                if trace.explain { trace.allowsByType[source.type, default: []].append(matched(source, st)) }
            }
        }
        return r
    }

    public static func evaluate(_ context: RequestContext, policies: PolicySet, resourceOwner: AccountID? = nil, explain: Bool = true) -> AuthorizationResult {
        var trace = Trace(explain: explain)
        let owner = resourceOwner ?? context.resourceAccount
        let kind = context.principal.kind
        let crossAccount = context.principal.account == nil || owner != context.principal.account

        var anyDeny = false
        var scpAllowed: Bool? = nil
        if let scps = policies.serviceControl, context.principal.account != nil {
            var allowed = false
            for i in scps.indices {
                let r = scan(scps[i], context, &trace)
                anyDeny = anyDeny || r.deny
                allowed = allowed || r.allow
            }
            scpAllowed = allowed
        }
        var resourceGrant: Grant? = nil
        if policies.resource != nil {
            let r = scan(policies.resource!, context, &trace)
            anyDeny = anyDeny || r.deny
            if r.allow { resourceGrant = r.grant ?? .direct }
        }
        var identityAllowed = kind == .root && !crossAccount
        for i in policies.identity.indices {
            let r = scan(policies.identity[i], context, &trace)
            anyDeny = anyDeny || r.deny
            identityAllowed = identityAllowed || r.allow
        }
        var boundaryAllowed: Bool? = nil
        if policies.permissionsBoundary != nil {
            let r = scan(policies.permissionsBoundary!, context, &trace)
            anyDeny = anyDeny || r.deny
            boundaryAllowed = r.allow
        }

        var result = AuthorizationResult(decision: .implicitDeny)
        result.allowedByOrganizations = scpAllowed
        result.allowedByPermissionsBoundary = boundaryAllowed
        result.crossAccount = crossAccount
        if let missing = trace.missing { result.missingContextValues = missing.sorted() }

        if anyDeny {
            result.decision = .explicitDeny
            result.matchedStatements = trace.denies
            if crossAccount && explain { result.decisionDetails = ["IAM Policy": .explicitDeny, "Resource Policy": .explicitDeny] }
            return result
        }
        let withinBoundary = boundaryAllowed ?? true
        let withinOrganization = scpAllowed ?? true
        let callerIsIdentity = kind != .service && kind != .anonymous
        // The root user's own side needs no identity policy.
        let callerSide = callerIsIdentity && (kind == .root || identityAllowed) && withinBoundary

        let allowed: Bool
        var viaResource = false, viaIdentity = false
        if crossAccount {
            let resourceSide = resourceGrant != nil
            allowed = withinOrganization && resourceSide && (callerSide || !callerIsIdentity)
            if explain {
                result.decisionDetails = [
                    "IAM Policy": callerIsIdentity ? (callerSide && withinOrganization ? .allowed : .implicitDeny) : .allowed,
                    "Resource Policy": resourceSide ? .allowed : .implicitDeny,
                ]
            }
            (viaResource, viaIdentity) = (true, true)
        } else {
            switch resourceGrant {
            case .direct?: viaResource = true
            case .role?: viaResource = withinBoundary
            default: viaResource = false
            }
            viaIdentity = callerIsIdentity && identityAllowed && withinBoundary
            allowed = withinOrganization && (viaResource || viaIdentity)
        }
        if allowed {
            result.decision = .allowed
            if explain {
                var granting: [PolicySourceType] = []
                if viaResource { granting.append(.resource) }
                if viaIdentity { granting += [.user, .role, .group, .awsManaged, .userManaged, .none] }
                result.matchedStatements = granting.flatMap { trace.allowsByType[$0] ?? [] }
            }
        }
        return result
    }

    static func matched(_ source: PolicySource, _ st: Statement) -> MatchedStatement {
        MatchedStatement(sourcePolicyId: source.id, sourcePolicyType: source.type, statementIndex: st.index, sid: st.sid, effect: st.effect, span: st.span)
    }


    static func principalGrant(_ entries: [PrincipalEntry], _ p: Principal) -> Grant? {
        var best: Grant? = nil
        for e in entries {
            let g: Grant?
            switch e {
            case .anyone, .anyAWS:
                g = .direct
            case .account(let a):
                g = p.account?.rawValue == a ? .account : nil
            case .arn(let arn):
                if p.arn == arn { g = .direct } else if p.roleARN == arn { g = .role } else { g = nil }
            case .service(let s):
                g = p.kind == .service && p.arn == s ? .direct : nil
            case .other:
                g = nil
            }
            if let g { best = max(best ?? g, g) }
        }
        return best
    }
}

extension Statement {
    /// Whether the statement applies to the request. Returns `nil` when it does not, else the
    /// kind of principal grant it makes (`nil` inside when it names no principal).
    func applies(_ ctx: RequestContext, missing: inout Set<String>?) -> PolicyEvaluator.Grant?? {
        guard actionFilter.mayMatch(ctx.action), actions.matches(ctx.action) else { return nil }
        guard resources.matches(ctx) else { return nil }
        var grant: PolicyEvaluator.Grant? = nil
        if let pm = principals {
            let g = PolicyEvaluator.principalGrant(pm.entries, ctx.principal)
            if pm.negated {
                if g != nil { return nil }
            } else {
                guard let g else { return nil }
                grant = g
            }
        }
        for k in conditions.indices where !ConditionEvaluator.holds(conditions[k], ctx, missing: &missing) {
            return nil
        }
        return .some(grant)
    }
}

extension ResourceMatcher {
    func matches(_ ctx: RequestContext) -> Bool {
        var hit = false
        var k = 0
        while k < patterns.count && !hit {
            hit = patterns[k].matches(ctx) == true
            k += 1
        }
        return hit != negated
    }
}

extension PolicyEvaluator {
    /// The resource owner's half of a cross-account decision, for a request that arrives from
    /// another account's node: the resource policy must allow the caller (an account-wide grant
    /// counts: the caller's own account has already checked its identity policies, its
    /// boundary and its SCPs) and nothing in it may deny. The owner's SCPs do not bind another
    /// account's principals, so they take no part.
    public static func evaluateResourceSide(_ context: RequestContext, resourcePolicy: PolicySource?, explain: Bool = false) -> AuthorizationResult {
        var trace = Trace(explain: explain)
        var result = AuthorizationResult(decision: .implicitDeny)
        result.crossAccount = true
        guard let policy = resourcePolicy else { return result }
        let r = scan(policy, context, &trace)
        if let missing = trace.missing { result.missingContextValues = missing.sorted() }
        if r.deny {
            result.decision = .explicitDeny
            result.matchedStatements = trace.denies
        } else if r.allow {
            result.decision = .allowed
            result.matchedStatements = trace.allowsByType[.resource] ?? []
        }
        return result
    }
}
