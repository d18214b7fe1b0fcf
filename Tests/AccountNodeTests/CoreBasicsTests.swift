@testable import AccountNode
import CleanRoomsModel
import JSON
import Testing

@Suite struct IAMOperationTests {
    @Test func bootstrapCreatesTheAdministratorOnce() throws {
        let h = CoreHarness()
        let me = try h.call("sts.GetCallerIdentity")
        #expect(me["Arn"] == "arn:aws:iam::111111111111:user/admin")
        #expect(me["Account"] == "111111111111")
        #expect(h.core.bootstrapIfNeeded(now: 0).isEmpty)
    }

    @Test func usersPoliciesAndKeysRoundTrip() throws {
        let h = CoreHarness()
        let created = try h.call("iam.CreateUser", ["UserName": "alice", "Tags": [["Key": "team", "Value": "ads"]]])
        #expect(created["User"]?["Arn"] == "arn:aws:iam::111111111111:user/alice")
        #expect(try h.call("iam.GetUser", ["UserName": "alice"])["User"]?["Tags"] == [["Key": "team", "Value": "ads"]])
        h.expectError("EntityAlreadyExists", "iam.CreateUser", ["UserName": "ALICE"])
        try h.call("iam.PutUserPolicy", ["UserName": "alice", "PolicyName": "read", "PolicyDocument": .string(allow("s3:GetObject"))])
        #expect(try h.call("iam.ListUserPolicies", ["UserName": "alice"])["PolicyNames"] == ["read"])
        #expect(try h.call("iam.GetUserPolicy", ["UserName": "alice", "PolicyName": "read"])["PolicyDocument"] == .string(allow("s3:GetObject")))
        let key = try h.call("iam.CreateAccessKey", ["UserName": "alice"])["AccessKey"]
        #expect(key?["SecretAccessKey"]?.stringValue?.count == 40)
        #expect(try h.call("iam.ListAccessKeys", ["UserName": "alice"])["AccessKeyMetadata"]?.arrayValue?.count == 1)
        h.expectError("DeleteConflict", "iam.DeleteUser", ["UserName": "alice"])
        h.expectError("NoSuchEntity", "iam.GetUser", ["UserName": "nobody"])
    }

