import AccountNode
import CleanRoomsModel
import JSON
import Testing

/// `sts.AssumeRole` on the core: temporary credentials for a role of this account, granted as
/// IAM grants them (the trust policy must name the caller, or its account with the caller's own
/// policies allowing it), acting with the role's policies until they expire.
@Suite struct AssumeRoleTests {
    static func trust(_ principal: String) -> JSON {
        .string(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\#(principal)"},"Action":"sts:AssumeRole"}]}"#)
    }
    static let readBuckets: JSON = .string(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":"*"}]}"#)
    static let role = "arn:aws:iam::111111111111:role/reader"

    /// A harness with role `reader` (trusting `principal`, allowed to list buckets) and a user
    /// `bob` with a key and no policies.
    static func harness(trusting principal: String) throws -> (CoreHarness, bobKey: String) {
        let h = CoreHarness()
        try h.call("iam.CreateRole", ["RoleName": "reader", "AssumeRolePolicyDocument": trust(principal)])
        try h.call("iam.PutRolePolicy", ["RoleName": "reader", "PolicyName": "buckets", "PolicyDocument": readBuckets])
        try h.call("iam.CreateUser", ["UserName": "bob"])
        let key = try h.call("iam.CreateAccessKey", ["UserName": "bob"])["AccessKey"]?["AccessKeyId"]?.stringValue ?? ""
        return (h, key)
    }

    @Test("a role trusting the account: the admin (whose policies allow it) gets credentials that act as the role, with the role's policies")
    func trustedAccount() throws {
        let (h, bob) = try Self.harness(trusting: "arn:aws:iam::111111111111:root")
        let r = try h.call("sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "s1", "DurationSeconds": 900])
        let key = try #require(r["Credentials"]?["AccessKeyId"]?.stringValue)
        #expect(key.hasPrefix("ASIA") && r["AssumedRoleUser"]?["Arn"] == "arn:aws:sts::111111111111:assumed-role/reader/s1")
        let creds = try #require(h.core.signingCredentials(forAccessKey: key))
        #expect(creds.secret == r["Credentials"]?["SecretAccessKey"]?.stringValue && creds.sessionToken == r["Credentials"]?["SessionToken"]?.stringValue)
        #expect(try h.call("sts.GetCallerIdentity", key: key)["Arn"] == "arn:aws:sts::111111111111:assumed-role/reader/s1")
        #expect(try h.call("s3.ListBuckets", key: key)["Buckets"] != nil)
        h.expectError("AccessDenied", "iam.ListUsers", key: key)
        // A role session is no IAM user: IAM's "my own" defaults do not apply to it.
        let noUser = h.expectError("ValidationError", "iam.ListAccessKeys", key: key)
        #expect(noUser.contains("non-User credentials"))
        // bob has no policy allowing sts:AssumeRole, and the trust names only the account.
        h.expectError("AccessDenied", "sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "s2"], key: bob)
        // Long-term keys carry no session token.
        #expect(h.core.signingCredentials(forAccessKey: bob)?.sessionToken == nil)
    }

    @Test("a trust policy naming a user grants it alone; one naming only a service grants no user; a Deny in the caller's policies refuses")
    func trustedUser() throws {
        let (h, bob) = try Self.harness(trusting: "arn:aws:iam::111111111111:user/bob")
        #expect(try h.call("sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "bob"], key: bob)["Credentials"] != nil)
        h.expectError("AccessDenied", "sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "admin"])
        try h.call("iam.PutUserPolicy", ["UserName": "bob", "PolicyName": "no", "PolicyDocument":
            .string(#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}"#)])
        h.expectError("AccessDenied", "sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "bob"], key: bob)
        try h.call("iam.CreateRole", ["RoleName": "service-only", "AssumeRolePolicyDocument":
            .string(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)])
        h.expectError("AccessDenied", "sts.AssumeRole", ["RoleArn": "arn:aws:iam::111111111111:role/service-only", "RoleSessionName": "admin"])
    }

    @Test("sessions expire (ExpiredToken), end with their role, outlive a restart; durations and other accounts' roles are refused")
    func lifetime() throws {
        let (h, _) = try Self.harness(trusting: "arn:aws:iam::111111111111:root")
        h.expectError("ValidationError", "sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "s1", "DurationSeconds": 899])
        h.expectError("ValidationError", "sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "s1", "DurationSeconds": 3601])
        let other = h.expectError("AccessDenied", "sts.AssumeRole", ["RoleArn": "arn:aws:iam::222222222222:role/reader", "RoleSessionName": "s1"])
        #expect(other.contains("own account"))
        h.expectError("AccessDenied", "sts.AssumeRole", ["RoleArn": "arn:aws:iam::111111111111:role/nobody", "RoleSessionName": "s1"])
        let key = try #require(try h.call("sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "s1", "DurationSeconds": 900])["Credentials"]?["AccessKeyId"]?.stringValue)
        // A core rebuilt from the log knows the session.
        var state = NodeState()
        for e in h.log { state.apply(e) }
        #expect(state.roleSessions[key]?.roleName == "reader")
        #expect(try h.call("sts.GetCallerIdentity", key: key)["Arn"] != nil)
        h.now += 900
        h.expectError("ExpiredToken", "sts.GetCallerIdentity", key: key)
        h.expectError("ExpiredTokenException", "glue.GetDatabase", ["Name": "ads"], key: key)
        let fresh = try #require(try h.call("sts.AssumeRole", ["RoleArn": .string(Self.role), "RoleSessionName": "t1", "DurationSeconds": 900])["Credentials"]?["AccessKeyId"]?.stringValue)
        #expect(h.core.state.roleSessions[key] == nil, "the expired session was dropped when the next was made")
        try h.call("iam.DeleteRolePolicy", ["RoleName": "reader", "PolicyName": "buckets"])
        try h.call("iam.DeleteRole", ["RoleName": "reader"])
        #expect(h.core.signingCredentials(forAccessKey: fresh) == nil)
        h.expectError("UnrecognizedClientException", "sts.GetCallerIdentity", key: fresh)
    }

    @Test("timestamps beyond years 1 to 9999 are refused at the door, and formatting any number never traps")
    func timestampRange() throws {
        let h = CoreHarness()
        let message = h.expectError("ValidationException", "cleanroomsml.CreateAudienceModel", [
            "name": "m", "trainingDatasetArn": "arn:aws:cleanrooms-ml:us-west-1:111111111111:training-dataset/x", "trainingDataStartTime": 1e300])
        #expect(message.contains("trainingDataStartTime"))
        for t in [1e300, -1e300, .nan, .infinity, 0, 253_402_300_799] { #expect(ISO8601.format(t).count >= 20) }
    }
}
