import JSON

/// Where a policy is used, which decides its grammar: identity policies, permissions boundaries
/// and service control policies must not name a principal; resource policies and role trust
/// policies must, and trust policies name no resource and only STS actions.
public enum PolicyKind: String, Hashable, Sendable {
    case identity
    case resource
    case permissionsBoundary
    case serviceControl
    case trust

    var requiresPrincipal: Bool { self == .resource || self == .trust }
}

public enum PolicyVersion: String, Hashable, Sendable {
    case v2012_10_17 = "2012-10-17"
    case v2008_10_17 = "2008-10-17"

    /// Policy variables exist only from 2012-10-17 on.
    var supportsVariables: Bool { self == .v2012_10_17 }
}

public enum Effect: String, Hashable, Sendable {
    case allow = "Allow"
    case deny = "Deny"
}

/// A validated, compiled policy document. Building one (`PolicyDocument(parsing:kind:)`) checks
/// the whole grammar; every pattern is compiled once, so evaluation allocates nothing for
/// policies without variables.
public struct PolicyDocument: Sendable {
    public let version: PolicyVersion
    public let id: String?
    public let statements: [Statement]
    public let kind: PolicyKind
}

/// One compiled statement. A class: evaluation walks statements many times, and passing a
/// reference costs one retain where copying the struct cost one per member.
public final class Statement: Sendable {
    public let index: Int
    public let sid: String?
    public let effect: Effect
    /// Where the statement sits in the policy text (for `MatchedStatements`).
    public let span: JSONSpan?

    let principals: PrincipalMatcher?
    let actions: ActionMatcher
    let actionFilter: ActionFilter
    let resources: ResourceMatcher
    let conditions: [ConditionClause]

    init(index: Int, sid: String?, effect: Effect, span: JSONSpan?, principals: PrincipalMatcher?, actions: ActionMatcher,
         resources: ResourceMatcher, conditions: [ConditionClause]) {
        self.actionFilter = ActionFilter(actions)
        self.index = index
        self.sid = sid
        self.effect = effect
        self.span = span
        self.principals = principals
        self.actions = actions
        self.resources = resources
        self.conditions = conditions
    }
}

/// `Principal` or `NotPrincipal`.
struct PrincipalMatcher: Sendable {
    var negated: Bool
    var entries: [PrincipalEntry]
}

enum PrincipalEntry: Hashable, Sendable {
    /// `"*"` or `{"AWS": "*"}`: anyone (for `AWS`, any authenticated AWS principal).
    case anyone
    case anyAWS
    /// An account id or its root ARN: any principal of that account.
    case account(String)
    /// A specific IAM user, role or role-session ARN.
    case arn(String)
    case service(String)
    /// `Federated` or `CanonicalUser`: parsed so the grammar is complete; nothing here signs in
    /// that way, so they never match.
    case other(type: String, value: String)
}

/// `Action` or `NotAction`, compiled to case-insensitive patterns.
struct ActionMatcher: Sendable {
    var negated: Bool
    var patterns: [Glob]

    func matches(_ action: ActionName) -> Bool {
        let hit = action.lowercased.withUnsafeBufferPointer { bytes in
            var k = 0
            while k < patterns.count {
                if patterns[k].matches(bytes: bytes) { return true }
                k += 1
            }
            return false
        }
        return hit != negated
    }
}

/// A one-word Bloom filter over a statement's `Action` patterns (plain bits, free to copy), so
/// that most statements are ruled out for an action by two AND instructions before any
/// pattern is looked at.
struct ActionFilter: Sendable {
    /// Bits of exact action names, bits of services with a wildcard action, and whether every
    /// action may match (`*`, or a `NotAction`, which a filter cannot rule out).
    let exactBits: UInt64
    let serviceBits: UInt64
    let matchesAll: Bool

    init(_ m: ActionMatcher) {
        var exact: UInt64 = 0, service: UInt64 = 0, all = m.negated
        for g in m.patterns {
            switch g.kind {
            case .exact: exact |= bloomBit(g.literal[...])
            case .anything: all = true
            default:
                // A wildcard pattern; IAM service prefixes are literal, so its service is known.
                let bytes = g.kind == .prefix ? g.literal : g.chunks.first ?? []
                if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
                    service |= bloomBit(bytes[..<colon])
                } else {
                    all = true
                }
            }
        }
        exactBits = exact
        serviceBits = service
        matchesAll = all
    }

    @inline(__always)
    func mayMatch(_ action: ActionName) -> Bool {
        matchesAll || exactBits & action.actionBit != 0 || serviceBits & action.serviceBit != 0
    }
}

/// `Resource` or `NotResource`. Absent (`nil` patterns) means every resource, which only
/// service control policies allow.
struct ResourceMatcher: Sendable {
    var negated: Bool
    var patterns: [ResourcePattern]
}

/// One condition: an operator, a key and the values it is compared with (ORed).
final class ConditionClause: Sendable {
    let op: ConditionOperator
    /// Lowercased key name.
    let key: String
    /// The key as written, for reports.
    let keyAsWritten: String
    let values: [ConditionValue]

    init(op: ConditionOperator, key: String, keyAsWritten: String, values: [ConditionValue]) {
        self.op = op
        self.key = key
        self.keyAsWritten = keyAsWritten
        self.values = values
    }
}

/// A policy value for a condition, pre-parsed for its operator's type. Values without policy
/// variables are compiled once (`literal`, `like`, `arn`); values with variables keep their
/// template and are rendered per request.
enum ConditionValue: Sendable {
    case literal(String)
    case like(Glob)
    case arn(ARNPattern)
    case template(PolicyTemplate)
    case likeTemplate(PolicyTemplate)
    case arnTemplate(PolicyTemplate)
    case number(Double)
    case date(Double)
    case bool(Bool)
    case cidr(ConditionValueTypes.CIDR)
    /// Null's "true" (key must be absent) or "false" (key must be present).
    case null(Bool)
}