    @Test func malformedPolicyIsRefusedWithIAMsWords() {
        let h = CoreHarness()
        let msg = h.expectError("MalformedPolicyDocument", "iam.PutUserPolicy", ["UserName": "admin", "PolicyName": "x", "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}"#])
        #expect(msg.hasPrefix("Policy statement must contain resources."))
    }

    @Test func inlinePolicyQuotaIsEnforced() {
        let h = CoreHarness()
        let big = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":["# + (0..<60).map { "\"arn:aws:s3:::bucket-number-\($0)\"" }.joined(separator: ",") + "]}]}"
        let msg = h.expectError("LimitExceeded", "iam.PutUserPolicy", ["UserName": "admin", "PolicyName": "big", "PolicyDocument": .string(big)])
        #expect(msg.contains("2048"))
    }

    @Test func validationNamesTheMember() {
        let h = CoreHarness()
        let msg = h.expectError("ValidationError", "iam.CreateUser", ["UserName": "bad name!"])
        #expect(msg.contains("at 'UserName'"))
        let unknown = h.expectError("ValidationError", "iam.CreateUser", ["UserName": "ok", "Nmae": "x"])
        #expect(unknown.contains("Unknown parameter in input: \"Nmae\""))
    }

    @Test func aUserWithoutPermissionIsDeniedAndTheDenialIsAudited() throws {
        let h = CoreHarness()
        let key = try h.user("reader", policy: allow("iam:GetUser"))
        #expect(try h.call("iam.GetUser", ["UserName": "reader"], key: key)["User"]?["UserName"] == "reader")
        let msg = h.expectError("AccessDenied", "iam.CreateUser", ["UserName": "x"], key: key)
        #expect(msg == "User: arn:aws:iam::111111111111:user/reader is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111111111111:user/x because no identity-based policy allows the iam:CreateUser action")
        let last = h.audit.last!
        #expect(last.eventName == "CreateUser")
        #expect(last.record["errorCode"] == "AccessDenied")
        #expect(last.username == "reader")
    }

    /// The core remembers each key's caller between requests; any change to the user, its
    /// keys, tags or policies must show on the very next call.
    @Test func changesToTheCallerTakeEffectOnTheNextCall() throws {
        let h = CoreHarness()
        let key = try h.user("reader", policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}"#)
        _ = h.expectError("AccessDenied", "iam.GetUser", ["UserName": "reader"], key: key)
        try h.call("iam.TagUser", ["UserName": "reader", "Tags": [["Key": "team", "Value": "blue"]]])
        #expect(try h.call("iam.GetUser", ["UserName": "reader"], key: key)["User"]?["UserName"] == "reader")
        try h.call("iam.DeleteUserPolicy", ["UserName": "reader", "PolicyName": "p"])
        _ = h.expectError("AccessDenied", "iam.GetUser", ["UserName": "reader"], key: key)
        try h.call("iam.PutUserPolicy", ["UserName": "reader", "PolicyName": "q", "PolicyDocument": .string(allow("iam:GetUser"))])
        #expect(try h.call("iam.GetUser", ["UserName": "reader"], key: key)["User"]?["UserName"] == "reader")
        try h.call("iam.DeleteAccessKey", ["UserName": "reader", "AccessKeyId": .string(key)])
        _ = h.expectError("UnrecognizedClientException", "iam.GetUser", ["UserName": "reader"], key: key)
        #expect(h.audit.last?.eventID.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
    }

    /// The global condition keys a node sets on every request: some are the caller's and kept
    /// between requests (region, transport, organization, principal), some are the request's
    /// own (time, source address) and must be fresh each time.
    @Test func globalConditionKeysReachPolicies() throws {
        let h = CoreHarness(scps: [("all", allow("*"))])
        func conditioned(_ condition: String) -> String {
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":\#(condition)}]}"#
        }
        let cases: [(String, Bool)] = [
            (#"{"StringEquals":{"aws:RequestedRegion":"\#(h.core.config.region)","aws:PrincipalOrgID":"o-test","aws:SourceIp":"127.0.0.1"},"Bool":{"aws:SecureTransport":"false"}}"#, true),
            (#"{"StringEquals":{"aws:RequestedRegion":"eu-north-1"}}"#, false),
            (#"{"StringEquals":{"aws:PrincipalOrgID":"o-other"}}"#, false),
            (#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, false),
            (#"{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/u0","aws:username":"u0"}}"#, true),
        ]
        for (k, (condition, allowed)) in cases.enumerated() {
            let key = try h.user("u\(k)", policy: conditioned(condition.replacing("u0", with: "u\(k)")))
            if allowed {
                #expect(try h.call("iam.GetUser", ["UserName": .string("u\(k)")], key: key)["User"] != nil, "\(condition)")
            } else {
                _ = h.expectError("AccessDenied", "iam.GetUser", ["UserName": .string("u\(k)")], key: key)
            }
        }
        // Time moves on between two requests of the same caller: the second sees its own time.
        let t = h.now  // each call moves the harness clock one second: three to create the user, three calls
        let clock = try h.user("clock", policy: conditioned(#"{"NumericLessThanEquals":{"aws:EpochTime":"\#(Int(t) + 6)"}}"#))
        for _ in 0..<3 { _ = try h.call("iam.GetUser", ["UserName": "clock"], key: clock) }  // same caller, kept between calls
        h.now += 60
        _ = h.expectError("AccessDenied", "iam.GetUser", ["UserName": "clock"], key: clock)
    }

    @Test func getCallerIdentityNeedsNoPermission() throws {
        let h = CoreHarness()
        let key = try h.user("nobody", policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#)
        #expect(try h.call("sts.GetCallerIdentity", key: key)["Arn"] == "arn:aws:iam::111111111111:user/nobody")
    }

    @Test func simulatePrincipalPolicyUsesTheUsersPolicies() throws {
        let h = CoreHarness()
        _ = try h.user("analyst", policy: allow("s3:GetObject", "arn:aws:s3:::data/*"))
        let r = try h.call("iam.SimulatePrincipalPolicy", ["PolicySourceArn": "arn:aws:iam::111111111111:user/analyst",
                                                          "ActionNames": ["s3:GetObject", "s3:PutObject"], "ResourceArns": ["arn:aws:s3:::data/x"]])
        #expect(r["EvaluationResults"]?.arrayValue?.map { $0["EvalDecision"] } == ["allowed", "implicitDeny"])
    }

    @Test func unknownMethodIsAProtocolError() throws {
        let h = CoreHarness()
        h.expectError("UnknownOperationException", "iam.CreateGroup")
        h.expectError("UnknownOperationException", "nonsense")
    }

    @Test func anInvalidAccessKeyIsUnrecognized() {
        let h = CoreHarness()
        h.expectError("UnrecognizedClientException", "sts.GetCallerIdentity", key: "AKIANOTAKEY")
    }
}

@Suite struct DataPlaneOperationTests {
    func seeded() throws -> CoreHarness {
        let h = CoreHarness()
        try h.call("s3.CreateBucket", ["Bucket": "data"])
        try h.call("s3.PutObject", ["Bucket": "data", "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(Array("user_id,item_id,timestamp\nu1,i1,1\n".utf8)))])
        try h.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "Ads"]])
        try h.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": [
            "Name": "Interactions", "StorageDescriptor": ["Location": "s3://data/interactions/", "Columns": [["Name": "user_id", "Type": "string"], ["Name": "item_id", "Type": "string"], ["Name": "timestamp", "Type": "bigint"]]],
        ]])
        try h.call("iam.CreateRole", ["RoleName": "crml", "AssumeRolePolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#])
        return h
    }

    static let trainingData: JSON = [[
        "type": "INTERACTIONS",
        "inputConfig": [
            "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
            "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]],
        ],
    ]]

    @Test func s3ObjectsRoundTrip() throws {
        let h = try seeded()
        let o = try h.call("s3.GetObject", ["Bucket": "data", "Key": "interactions/part-0.csv"])
        #expect(o["Body"] == .string(Base64.encode(Array("user_id,item_id,timestamp\nu1,i1,1\n".utf8))))
        #expect(o["ContentLength"] == 34)
        let list = try h.call("s3.ListObjectsV2", ["Bucket": "data", "Delimiter": "/"])
        #expect(list["CommonPrefixes"] == [["Prefix": "interactions/"]])
        h.expectError("NoSuchKey", "s3.GetObject", ["Bucket": "data", "Key": "missing"])
        h.expectError("BucketNotEmpty", "s3.DeleteBucket", ["Bucket": "data"])
        try h.call("s3.DeleteObject", ["Bucket": "data", "Key": "interactions/part-0.csv"])
        #expect(h.blobs.isEmpty)
        h.expectError("InvalidBucketName", "s3.CreateBucket", ["Bucket": "Bad_Name"])
    }

    @Test func glueTablesAreLowerCaseAndScoped() throws {
        let h = try seeded()
        let t = try h.call("glue.GetTable", ["DatabaseName": "ADS", "Name": "interactions"])
        #expect(t["Table"]?["Name"] == "interactions")
        #expect(try h.call("glue.GetTables", ["DatabaseName": "ads"])["TableList"]?.arrayValue?.count == 1)
        h.expectError("EntityNotFoundException", "glue.GetTable", ["DatabaseName": "ads", "Name": "nope"])
        h.expectError("AlreadyExistsException", "glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
    }

    @Test func trainingDatasetsNeedAnExistingGlueTable() throws {
        let h = try seeded()
        let created = try h.call("cleanroomsml.CreateTrainingDataset", ["name": "ds", "roleArn": "arn:aws:iam::111111111111:role/crml", "trainingData": Self.trainingData, "tags": ["team": "ads"]])
        let arn = try #require(created["trainingDatasetArn"]?.stringValue)
        #expect(arn.hasPrefix("arn:aws:cleanrooms-ml:us-west-1:111111111111:training-dataset/"))
        let got = try h.call("cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": .string(arn)])
        #expect(got["name"] == "ds")
        #expect(got["status"] == "ACTIVE")
        #expect(try h.call("cleanroomsml.ListTrainingDatasets")["trainingDatasets"]?.arrayValue?.count == 1)
        var badData = Self.trainingData.arrayValue!
        badData[0]["inputConfig"]?["dataSource"] = ["glueDataSource": ["databaseName": "ads", "tableName": "missing"]]
        let msg = h.expectError("ValidationException", "cleanroomsml.CreateTrainingDataset", ["name": "ds2", "roleArn": "arn:aws:iam::111111111111:role/crml", "trainingData": .array(badData)])
        #expect(msg.contains("ads.missing"))
        h.expectError("ValidationException", "cleanroomsml.CreateTrainingDataset", ["name": "ds3", "roleArn": "arn:aws:iam::111111111111:role/none", "trainingData": Self.trainingData])
    }

    /// TG-3 (own copy only) and XA-7: tags act on this account's resources; another account's ARN
    /// is denied the same way whether or not it exists.
    @Test("TG-3 XA-7: tags on own resources; another account's ARN is AccessDeniedException")
    func tagsAndForeignARNs() throws {
        let h = try seeded()
        let arn = try h.call("cleanroomsml.CreateTrainingDataset", ["name": "ds", "roleArn": "arn:aws:iam::111111111111:role/crml", "trainingData": Self.trainingData])["trainingDatasetArn"]!.stringValue!
        try h.call("cleanroomsml.TagResource", ["resourceArn": .string(arn), "tags": ["env": "prod", "team": "ads"]])
        try h.call("cleanroomsml.UntagResource", ["resourceArn": .string(arn), "tagKeys": ["team"]])
        #expect(try h.call("cleanroomsml.ListTagsForResource", ["resourceArn": .string(arn)])["tags"] == ["env": "prod"])
        let foreign = arn.replacingOccurrences("111111111111", with: "222222222222")
        let a = h.expectError("AccessDeniedException", "cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": .string(foreign)])
        let b = h.expectError("AccessDeniedException", "cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": "arn:aws:cleanrooms-ml:us-west-1:222222222222:training-dataset/never-existed"])
        #expect(a.replacingOccurrences(foreign, with: "X") == b.replacingOccurrences("arn:aws:cleanrooms-ml:us-west-1:222222222222:training-dataset/never-existed", with: "X"))
        h.expectError("AccessDeniedException", "cleanroomsml.TagResource", ["resourceArn": .string(foreign), "tags": ["a": "b"]])
        h.expectError("ResourceNotFoundException", "cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": "arn:aws:cleanrooms-ml:us-west-1:111111111111:training-dataset/nope"])
    }

    @Test func tagConditionsUseRequestTagsAndTagKeys() throws {
        let h = try seeded()
        let arn = try h.call("cleanroomsml.CreateTrainingDataset", ["name": "ds", "roleArn": "arn:aws:iam::111111111111:role/crml", "trainingData": Self.trainingData])["trainingDatasetArn"]!.stringValue!
        let key = try h.user("tagger", policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cleanrooms-ml:TagResource","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]},"StringEquals":{"aws:RequestTag/env":"dev"}}}]}"#)
        try h.call("cleanroomsml.TagResource", ["resourceArn": .string(arn), "tags": ["env": "dev"]], key: key)
        h.expectError("AccessDeniedException", "cleanroomsml.TagResource", ["resourceArn": .string(arn), "tags": ["env": "prod"]], key: key)
        h.expectError("AccessDeniedException", "cleanroomsml.TagResource", ["resourceArn": .string(arn), "tags": ["env": "dev", "owner": "x"]], key: key)
    }

