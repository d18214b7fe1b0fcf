import CleanRoomsModel
import JSON

/// IAM's policy simulator: `SimulateCustomPolicy` (and the core of `SimulatePrincipalPolicy`)
/// over the AWS request and response shapes, as JSON.
///
/// Request members (AWS's): `PolicyInputList`, `PermissionsBoundaryPolicyInputList`,
/// `ActionNames`, `ResourceArns` (default `*`), `ResourcePolicy`, `ResourceOwner`, `CallerArn`,
/// `ContextEntries`, `MaxItems`, `Marker`. One extension: `OrganizationsPolicyInputList`, the
/// service control policies that govern the caller's account.
///
/// Who owns a resource: the account in its ARN; for ARNs without one (S3, `*`) the
/// `ResourceOwner` account; failing both, the caller's account. When that owner is not the
/// caller's account, the cross-account rule applies (the caller's policies and the resource
/// policy must both allow).
public enum PolicySimulator {
    public struct Input: Sendable {
        public var identityPolicies: [(id: String, text: String)]
        public var boundaryPolicies: [(id: String, text: String)] = []
        public var organizationPolicies: [(id: String, text: String)]? = nil
        public var resourcePolicy: String?
        public var actionNames: [String]
        public var resourceArns: [String]
        public var resourceOwner: AccountID?
        public var caller: Principal?
        public var context: [String: ContextValue]
        public var maxItems: Int
        public var marker: Int
        public var identitySourceType: PolicySourceType = .none
    }

    /// Runs `SimulateCustomPolicy` on its JSON request; throws `AWSError` (InvalidInput,
    /// MalformedPolicyDocument) for a request that cannot be simulated.
    public static func simulateCustomPolicy(_ request: JSON) throws(AWSError) -> JSON {
        let input = try parseRequest(request)
        return try run(input)
    }

