import AccessControl
import CleanRoomsModel
import JSON

/// `sts.GetCallerIdentity`: who am I. Needs no permission (not even an explicit deny stops it).
/// `sts.AssumeRole`: temporary credentials for a role of this account, when its trust policy
/// names the caller (or the account, and the caller's own policies allow `sts:AssumeRole`).
enum STSHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["sts.AssumeRole"] = { core, call in try assumeRole(core, call) }
        h["sts.GetCallerIdentity"] = { core, call in
            .result(["UserId": .string(call.caller.principal.userID ?? ""), "Account": .string(core.config.account.rawValue),
                     "Arn": .string(call.caller.principal.arn)])
        }
    }

    static func assumeRole(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let roleArn = try call.string("RoleArn")
        let sessionName = try call.string("RoleSessionName")
        call.auditResource("AWS::IAM::Role", roleArn)
        guard let arn = ARN(roleArn), arn.service == "iam", arn.resource.hasPrefix("role/") else {
            throw AWSError(AWSErrorCode("ValidationError", 400), "RoleArn \(roleArn) is not a role's ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        }
        let denied = AWSError(AWSErrorCode("AccessDenied", 403), "User: \(call.caller.principal.arn) is not authorized to perform: sts:AssumeRole on resource: \(roleArn)")
        guard arn.account == core.config.account.rawValue else {
            // Roles live in their account's node; assuming another account's is not simulated.
            throw AWSError(AWSErrorCode("AccessDenied", 403), "\(denied.message): this simulation assumes roles of the caller's own account only (\(core.config.account))")
        }
        let name = String(arn.resource.split(separator: "/").last ?? "")
        guard let role = core.state.roles[name], core.roleARN(role) == roleArn else { throw denied }
        let duration = call.int("DurationSeconds") ?? 3600
        guard duration >= 900, duration <= role.maxSessionDuration else {
            throw AWSError(AWSErrorCode("ValidationError", 400),
                           "The requested DurationSeconds exceeds the MaxSessionDuration set for this role: \(duration) is not between 900 and \(role.maxSessionDuration)")
        }
        // The trust policy must name the caller (a grant that stands alone), or name its account
        // with the caller's own policies allowing sts:AssumeRole; a Deny anywhere refuses.
        guard let trust = try? PolicyDocument(parsing: role.assumeRolePolicy, kind: .trust) else { throw denied }
        let source = PolicySource(id: "trust", type: .resource, document: trust)
        let ctx = core.requestContext(call, action: core.actionName("sts:AssumeRole"), resource: roleArn)
        // The trust policy must allow the caller (by its ARN, or by its account)...
        let trusted = PolicyEvaluator.evaluateResourceSide(ctx, resourcePolicy: source)
        // ...and either name the caller itself (a grant that stands alone), or the caller's own
        // policies (with the account's SCPs) must allow sts:AssumeRole.
        let direct = PolicyEvaluator.evaluate(ctx, policies: PolicySet(identity: [], resource: source, serviceControl: core.serviceControlPolicies), explain: false)
        let own = PolicyEvaluator.evaluate(ctx, policies: PolicySet(identity: call.caller.policies, serviceControl: core.serviceControlPolicies), explain: false)
        guard trusted.decision == .allowed, own.decision != .explicitDeny, direct.isAllowed || own.isAllowed else { throw denied }
        let session = RoleSession(accessKeyID: core.newID(prefix: "ASIA", length: 16), secret: core.newSecret(length: 40), sessionToken: "FwoGZXIvYXdzE" + core.newSecret(length: 200),
                                  roleName: role.name, roleID: role.roleID, sessionName: sessionName, createdAt: call.now, expiration: call.now + Double(duration))
        core.emit(.roleSessionCreated(session))
        return .result([
            "Credentials": ["AccessKeyId": .string(session.accessKeyID), "SecretAccessKey": .string(session.secret),
                            "SessionToken": .string(session.sessionToken), "Expiration": .number(session.expiration.rounded(.down))],
            "AssumedRoleUser": ["AssumedRoleId": .string("\(role.roleID):\(sessionName)"),
                                "Arn": .string("arn:\(core.config.partition):sts::\(core.config.account):assumed-role/\(role.name)/\(sessionName)")],
        ])
    }
}