    @Test func lookupEventsIsNewestFirstAndFilters() throws {
        let h = try seeded()
        let all = try h.call("cloudtrail.LookupEvents", ["MaxResults": 50])["Events"]!.arrayValue!
        #expect(all.first?["EventName"] == "LookupEvents" || all.first?["EventName"] == "CreateRole")
        let buckets = try h.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "CreateBucket"]]])["Events"]!.arrayValue!
        #expect(buckets.count == 1)
        #expect(buckets[0]["Resources"] == [["ResourceType": "AWS::S3::Bucket", "ResourceName": "data"]])
        let record = try JSONParser.parse(buckets[0]["CloudTrailEvent"]!.stringValue!)
        #expect(record["recipientAccountId"] == "111111111111")
        h.expectError("InvalidLookupAttributesException", "cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "a"], ["AttributeKey": "Username", "AttributeValue": "b"]]])
    }

    @Test func replayingTheLogRebuildsTheState() throws {
        let h = try seeded()
        _ = try h.call("cleanroomsml.CreateTrainingDataset", ["name": "ds", "roleArn": "arn:aws:iam::111111111111:role/crml", "trainingData": Self.trainingData])
        let replayed = h.replayed()
        #expect(try JSON(encoding: replayed.state) == JSON(encoding: h.core.state))
    }
}

