import CleanRoomsModel

/// Who is making a request: an account's root, an IAM user, an IAM role (or a session of one),
/// an AWS service, or nobody (anonymous).
public struct Principal: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case root, user, role, assumedRole, service, anonymous
    }

    public let kind: Kind
    public let account: AccountID?
    /// The principal's ARN (`arn:aws:iam::111122223333:user/alice`), or a service's name
    /// (`cleanrooms-ml.amazonaws.com`), or `*` for anonymous.
    public let arn: String
    /// The user or role name (without path), for `${aws:username}`.
    public let name: String?
    /// The unique id IAM gives the principal (`AIDA…`), for `aws:userid`.
    public let userID: String?
    /// For a role session, the ARN of the role it belongs to.
    public let roleARN: String?

    public init(kind: Kind, account: AccountID?, arn: String, name: String? = nil, userID: String? = nil, roleARN: String? = nil) {
        self.kind = kind
        self.account = account
        self.arn = arn
        self.name = name
        self.userID = userID
        self.roleARN = roleARN
    }

    public static func root(_ account: AccountID, partition: String = "aws") -> Principal {
        Principal(kind: .root, account: account, arn: account.rootARN(partition: partition).description, userID: account.rawValue)
    }

    public static func user(_ account: AccountID, name: String, path: String = "/", userID: String? = nil, partition: String = "aws") -> Principal {
        Principal(kind: .user, account: account, arn: "arn:\(partition):iam::\(account):user\(path)\(name)", name: name, userID: userID)
    }

    public static func role(_ account: AccountID, name: String, path: String = "/", roleID: String? = nil, partition: String = "aws") -> Principal {
        Principal(kind: .role, account: account, arn: "arn:\(partition):iam::\(account):role\(path)\(name)", name: name, userID: roleID)
    }

    public static func assumedRole(_ account: AccountID, role: String, session: String, roleID: String? = nil, partition: String = "aws") -> Principal {
        Principal(kind: .assumedRole, account: account, arn: "arn:\(partition):sts::\(account):assumed-role/\(role)/\(session)",
                  name: role, userID: roleID.map { "\($0):\(session)" }, roleARN: "arn:\(partition):iam::\(account):role/\(role)")
    }

    public static func service(_ name: String) -> Principal {
        Principal(kind: .service, account: nil, arn: name)
    }

    public static let anonymous = Principal(kind: .anonymous, account: nil, arn: "*")

    /// Parses a caller ARN as `SimulateCustomPolicy`'s `CallerArn` gives it.
    public init?(callerARN text: String) {
        guard let arn = ARN(text), let account = arn.accountID else { return nil }
        let res = arn.resource
        if arn.service == "iam", res == "root" {
            self = .root(account, partition: arn.partition)
        } else if arn.service == "iam", res.hasPrefix("user/") {
            let full = res.dropFirst("user".count)
            let name = full.split(separator: "/").last.map(String.init) ?? ""
            guard !name.isEmpty else { return nil }
            self = .user(account, name: name, path: String(full.dropLast(name.count)), partition: arn.partition)
        } else if arn.service == "iam", res.hasPrefix("role/") {
            let full = res.dropFirst("role".count)
            let name = full.split(separator: "/").last.map(String.init) ?? ""
            guard !name.isEmpty else { return nil }
            self = .role(account, name: name, path: String(full.dropLast(name.count)), partition: arn.partition)
        } else if arn.service == "sts", res.hasPrefix("assumed-role/") {
            let comps = res.split(separator: "/")
            guard comps.count >= 3 else { return nil }
            self = .assumedRole(account, role: String(comps[1]), session: String(comps[2]), partition: arn.partition)
        } else {
            return nil
        }
    }

    public var description: String { arn }

    /// `aws:PrincipalType` as IAM reports it.
    public var principalType: String {
        switch kind {
        case .root: return "Account"
        case .user: return "User"
        case .role, .assumedRole: return "AssumedRole"
        case .service: return "Service"
        case .anonymous: return "Anonymous"
        }
    }
}

/// The value of one context key: a single value, or a list for multi-valued keys such as
/// `aws:TagKeys`. Values are kept as text; each operator reads them as its type.
public enum ContextValue: Hashable, Sendable {
    case single(String)
    case list([String])

    public var values: [String] {
        switch self {
        case .single(let s): return [s]
        case .list(let l): return l
        }
    }
}

/// The action a request asks for, `service:Operation`. Matching is case-insensitive.
public struct ActionName: Hashable, Sendable, CustomStringConvertible {
    public let service: String
    public let name: String
    /// `service:name` lowercased, what action patterns match against.
    let lowercased: [UInt8]
    /// Bloom bits of the whole name and of the service, for skipping statements cheaply.
    let actionBit: UInt64
    let serviceBit: UInt64

    public init(service: String, name: String) {
        self.service = service
        self.name = name
        lowercased = "\(service):\(name)".utf8.map(asciiLower)
        actionBit = bloomBit(lowercased[...])
        serviceBit = bloomBit(service.utf8.map(asciiLower)[...])
    }

