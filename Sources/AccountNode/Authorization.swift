import AccessControl
import CleanRoomsModel
import JSON

extension AccountNodeCore {
    /// The AWS error type for "not allowed" in a service: the query-protocol services say
    /// `AccessDenied`, the JSON ones `AccessDeniedException`.
    static func accessDeniedCode(_ service: String) -> AWSErrorCode {
        shortErrorNames.contains(service) ? AWSErrorCode("AccessDenied", 403) : .accessDenied
    }

    /// Services whose errors have no `Exception` suffix (`AccessDenied`, `ExpiredToken`).
    static let shortErrorNames: Set<String> = ["iam", "sts", "s3"]

    /// The context keys every request carries.
    func requestContext(_ call: Call, action: ActionName, resource: String) -> RequestContext {
        var ctx = call.caller.context.on(action, ResourceName(resource))
        let second = Int(call.now.rounded(.down))
        if formattedTime.second != second { formattedTime = (second, ISO8601.format(call.now)) }
        ctx["aws:CurrentTime"] = .single(formattedTime.text)
        ctx["aws:EpochTime"] = .single(String(Int(call.now)))
        ctx["aws:SourceIp"] = .single(call.sourceIP)
        return ctx
    }

    /// The keys of a caller's requests that do not change from one request to the next (its
    /// principal, tags, organization, the region), gathered once per caller.
    func callerContext(_ principal: Principal, tags: [String: String]) -> RequestContext {
        var ctx = RequestContext(principal: principal, action: ActionName(service: "sts", name: "GetCallerIdentity"), resource: ResourceName("*"))
        ctx["aws:RequestedRegion"] = .single(config.region)
        ctx["aws:SecureTransport"] = .single("false")
        if let org = config.organizationID { ctx["aws:PrincipalOrgID"] = .single(org) }
        ctx.setPrincipalTags(tags)
        return ctx
    }

    /// Authorizes `action` on `resource` for the caller with IAM's evaluation logic (identity
    /// policies, the account's SCPs, optionally a resource policy). Throws AWS's access-denied
    /// error, saying why, as AWS does.
    func authorize(_ call: Call, _ action: String, _ resource: String, resourceTags: [String: String] = [:],
                   requestTags: [String: String]? = nil, context extra: [String: ContextValue] = [:],
                   resourcePolicy: PolicySource? = nil) throws(AWSError) {
        let name = actionName(action)
        var ctx = requestContext(call, action: name, resource: resource)
        ctx.setResourceTags(resourceTags)
        if let requestTags { ctx.setRequestTags(requestTags) }
        for (k, v) in extra { ctx[k] = v }
        let policies = PolicySet(identity: call.caller.policies, resource: resourcePolicy, serviceControl: serviceControlPolicies)
        let result = PolicyEvaluator.evaluate(ctx, policies: policies, resourceOwner: config.account, explain: false)
        guard !result.isAllowed else { return }
        throw denied(call, action, resource, result)
    }

    /// XA-6: the caller's own policies (identity policies and its account's SCPs) also bind it
    /// on resources of another account that a call touches. Nothing of the caller's must allow
    /// there (the other account's resource policy decides that), but an explicit Deny refuses
    /// the call, as IAM's evaluation logic says of any request: a deny anywhere wins.
    func refuseExplicitDeny(_ call: Call, _ action: String, onOtherAccounts resource: String, requestTags: [String: String]? = nil,
                            context extra: [String: ContextValue] = [:]) throws(AWSError) {
        let name = actionName(action)
        var ctx = requestContext(call, action: name, resource: resource)
        if let requestTags { ctx.setRequestTags(requestTags) }
        for (k, v) in extra { ctx[k] = v }
        let owner = ARN(resource).flatMap { AccountID($0.account) } ?? config.account
        let policies = PolicySet(identity: call.caller.policies, serviceControl: serviceControlPolicies)
        let result = PolicyEvaluator.evaluate(ctx, policies: policies, resourceOwner: owner, explain: false)
        guard result.decision == .explicitDeny else { return }
        throw denied(call, action, resource, result)
    }

    func actionName(_ action: String) -> ActionName {
        if let known = actionNameCache[action] { return known }
        let name = ActionName(action)!
        if actionNameCache.count < 4096 { actionNameCache[action] = name }
        return name
    }

    func denied(_ call: Call, _ action: String, _ resource: String, _ result: AuthorizationResult?) -> AWSError {
        let why: String
        if let result, result.decision == .explicitDeny {
            // Which kind of policy denied: find out with an explaining evaluation.
            why = "with an explicit deny in a policy"
        } else if result?.allowedByOrganizations == false {
            why = "because no service control policy allows the \(action) action"
        } else {
            why = "because no identity-based policy allows the \(action) action"
        }
        return AWSError(AccountNodeCore.accessDeniedCode(call.service),
                        "User: \(call.caller.principal.arn) is not authorized to perform: \(action) on resource: \(resource) \(why)")
    }

