import AccessControl
import CleanRoomsModel
import JSON

/// `iam.*`: users, roles, inline policies, access keys, tags and the policy simulator, in the
/// node's own account.
enum IAMHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["iam.CreateUser"] = createUser
        h["iam.GetUser"] = getUser
        h["iam.ListUsers"] = listUsers
        h["iam.DeleteUser"] = deleteUser
        h["iam.CreateRole"] = createRole
        h["iam.GetRole"] = getRole
        h["iam.ListRoles"] = listRoles
        h["iam.DeleteRole"] = deleteRole
        h["iam.PutUserPolicy"] = { core, call in try putPolicy(core, call, kind: .user) }
        h["iam.GetUserPolicy"] = { core, call in try getPolicy(core, call, kind: .user) }
        h["iam.DeleteUserPolicy"] = { core, call in try deletePolicy(core, call, kind: .user) }
        h["iam.ListUserPolicies"] = { core, call in try listPolicies(core, call, kind: .user) }
        h["iam.PutRolePolicy"] = { core, call in try putPolicy(core, call, kind: .role) }
        h["iam.GetRolePolicy"] = { core, call in try getPolicy(core, call, kind: .role) }
        h["iam.DeleteRolePolicy"] = { core, call in try deletePolicy(core, call, kind: .role) }
        h["iam.ListRolePolicies"] = { core, call in try listPolicies(core, call, kind: .role) }
        h["iam.CreateAccessKey"] = createAccessKey
        h["iam.ListAccessKeys"] = listAccessKeys
        h["iam.DeleteAccessKey"] = deleteAccessKey
        h["iam.TagUser"] = { core, call in try tag(core, call, kind: .user) }
        h["iam.UntagUser"] = { core, call in try untag(core, call, kind: .user) }
        h["iam.TagRole"] = { core, call in try tag(core, call, kind: .role) }
        h["iam.UntagRole"] = { core, call in try untag(core, call, kind: .role) }
        h["iam.SimulateCustomPolicy"] = simulateCustomPolicy
        h["iam.SimulatePrincipalPolicy"] = simulatePrincipalPolicy
    }

    enum Kind: String {
        case user, role
        var title: String { self == .user ? "User" : "Role" }
    }

    // MARK: Shapes

    static func shape(_ core: AccountNodeCore, _ u: IAMUser) -> JSON {
        var o: [String: JSON] = ["Path": .string(u.path), "UserName": .string(u.name), "UserId": .string(u.userID),
                                 "Arn": .string(core.userARN(u)), "CreateDate": .number(u.createDate)]
        if !u.tags.isEmpty { o["Tags"] = tags(u.tags) }
        return .object(o)
    }

    static func shape(_ core: AccountNodeCore, _ r: IAMRole) -> JSON {
        var o: [String: JSON] = ["Path": .string(r.path), "RoleName": .string(r.name), "RoleId": .string(r.roleID),
                                 "Arn": .string(core.roleARN(r)), "CreateDate": .number(r.createDate),
                                 "AssumeRolePolicyDocument": .string(r.assumeRolePolicy), "MaxSessionDuration": .int(r.maxSessionDuration)]
        if let d = r.description { o["Description"] = .string(d) }
        if !r.tags.isEmpty { o["Tags"] = tags(r.tags) }
        return .object(o)
    }

    static func tags(_ t: [Tag]) -> JSON { .array(t.map { ["Key": .string($0.key), "Value": .string($0.value)] }) }

    static func arn(_ core: AccountNodeCore, _ kind: Kind, _ name: String, path: String = "/") -> String {
        "arn:\(core.config.partition):iam::\(core.config.account):\(kind.rawValue)\(path)\(name)"
    }

    static func noSuch(_ kind: Kind, _ name: String) -> AWSError {
        AWSError(.noSuchEntity, "The \(kind.rawValue) with name \(name) cannot be found.")
    }

    static func user(_ core: AccountNodeCore, _ name: String) throws(AWSError) -> IAMUser {
        guard let u = core.state.users[name] else { throw noSuch(.user, name) }
        return u
    }

    static func role(_ core: AccountNodeCore, _ name: String) throws(AWSError) -> IAMRole {
        guard let r = core.state.roles[name] else { throw noSuch(.role, name) }
        return r
    }

    /// The ARN to authorize against for a named user or role (its real path when it exists).
    static func entityARN(_ core: AccountNodeCore, _ kind: Kind, _ name: String) -> String {
        switch kind {
        case .user: return core.state.users[name].map(core.userARN) ?? arn(core, .user, name)
        case .role: return core.state.roles[name].map(core.roleARN) ?? arn(core, .role, name)
        }
    }

    static func nameTaken(_ core: AccountNodeCore, _ kind: Kind, _ name: String) -> Bool {
        switch kind {
        case .user: return core.state.userNames.isTaken(name)
        case .role: return core.state.roleNames.isTaken(name)
        }
    }

    static func checkTagCount(_ existing: [Tag], adding: [Tag], _ kind: Kind, _ name: String) throws(AWSError) {
        let keys = Set(existing.map(\.key)).union(adding.map(\.key))
        if keys.count > 50 {
            throw AWSError(.limitExceeded, "The number of tags has reached the maximum limit of 50 for \(kind.rawValue) \(name).")
        }
    }

    // MARK: Users

    static func createUser(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("UserName")
        let path = call.optionalString("Path") ?? "/"
        let tags = call.tagList()
        call.auditResource("AWS::IAM::User", name)
        try core.authorize(call, "iam:CreateUser", arn(core, .user, name, path: path), requestTags: tags.isEmpty ? nil : dict(tags))
        if !tags.isEmpty { try core.authorize(call, "iam:TagUser", arn(core, .user, name, path: path), requestTags: dict(tags)) }
        if nameTaken(core, .user, name) { throw AWSError(.entityAlreadyExists, "User with name \(name) already exists.") }
        try checkTagCount([], adding: tags, .user, name)
        let u = IAMUser(name: name, path: path, userID: core.newID(prefix: "AIDA", length: 17), createDate: call.now, tags: tags, policies: [:], accessKeys: [])
        core.emit(.userCreated(u))
        return .result(["User": shape(core, u)])
    }

    static func getUser(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.userNameOrCaller()
        call.auditResource("AWS::IAM::User", name)
        try core.authorize(call, "iam:GetUser", entityARN(core, .user, name), resourceTags: resourceTags(core, .user, name))
        return .result(["User": shape(core, try user(core, name))])
    }

    static func listUsers(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "iam:ListUsers", "*")
        let prefix = call.optionalString("PathPrefix") ?? "/"
        let page = try Page.slice(core.state.userNames.sorted, token: call.optionalString("Marker"), max: call.int("MaxItems") ?? 100, errorCode: .invalidInput) { name in
            core.state.users[name].flatMap { $0.path.hasPrefix(prefix) ? $0 : nil }
        }
        return .result(.compactObject(["Users": .array(page.items.map { shape(core, $0) }), "IsTruncated": .bool(page.next != nil),
                                       "Marker": page.next.map { .string($0) }]))
    }

    static func deleteUser(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("UserName")
        call.auditResource("AWS::IAM::User", name)
        try core.authorize(call, "iam:DeleteUser", entityARN(core, .user, name), resourceTags: resourceTags(core, .user, name))
        let u = try user(core, name)
        if !u.policies.isEmpty { throw AWSError(.deleteConflict, "Cannot delete entity, must delete policies first.") }
        if !u.accessKeys.isEmpty { throw AWSError(.deleteConflict, "Cannot delete entity, must delete access keys first.") }
        core.emit(.userDeleted(name: name))
        return .result([:])
    }

    // MARK: Roles

    static func createRole(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("RoleName")
        let path = call.optionalString("Path") ?? "/"
        let trust = try call.string("AssumeRolePolicyDocument")
        let tags = call.tagList()
        call.auditResource("AWS::IAM::Role", name)
        try core.authorize(call, "iam:CreateRole", arn(core, .role, name, path: path), requestTags: tags.isEmpty ? nil : dict(tags))
        if !tags.isEmpty { try core.authorize(call, "iam:TagRole", arn(core, .role, name, path: path), requestTags: dict(tags)) }
        if nameTaken(core, .role, name) { throw AWSError(.entityAlreadyExists, "Role with name \(name) already exists.") }
        do { _ = try PolicyDocument(parsing: trust, kind: .trust) } catch { throw AWSError(.malformedPolicyDocument, error.message) }
        if PolicyDocument.quotaSize(of: trust) > 2048 { throw AWSError(.limitExceeded, "Cannot exceed quota for ACLSizePerRole: 2048") }
        try checkTagCount([], adding: tags, .role, name)
        let r = IAMRole(name: name, path: path, roleID: core.newID(prefix: "AROA", length: 17), createDate: call.now, assumeRolePolicy: trust,
                        description: call.optionalString("Description"), maxSessionDuration: call.int("MaxSessionDuration") ?? 3600, tags: tags, policies: [:])
        core.emit(.roleCreated(r))
        return .result(["Role": shape(core, r)])
    }

    static func getRole(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("RoleName")
        call.auditResource("AWS::IAM::Role", name)
        try core.authorize(call, "iam:GetRole", entityARN(core, .role, name), resourceTags: resourceTags(core, .role, name))
        return .result(["Role": shape(core, try role(core, name))])
    }

    static func listRoles(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "iam:ListRoles", "*")
        let prefix = call.optionalString("PathPrefix") ?? "/"
        let page = try Page.slice(core.state.roleNames.sorted, token: call.optionalString("Marker"), max: call.int("MaxItems") ?? 100, errorCode: .invalidInput) { name in
            core.state.roles[name].flatMap { $0.path.hasPrefix(prefix) ? $0 : nil }
        }
        return .result(.compactObject(["Roles": .array(page.items.map { shape(core, $0) }), "IsTruncated": .bool(page.next != nil),
                                       "Marker": page.next.map { .string($0) }]))
    }

    static func deleteRole(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("RoleName")
        call.auditResource("AWS::IAM::Role", name)
        try core.authorize(call, "iam:DeleteRole", entityARN(core, .role, name), resourceTags: resourceTags(core, .role, name))
        let r = try role(core, name)
        if !r.policies.isEmpty { throw AWSError(.deleteConflict, "Cannot delete entity, must delete policies first.") }
        core.emit(.roleDeleted(name: name))
        return .result([:])
    }

    // MARK: Inline policies

    static func entityName(_ call: Call, _ kind: Kind) throws(AWSError) -> String {
        try call.string(kind == .user ? "UserName" : "RoleName")
    }

    static func policies(_ core: AccountNodeCore, _ kind: Kind, _ name: String) throws(AWSError) -> [String: String] {
        kind == .user ? try user(core, name).policies : try role(core, name).policies
    }

    static func resourceTags(_ core: AccountNodeCore, _ kind: Kind, _ name: String) -> [String: String] {
        let t = kind == .user ? core.state.users[name]?.tags ?? [] : core.state.roles[name]?.tags ?? []
        return dict(t)
    }

    static func dict(_ tags: [Tag]) -> [String: String] {
        Dictionary(tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    static func putPolicy(_ core: AccountNodeCore, _ call: Call, kind: Kind) throws(AWSError) -> Reply {
        let name = try entityName(call, kind)
        let policyName = try call.string("PolicyName")
        let document = try call.string("PolicyDocument")
        call.auditResource("AWS::IAM::\(kind.title)", name)
        try core.authorize(call, "iam:Put\(kind.title)Policy", entityARN(core, kind, name), resourceTags: resourceTags(core, kind, name))
        var existing = try policies(core, kind, name)
        do { _ = try PolicyDocument(parsing: document, kind: .identity) } catch { throw AWSError(.malformedPolicyDocument, error.message) }
        existing[policyName] = document
        let limit = kind == .user ? 2048 : 10240
        if existing.values.reduce(0, { $0 + PolicyDocument.quotaSize(of: $1) }) > limit {
            throw AWSError(.limitExceeded, "Maximum policy size of \(limit) bytes exceeded for \(kind.rawValue) \(name)")
        }
        core.emit(kind == .user ? .userPolicyPut(user: name, policy: policyName, document: document)
                                : .rolePolicyPut(role: name, policy: policyName, document: document))
        return .result([:])
    }

    static func getPolicy(_ core: AccountNodeCore, _ call: Call, kind: Kind) throws(AWSError) -> Reply {
        let name = try entityName(call, kind)
        let policyName = try call.string("PolicyName")
        call.auditResource("AWS::IAM::\(kind.title)", name)
        try core.authorize(call, "iam:Get\(kind.title)Policy", entityARN(core, kind, name), resourceTags: resourceTags(core, kind, name))
        guard let doc = try policies(core, kind, name)[policyName] else {
            throw AWSError(.noSuchEntity, "The \(kind.rawValue) policy with name \(policyName) cannot be found.")
        }
        return .result(["\(kind.title)Name": .string(name), "PolicyName": .string(policyName), "PolicyDocument": .string(doc)])
    }

    static func deletePolicy(_ core: AccountNodeCore, _ call: Call, kind: Kind) throws(AWSError) -> Reply {
        let name = try entityName(call, kind)
        let policyName = try call.string("PolicyName")
        call.auditResource("AWS::IAM::\(kind.title)", name)
        try core.authorize(call, "iam:Delete\(kind.title)Policy", entityARN(core, kind, name), resourceTags: resourceTags(core, kind, name))
        guard try policies(core, kind, name)[policyName] != nil else {
            throw AWSError(.noSuchEntity, "The \(kind.rawValue) policy with name \(policyName) cannot be found.")
        }
        core.emit(kind == .user ? .userPolicyDeleted(user: name, policy: policyName) : .rolePolicyDeleted(role: name, policy: policyName))
        return .result([:])
    }

    static func listPolicies(_ core: AccountNodeCore, _ call: Call, kind: Kind) throws(AWSError) -> Reply {
        let name = try entityName(call, kind)
        try core.authorize(call, "iam:List\(kind.title)Policies", entityARN(core, kind, name), resourceTags: resourceTags(core, kind, name))
        let names = try policies(core, kind, name).keys.sorted()
        let page = try Page.slice(names, key: { $0 }, token: call.optionalString("Marker"), max: call.int("MaxItems") ?? 100, errorCode: .invalidInput)
        return .result(.compactObject(["PolicyNames": .array(page.items.map { .string($0) }), "IsTruncated": .bool(page.next != nil),
                                       "Marker": page.next.map { .string($0) }]))
    }

    // MARK: Access keys

    static func createAccessKey(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.userNameOrCaller()
        call.auditResource("AWS::IAM::User", name)
        try core.authorize(call, "iam:CreateAccessKey", entityARN(core, .user, name), resourceTags: resourceTags(core, .user, name))
        let u = try user(core, name)
        if u.accessKeys.count >= 2 { throw AWSError(.limitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2") }
        let key = AccessKey(id: core.newID(prefix: "AKIA", length: 16), secret: core.newSecret(length: 40), status: "Active", createDate: call.now)
        core.emit(.accessKeyCreated(user: name, key: key))
        return .result(["AccessKey": ["UserName": .string(name), "AccessKeyId": .string(key.id), "Status": .string(key.status),
                                      "SecretAccessKey": .string(key.secret), "CreateDate": .number(key.createDate)]])
    }

    static func listAccessKeys(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.userNameOrCaller()
        try core.authorize(call, "iam:ListAccessKeys", entityARN(core, .user, name), resourceTags: resourceTags(core, .user, name))
        let keys = try user(core, name).accessKeys.sorted { $0.id < $1.id }
        let page = try Page.slice(keys, key: \.id, token: call.optionalString("Marker"), max: call.int("MaxItems") ?? 100, errorCode: .invalidInput)
        return .result(.compactObject([
            "AccessKeyMetadata": .array(page.items.map { ["UserName": .string(name), "AccessKeyId": .string($0.id), "Status": .string($0.status), "CreateDate": .number($0.createDate)] }),
            "IsTruncated": .bool(page.next != nil), "Marker": page.next.map { .string($0) },
        ]))
    }

    static func deleteAccessKey(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.userNameOrCaller()
        let id = try call.string("AccessKeyId")
        call.auditResource("AWS::IAM::AccessKey", id)
        try core.authorize(call, "iam:DeleteAccessKey", entityARN(core, .user, name), resourceTags: resourceTags(core, .user, name))
        guard try user(core, name).accessKeys.contains(where: { $0.id == id }) else {
            throw AWSError(.noSuchEntity, "The Access Key with id \(id) cannot be found.")
        }
        core.emit(.accessKeyDeleted(user: name, id: id))
        return .result([:])
    }

    // MARK: Tags

    static func tag(_ core: AccountNodeCore, _ call: Call, kind: Kind) throws(AWSError) -> Reply {
        let name = try entityName(call, kind)
        let tags = call.tagList()
        call.auditResource("AWS::IAM::\(kind.title)", name)
        try core.authorize(call, "iam:Tag\(kind.title)", entityARN(core, kind, name), resourceTags: resourceTags(core, kind, name), requestTags: dict(tags))
        let existing = kind == .user ? try user(core, name).tags : try role(core, name).tags
        try checkTagCount(existing, adding: tags, kind, name)
        core.emit(kind == .user ? .userTagged(user: name, tags: tags) : .roleTagged(role: name, tags: tags))
        return .result([:])
    }

    static func untag(_ core: AccountNodeCore, _ call: Call, kind: Kind) throws(AWSError) -> Reply {
        let name = try entityName(call, kind)
        let keys = call.stringList("TagKeys")
        call.auditResource("AWS::IAM::\(kind.title)", name)
        try core.authorize(call, "iam:Untag\(kind.title)", entityARN(core, kind, name), resourceTags: resourceTags(core, kind, name),
                           context: ["aws:TagKeys": .list(keys)])
        _ = kind == .user ? try user(core, name).tags : try role(core, name).tags
        core.emit(kind == .user ? .userUntagged(user: name, keys: keys) : .roleUntagged(role: name, keys: keys))
        return .result([:])
    }

    // MARK: Simulation

    static func simulateCustomPolicy(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "iam:SimulateCustomPolicy", "*")
        var input = try PolicySimulator.parseRequest(call.params)
        if input.caller == nil, input.resourcePolicy == nil { input.caller = call.caller.principal }
        return .result(try PolicySimulator.run(input))
    }

    static func simulatePrincipalPolicy(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let source = try call.string("PolicySourceArn")
        call.auditResource("AWS::IAM::Principal", source)
        try core.authorize(call, "iam:SimulatePrincipalPolicy", source)
        guard let arn = ARN(source), arn.service == "iam", arn.account == core.config.account.rawValue else {
            throw AWSError(.invalidInput, "PolicySourceArn must be a user or role of account \(core.config.account), got \(source)")
        }
        let name = arn.resource.split(separator: "/").last.map(String.init) ?? ""
        var params = call.params
        params["PolicySourceArn"] = nil
        if params["PolicyInputList"] == nil { params["PolicyInputList"] = [] }
        var input = try PolicySimulator.parseRequest(params)
        let own: [String: String]
        if arn.resourceType == "user" {
            let u = try user(core, name)
            own = u.policies
            input.identitySourceType = .user
            if input.caller == nil { input.caller = Principal(kind: .user, account: core.config.account, arn: core.userARN(u), name: u.name, userID: u.userID) }
        } else if arn.resourceType == "role" {
            let r = try role(core, name)
            own = r.policies
            input.identitySourceType = .role
            if input.caller == nil { input.caller = .role(core.config.account, name: r.name, path: r.path, roleID: r.roleID, partition: core.config.partition) }
        } else {
            throw AWSError(.invalidInput, "PolicySourceArn must name a user or a role, got \(source)")
        }
        input.identityPolicies = own.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + input.identityPolicies
        if let scps = core.config.serviceControlPolicies { input.organizationPolicies = scps.map { ($0.name, $0.document) } }
        return .result(try PolicySimulator.run(input))
    }
}