    /// Parses `service:Operation`; `nil` without a colon or with an empty side.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let s = String(text[..<colon]), n = String(text[text.index(after: colon)...])
        guard !s.isEmpty, !n.isEmpty else { return nil }
        self.init(service: s, name: n)
    }

    public var description: String { "\(service):\(name)" }
}

/// The resource a request acts on: an ARN, or `*` for actions that take no resource. The text
/// is split into its six ARN segments once, so every statement can match segment by segment.
public struct ResourceName: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    let bytes: [UInt8]
    /// Byte ranges of the five segments after `arn:` (partition … resource), or nil if `text`
    /// is not an ARN.
    let segments: [Range<Int>]?
    /// The account segment, when the resource is an ARN that names one.
    public let account: AccountID?

    public init(_ text: String) {
        self.text = text
        let b = Array(text.utf8)
        let segs = ResourceName.split(b)
        bytes = b
        segments = segs
        account = segs.flatMap { AccountID(String(decoding: b[$0[3]], as: UTF8.self)) }
    }

    public static let any = ResourceName("*")

    static func split(_ b: [UInt8]) -> [Range<Int>]? {
        guard b.count >= 4, b[0] == UInt8(ascii: "a"), b[1] == UInt8(ascii: "r"), b[2] == UInt8(ascii: "n"), b[3] == UInt8(ascii: ":") else {
            return nil
        }
        var ranges: [Range<Int>] = []
        var start = 4
        for k in 4..<b.count where b[k] == UInt8(ascii: ":") && ranges.count < 4 {
            ranges.append(start..<k)
            start = k + 1
        }
        guard ranges.count == 4 else { return nil }
        ranges.append(start..<b.count)
        return ranges
    }

    public var description: String { text }
}

/// Everything a policy can ask about a request: who, what, on which resource, and the context
/// keys (`aws:…`, `cleanrooms-ml:…`, `iam:…`). Key names are case-insensitive, as in IAM.
///
/// The principal's own keys (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`,
/// `aws:username`, `aws:userid`) are filled in from the principal; callers add the rest.
public struct RequestContext: Sendable {
    public var principal: Principal
    public var action: ActionName
    public var resource: ResourceName
    private(set) var keys: [String: ContextValue] = [:]

    public init(principal: Principal, action: ActionName, resource: ResourceName, context: [String: ContextValue] = [:]) {
        self.principal = principal
        self.action = action
        self.resource = resource
        keys.reserveCapacity(16)  // the global keys a node sets on every request, without regrowing
        setPrincipalKeys()
        for (k, v) in context { self[k] = v }
    }

    private mutating func setPrincipalKeys() {
        keys["aws:principaltype"] = .single(principal.principalType)
        if principal.kind == .anonymous { return }
        if principal.kind == .service {
            keys["aws:principalservicename"] = .single(principal.arn)
            return
        }
        keys["aws:principalarn"] = .single(principal.roleARN ?? principal.arn)
        if let a = principal.account { keys["aws:principalaccount"] = .single(a.rawValue) }
        if let id = principal.userID { keys["aws:userid"] = .single(id) }
        if principal.kind == .user, let n = principal.name { keys["aws:username"] = .single(n) }
    }

    /// The account that owns the resource: the ARN's account segment, or the caller's own
    /// account for resources without one (`*`, S3 buckets).
    public var resourceAccount: AccountID? { resource.account ?? principal.account }

    public subscript(key: String) -> ContextValue? {
        get { keys[key.lowercased()] }
        set { keys[key.lowercased()] = newValue }
    }

    func value(forLowercasedKey key: String) -> ContextValue? { keys[key] }

    func singleValue(forLowercasedKey key: String) -> String? {
        if case .single(let s) = keys[key] { return s }
        return nil
    }

    /// Adds the tag keys a request carries: `aws:RequestTag/k` for each and `aws:TagKeys`.
    public mutating func setRequestTags(_ tags: [String: String]) {
        for (k, v) in tags { keys["aws:requesttag/\(k.lowercased())"] = .single(v) }
        keys["aws:tagkeys"] = .list(tags.keys.sorted())
    }

    /// Adds `aws:ResourceTag/k` for the resource's tags.
    public mutating func setResourceTags(_ tags: [String: String]) {
        for (k, v) in tags { keys["aws:resourcetag/\(k.lowercased())"] = .single(v) }
    }

    /// Adds `aws:PrincipalTag/k` for the principal's tags.
    public mutating func setPrincipalTags(_ tags: [String: String]) {
        for (k, v) in tags { keys["aws:principaltag/\(k.lowercased())"] = .single(v) }
    }

    /// The same request on another resource (a statement set is evaluated per resource).
    public func on(_ resource: ResourceName) -> RequestContext {
        var c = self
        c.resource = resource
        return c
    }

    /// The same caller and keys for another action on another resource: a caller's keys are
    /// gathered once and reused for each of its requests.
    public func on(_ action: ActionName, _ resource: ResourceName) -> RequestContext {
        var c = self
        c.action = action
        c.resource = resource
        return c
    }
}

/// One bit of 64 chosen by FNV-1a of the bytes: a one-word Bloom filter.
func bloomBit(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    return 1 << (h % 64)
}