    /// The Clean Rooms ML resource of this account whose ARN is in `member`: audited, checked to
    /// be this account's (XA-7), authorized with its tags, and only then looked up, so a caller
    /// who may not see it cannot learn whether it exists.
    /// `resourcePolicy`: the resource's own policy, if it has one (a CAM's), evaluated with
    /// IAM's same-account logic: the identity policies or the resource policy may allow, and an
    /// explicit Deny in either refuses.
    func ownResource<R>(_ call: Call, _ action: String, member: String, type: String, noun: String,
                        in table: [String: R], tags: (R) -> [String: String],
                        resourcePolicy: (R) -> PolicySource? = { _ in nil }) throws(AWSError) -> R {
        let arn = try call.string(member)
        call.auditResource("AWS::CleanRoomsML::\(type)", arn)
        try requireOwnAccount(call, action, arn)
        let resource = table[arn]
        try authorize(call, action, arn, resourceTags: resource.map(tags) ?? [:], resourcePolicy: resource.flatMap(resourcePolicy))
        guard let resource else { throw AWSError(.resourceNotFound, "\(noun) \(arn) not found") }
        return resource
    }

    /// XA-7: operations act only on this account's resources. An ARN of another account is
    /// denied exactly as an unauthorized request is, whether or not such a resource exists.
    func requireOwnAccount(_ call: Call, _ action: String, _ arn: String) throws(AWSError) {
        guard ARN.accountPart(of: arn) == config.account.rawValue[...] else {
            throw AWSError(AccountNodeCore.accessDeniedCode(call.service),
                           "User: \(call.caller.principal.arn) is not authorized to perform: \(action) on resource: \(arn) because no resource-based policy allows the \(action) action")
        }
    }
}

// MARK: - Parameters

extension Call {
    /// A required string member (validation has proved it is there; this keeps handlers honest).
    func string(_ name: String) throws(AWSError) -> String {
        guard let s = params[name]?.stringValue else {
            throw AWSError(.validation, "1 validation error detected: Value null at '\(name)' failed to satisfy constraint: Member must not be null")
        }
        return s
    }

    func optionalString(_ name: String) -> String? { params[name]?.stringValue }

    /// `UserName`, or the calling user's own name when it is left out (as IAM reads it); a role
    /// session has no user name to default to.
    func userNameOrCaller() throws(AWSError) -> String {
        if let name = optionalString("UserName") { return name }
        guard caller.principal.kind == .user else {
            throw AWSError(AWSErrorCode("ValidationError", 400), "Must specify userName when calling with non-User credentials")
        }
        return caller.userName
    }

    func int(_ name: String) -> Int? { params[name]?.intValue }

    func bool(_ name: String) -> Bool? { params[name]?.boolValue }

    func stringList(_ name: String) -> [String] { (params[name]?.arrayValue ?? []).compactMap(\.stringValue) }

    /// IAM's tag list, `[{"Key": …, "Value": …}]`.
    func tagList(_ name: String = "Tags") -> [Tag] {
        (params[name]?.arrayValue ?? []).compactMap { t in
            guard let k = t["Key"]?.stringValue, let v = t["Value"]?.stringValue else { return nil }
            return Tag(key: k, value: v)
        }
    }

    /// Clean Rooms ML's tag map, `{"key": "value"}`.
    func tagMap(_ name: String = "tags") -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in params[name]?.objectValue ?? [:] { if let s = v.stringValue { out[k] = s } }
        return out
    }
}

/// Opaque pagination tokens over lists sorted by a key: the token names the last key returned.
enum Page {
    /// A page over an index: the items `item` makes of the keys after the token's (keys it
    /// gives nil for are skipped), and the token for the next page. Costs the page, plus the
    /// keys a filter skips.
    static func slice<T>(_ index: SortedKeys, token: String?, max: Int, errorCode: AWSErrorCode = .validation,
                         _ item: (String) -> T?) throws(AWSError) -> (items: [T], next: String?) {
        let limit = Swift.max(1, max)
        var items: [T] = []
        var last: String? = nil
        for key in index.keys(after: try after(token, errorCode)) {
            guard let t = item(key) else { continue }
            if items.count == limit { return (items, Base64.encode(Array("after:\(last!)".utf8))) }
            items.append(t)
            last = key
        }
        return (items, nil)
    }

    /// The key a token says the last page ended with (nil: no token, the first page).
    private static func after(_ token: String?, _ errorCode: AWSErrorCode) throws(AWSError) -> String? {
        guard let token else { return nil }
        guard let bytes = Base64.decode(token), let text = String(validating: bytes, as: UTF8.self), text.hasPrefix("after:") else {
            throw AWSError(errorCode, "The pagination token \(token) is not one this service returned")
        }
        return String(text.dropFirst("after:".count))
    }

    static func slice<T>(_ sorted: [T], key: (T) -> String, token: String?, max: Int, errorCode: AWSErrorCode = .validation) throws(AWSError) -> (items: [T], next: String?) {
        var start = 0
        if let after = try after(token, errorCode) {
            start = sorted.firstIndex { key($0) > after } ?? sorted.count
        }
        let end = min(sorted.count, start + Swift.max(1, max))
        let items = Array(sorted[start..<end])
        let next = end < sorted.count ? Base64.encode(Array("after:\(key(sorted[end - 1]))".utf8)) : nil
        return (items, next)
    }
}