extension String {
    func replacingOccurrences(_ a: String, with b: String) -> String { split(separator: a, omittingEmptySubsequences: false).joined(separator: b) }
}

/// The audit file's record is written member by member; it must be canonical JSON and read back
/// to the same event.
@Suite struct AuditRecordTests {
    static func event(optionals: Bool) -> AuditEvent {
        AuditEvent(eventID: "e-1", eventName: "GetTrainingDataset", eventSource: "cleanrooms-ml.amazonaws.com", eventTime: 1_764_000_000.25,
                   readOnly: !optionals, accessKeyID: optionals ? "AKIA\"X" : nil, username: optionals ? "ünï" : nil,
                   resources: optionals ? [.init(type: "AWS::CleanRoomsML::TrainingDataset", name: "arn:x\n"), .init(type: "t", name: "n")] : [],
                   identity: .init(principalID: "AIDA1", arn: "arn:aws:iam::111111111111:user/a", accountID: "111111111111", userName: "a"),
                   region: "us-east-1", sourceIP: "127.0.0.1", requestParameters: optionals ? ["trainingDatasetArn": "arn", "maxResults": 5] : [:],
                   errorCode: optionals ? "AccessDeniedException" : nil, errorMessage: optionals ? "no \\ way" : nil)
    }

    @Test(arguments: [false, true])
    func lineIsTheEventsJSON(optionals: Bool) throws {
        let e = Self.event(optionals: optionals)
        // Canonical JSON: what the general writer makes of it (keys sorted, no spaces) is the same.
        #expect(e.line == JSONWriter.bytes(try JSONParser.parse(e.line)))
        let back = try #require(AuditEvent(json: try JSONParser.parse(e.line)))
        #expect(back.line == e.line)
        #expect(back.accessKeyID == e.accessKeyID && back.username == e.username && back.errorCode == e.errorCode && back.errorMessage == e.errorMessage)
        #expect(back.resources == e.resources && back.requestParameters == e.requestParameters && back.eventTime == e.eventTime)
        #expect(back.identity.arn == e.identity.arn && back.readOnly == e.readOnly)
    }
}