    public static func parseRequest(_ request: JSON) throws(AWSError) -> Input {
        guard case .object(let o) = request else { throw invalid("the request must be a JSON object") }
        let known: Set<String> = ["PolicyInputList", "PermissionsBoundaryPolicyInputList", "OrganizationsPolicyInputList", "ActionNames",
                                  "ResourceArns", "ResourcePolicy", "ResourceOwner", "CallerArn", "ContextEntries", "MaxItems", "Marker",
                                  "ResourceHandlingOption"]
        for k in o.keys.sorted() where !known.contains(k) {
            throw invalid("unknown member \(k); SimulateCustomPolicy takes \(known.sorted().joined(separator: ", "))")
        }
        func stringList(_ name: String, required: Bool) throws(AWSError) -> [String]? {
            guard let v = o[name] else {
                if required { throw invalid("\(name) is required") }
                return nil
            }
            guard case .array(let items) = v else { throw invalid("\(name) must be a list of strings, got \(v.typeName)") }
            var out: [String] = []
            for (k, item) in items.enumerated() {
                guard let s = item.stringValue else { throw invalid("\(name)[\(k)] must be a string, got \(item.typeName)") }
                out.append(s)
            }
            return out
        }
        func string(_ name: String) throws(AWSError) -> String? {
            guard let v = o[name] else { return nil }
            guard let s = v.stringValue else { throw invalid("\(name) must be a string, got \(v.typeName)") }
            return s
        }
        let policies = try stringList("PolicyInputList", required: true)!
        let actions = try stringList("ActionNames", required: true)!
        if actions.isEmpty { throw invalid("ActionNames must name at least one action") }
        for a in actions where ActionName(a) == nil || a.count < 3 || a.count > 128 {
            throw invalid("ActionNames: \"\(a)\" is not an action name of the form service:Action")
        }
        let resources = try stringList("ResourceArns", required: false) ?? ["*"]
        for r in resources where r != "*" && ARN(r) == nil {
            throw invalid("ResourceArns: \"\(r)\" is not an ARN (arn:partition:service:region:account:resource) or \"*\"")
        }
        var owner: AccountID? = nil
        if let ro = try string("ResourceOwner") {
            guard let arn = ARN(ro), let a = arn.accountID else {
                throw invalid("ResourceOwner must be an account ARN such as arn:aws:iam::123456789012:root, got \"\(ro)\"")
            }
            owner = a
        }
        var caller: Principal? = nil
        if let c = try string("CallerArn") {
            guard let p = Principal(callerARN: c) else {
                throw invalid("CallerArn must be the ARN of an IAM user, role, assumed-role session or account root, got \"\(c)\"")
            }
            caller = p
        }
        let resourcePolicy = try string("ResourcePolicy")
        if resourcePolicy != nil, caller == nil {
            throw invalid("CallerArn is required when ResourcePolicy is given")
        }
        var context: [String: ContextValue] = [:]
        if let entries = o["ContextEntries"] {
            guard case .array(let items) = entries else { throw invalid("ContextEntries must be a list") }
            for (k, item) in items.enumerated() {
                guard let name = item["ContextKeyName"]?.stringValue, name.count >= 5, name.count <= 256 else {
                    throw invalid("ContextEntries[\(k)].ContextKeyName must be a string of 5 to 256 characters")
                }
                guard let type = item["ContextKeyType"]?.stringValue, let kind = ContextKeyType(rawValue: type) else {
                    throw invalid("ContextEntries[\(k)].ContextKeyType must be one of \(ContextKeyType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard case .array(let vals)? = item["ContextKeyValues"], vals.allSatisfy({ $0.stringValue != nil }) else {
                    throw invalid("ContextEntries[\(k)].ContextKeyValues must be a list of strings")
                }
                let strings = vals.compactMap(\.stringValue)
                if !kind.isList && strings.count != 1 {
                    throw invalid("ContextEntries[\(k)] (\(name)) is of type \(type) and takes exactly one value; use \(type)List for several")
                }
                for s in strings where !kind.accepts(s) {
                    throw invalid("ContextEntries[\(k)] (\(name)): \"\(s)\" is not a value of type \(type)")
                }
                context[name] = kind.isList ? .list(strings) : .single(strings[0])
            }
        }
        var maxItems = 100
        if let m = o["MaxItems"] {
            guard let n = m.intValue, (1...1000).contains(n) else { throw invalid("MaxItems must be an integer from 1 to 1000") }
            maxItems = n
        }
        var marker = 0
        if let m = try string("Marker") {
            guard let n = Int(m), n >= 0 else { throw invalid("Marker \"\(m)\" was not returned by a previous call") }
            marker = n
        }
        var input = Input(
            identityPolicies: policies.enumerated().map { ("PolicyInputList.\($0.offset + 1)", $0.element) },
            resourcePolicy: resourcePolicy, actionNames: actions, resourceArns: resources,
            resourceOwner: owner, caller: caller, context: context, maxItems: maxItems, marker: marker)
        input.boundaryPolicies = (try stringList("PermissionsBoundaryPolicyInputList", required: false) ?? [])
            .enumerated().map { ("PermissionsBoundaryPolicyInputList.\($0.offset + 1)", $0.element) }
        input.organizationPolicies = try stringList("OrganizationsPolicyInputList", required: false)?
            .enumerated().map { ("OrganizationsPolicyInputList.\($0.offset + 1)", $0.element) }
        return input
    }

    /// Compiles the policies once and evaluates every action on every resource.
    public static func run(_ input: Input) throws(AWSError) -> JSON {
        func compile(_ list: [(id: String, text: String)], _ kind: PolicyKind, _ type: PolicySourceType) throws(AWSError) -> [PolicySource] {
            var out: [PolicySource] = []
            for (id, text) in list {
                do {
                    out.append(PolicySource(id: id, type: type, document: try PolicyDocument(parsing: text, kind: kind)))
                } catch {
                    throw AWSError(.malformedPolicyDocument, "\(id): \(error.message)")
                }
            }
            return out
        }
        var set = PolicySet()
        set.identity = try compile(input.identityPolicies, .identity, input.identitySourceType)
        set.permissionsBoundary = try compile(input.boundaryPolicies, .permissionsBoundary, .permissionsBoundary).first
        if input.boundaryPolicies.count > 1 { throw invalid("PermissionsBoundaryPolicyInputList takes at most one policy") }
        if let scps = input.organizationPolicies { set.serviceControl = try compile(scps, .serviceControl, .serviceControlPolicy) }
        if let rp = input.resourcePolicy {
            set.resource = try compile([("ResourcePolicy", rp)], .resource, .resource).first
        }

        var results: [JSON] = []
        for action in input.actionNames {
            for resource in input.resourceArns {
                let name = ResourceName(resource)
                let owner = name.account ?? input.resourceOwner ?? input.caller?.account
                let caller = input.caller ?? Principal.user(owner ?? AccountID("123456789012")!, name: "SimulatedCaller")
                let ctx = RequestContext(principal: caller, action: ActionName(action)!, resource: name, context: input.context)
                let r = PolicyEvaluator.evaluate(ctx, policies: set, resourceOwner: owner)
                results.append(render(action: action, resource: resource, r))
            }
        }
        let page = Array(results.dropFirst(input.marker).prefix(input.maxItems))
        let truncated = input.marker + page.count < results.count
        var out: [String: JSON] = ["EvaluationResults": .array(page), "IsTruncated": .bool(truncated)]
        if truncated { out["Marker"] = .string(String(input.marker + page.count)) }
        return .object(out)
    }

    static func render(action: String, resource: String, _ r: AuthorizationResult) -> JSON {
        var o: [String: JSON] = [
            "EvalActionName": .string(action),
            "EvalResourceName": .string(resource),
            "EvalDecision": .string(r.decision.rawValue),
            "MatchedStatements": .array(r.matchedStatements.map(render)),
            "MissingContextValues": .array(r.missingContextValues.map { .string($0) }),
        ]
        if !r.decisionDetails.isEmpty {
            o["EvalDecisionDetails"] = .object(r.decisionDetails.mapValues { .string($0.rawValue) })
        }
        if let org = r.allowedByOrganizations { o["OrganizationsDecisionDetail"] = ["AllowedByOrganizations": .bool(org)] }
        if let pb = r.allowedByPermissionsBoundary { o["PermissionsBoundaryDecisionDetail"] = ["AllowedByPermissionsBoundary": .bool(pb)] }
        return .object(o)
    }

    static func render(_ m: MatchedStatement) -> JSON {
        var o: [String: JSON] = ["SourcePolicyId": .string(m.sourcePolicyId), "SourcePolicyType": .string(m.sourcePolicyType.rawValue)]
        if let span = m.span {
            o["StartPosition"] = ["Line": .int(span.start.line), "Column": .int(span.start.column)]
            o["EndPosition"] = ["Line": .int(span.end.line), "Column": .int(span.end.column)]
        }
        return .object(o)
    }

    static func invalid(_ message: String) -> AWSError { AWSError(.invalidInput, message) }
}

/// `ContextKeyType` of the IAM model.
public enum ContextKeyType: String, CaseIterable, Sendable {
    case string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList

    var isList: Bool { rawValue.hasSuffix("List") }

    func accepts(_ s: String) -> Bool {
        switch self {
        case .numeric, .numericList: return ConditionValueTypes.number(s) != nil
        case .boolean, .booleanList: return ConditionValueTypes.bool(s) != nil
        case .ip, .ipList: return ConditionValueTypes.ipAddress(s) != nil
        case .date, .dateList: return ConditionValueTypes.date(s) != nil
        default: return true
        }
    }
}
