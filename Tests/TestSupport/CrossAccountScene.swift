import Foundation
import JSON
import Lookalike
import Testing
import Wire

/// The seed's situation, set up through the API of real nodes: account B (index 1) owns
/// interaction data, a trained model and a configured audience model (CAM) whose resource policy
/// lets account A (index 0) start jobs on it; A holds a seed audience in its own S3 and a role
/// to pass. Tests then act as A and B.
public struct CrossAccountScene: Sendable {
    public let cluster: TestCluster
    public let a: RPCClient
    public let b: RPCClient
    public let accountA: String
    public let accountB: String
    public let camArn: String
    public let seedURI = "s3://seeds/seed.csv"
    public let roleA: String
    public let files: SyntheticData.Files

    public static let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    /// The seed page's example policy for this CAM: A may start jobs on B's job ARNs and the CAM,
    /// optionally only in one collaboration.
    public static func seedPolicy(a: String, camArn: String, collaborationId: String? = nil) -> String {
        let jobs = camArn.replacingOccurrences(of: #"configured-audience-model/[^"]*$"#, with: "audience-generation-job/*", options: .regularExpression)
        let condition = collaborationId.map { #", "Condition": {"StringEquals": {"cleanrooms-ml:CollaborationId": "\#($0)"}}"# } ?? ""
        return """
            {"Version": "2012-10-17", "Statement": [{"Sid": "Clean-Rooms-\(a)", "Effect": "Allow", "Principal": {"AWS": ["\(a)"]},
             "Action": ["cleanrooms-ml:StartAudienceGenerationJob"], "Resource": ["\(camArn)", "\(jobs)"]\(condition)}]}
            """
    }

    public struct Options: Sendable {
        public var tagPolicy = "FROM_PARENT_RESOURCE"
        public var sharedMetrics = "ALL"
        public var collaborationId: String? = nil
        public var camTags: [String: String] = ["team": "models", "env": "b"]
        public init() {}
    }

    /// Builds the scene on accounts 0 (A) and 1 (B) of `c`.
    public static func prepare(_ c: TestCluster, _ options: Options = Options()) async throws -> CrossAccountScene {
        let a = try await c.client(0), b = try await c.client(1)
        let accountA = c.account(0).id.rawValue, accountB = c.account(1).id.rawValue
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seedUsers, o.seed) = (800, 200, 12_000, 4, 60, 11)
        let files = SyntheticData.generate(o)

        _ = try await b.call("s3.CreateBucket", ["Bucket": "data"])
        _ = try await b.call("s3.PutObject", ["Bucket": "data", "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(files.interactions))])
        _ = try await b.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
        _ = try await b.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": "s3://data/interactions/"]]])
        _ = try await b.call("iam.CreateRole", ["RoleName": "ml", "AssumeRolePolicyDocument": .string(trust)])
        let roleB = "arn:aws:iam::\(accountB):role/ml"
        let ds = try await b.call("cleanroomsml.CreateTrainingDataset", [
            "name": "ds", "roleArn": .string(roleB),
            "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]]])
        let model = try #require(try await b.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": ds["trainingDatasetArn"] ?? .null])["audienceModelArn"])
        _ = try await eventually(timeout: 60, interval: 0.05) {
            let status = try await b.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": model])["status"]?.stringValue ?? ""
            return status == "ACTIVE" || status == "CREATE_FAILED"
        }
        try #require(try await b.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": model])["status"] == "ACTIVE")
        _ = try await b.call("s3.CreateBucket", ["Bucket": "out"])
        let cam = try #require(try await b.call("cleanroomsml.CreateConfiguredAudienceModel", [
            "name": "cam", "audienceModelArn": model, "sharedAudienceMetrics": [.string(options.sharedMetrics)], "minMatchingSeedSize": 25,
            "outputConfig": ["roleArn": .string(roleB), "destination": ["s3Destination": ["s3Uri": "s3://out/audiences"]]],
            "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [50, 100]],
            "childResourceTagOnCreatePolicy": .string(options.tagPolicy), "tags": .object(options.camTags.mapValues { .string($0) }),
        ])["configuredAudienceModelArn"]?.stringValue)
        _ = try await b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", [
            "configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(seedPolicy(a: accountA, camArn: cam, collaborationId: options.collaborationId))])

        _ = try await a.call("s3.CreateBucket", ["Bucket": "seeds"])
        _ = try await a.call("s3.PutObject", ["Bucket": "seeds", "Key": "seed.csv", "Body": .string(Base64.encode(files.seed))])
        _ = try await a.call("iam.CreateRole", ["RoleName": "seed-reader", "AssumeRolePolicyDocument": .string(trust)])
        return CrossAccountScene(cluster: c, a: a, b: b, accountA: accountA, accountB: accountB, camArn: cam,
                                 roleA: "arn:aws:iam::\(accountA):role/seed-reader", files: files)
    }

    /// Another CAM of B on the same model, with the seed's policy for A.
    public func addCAM(_ name: String, tagPolicy: String = "FROM_PARENT_RESOURCE", sharedMetrics: String = "ALL", tags: [String: String] = [:]) async throws -> String {
        let model = try await b.call("cleanroomsml.GetConfiguredAudienceModel", ["configuredAudienceModelArn": .string(camArn)])["audienceModelArn"] ?? .null
        let cam = try #require(try await b.call("cleanroomsml.CreateConfiguredAudienceModel", [
            "name": .string(name), "audienceModelArn": model, "sharedAudienceMetrics": [.string(sharedMetrics)], "minMatchingSeedSize": 25,
            "outputConfig": ["roleArn": .string("arn:aws:iam::\(accountB):role/ml"), "destination": ["s3Destination": ["s3Uri": .string("s3://out/\(name)")]]],
            "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [50]], "childResourceTagOnCreatePolicy": .string(tagPolicy),
            "tags": .object(tags.mapValues { .string($0) }),
        ])["configuredAudienceModelArn"]?.stringValue)
        _ = try await b.call("cleanroomsml.PutConfiguredAudienceModelPolicy", [
            "configuredAudienceModelArn": .string(cam), "configuredAudienceModelPolicy": .string(Self.seedPolicy(a: accountA, camArn: cam))])
        return cam
    }

    /// The params of A's `StartAudienceGenerationJob` on B's CAM.
    public func startParams(name: String, tags: [String: String] = [:], collaborationId: String? = nil) -> JSON {
        .compactObject(["name": .string(name), "configuredAudienceModelArn": .string(camArn),
                        "seedAudience": ["dataSource": ["s3Uri": .string(seedURI)], "roleArn": .string(roleA)],
                        "tags": tags.isEmpty ? nil : .object(tags.mapValues { .string($0) }), "collaborationId": collaborationId.map { .string($0) }])
    }

    /// Starts a job as A (or `client`); returns A's ARN.
    public func start(_ name: String, tags: [String: String] = [:], collaborationId: String? = nil, client: RPCClient? = nil) async throws -> String {
        let r = try await (client ?? a).call("cleanroomsml.StartAudienceGenerationJob", startParams(name: name, tags: tags, collaborationId: collaborationId))
        return try #require(r["audienceGenerationJobArn"]?.stringValue)
    }

    /// The same job's ARN in the other account.
    public func otherARN(_ arn: String) -> String {
        arn.contains(":\(accountA):") ? arn.replacingOccurrences(of: ":\(accountA):", with: ":\(accountB):")
            : arn.replacingOccurrences(of: ":\(accountB):", with: ":\(accountA):")
    }

    /// `Get` of a job: the job, or nil and the error type it fails with.
    public static func get(_ client: RPCClient, _ arn: String) async -> (job: JSON?, error: String?) {
        do { return (try await client.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)]), nil) } catch {
            return (nil, errorType(error))
        }
    }

    /// Waits until the job's copy in `client`'s account has one of `status`.
    @discardableResult
    public func waitFor(_ client: RPCClient, _ arn: String, status: Set<String> = ["ACTIVE", "CREATE_FAILED"], timeout: Double = 30) async throws -> JSON {
        var last: JSON = .null
        _ = try await eventually(timeout: timeout, interval: 0.02) {
            last = try await client.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            return status.contains(last["status"]?.stringValue ?? "")
        }
        return last
    }

    /// Waits until `client`'s copy of the job is gone (Get says ResourceNotFoundException).
    public func waitGone(_ client: RPCClient, _ arn: String, timeout: Double = 30) async throws -> Bool {
        try await eventually(timeout: timeout, interval: 0.02) {
            await Self.get(client, arn).error == "ResourceNotFoundException"
        }
    }
}

/// The AWS error type of a failed call (or the error's description).
public func errorType(_ error: Error) -> String {
    if case RPCCallError.service(let e) = error { return e.type }
    return "\(error)"
}

/// The error type `body` fails with, or nil when it succeeds.
public func errorType(_ body: () async throws -> Void) async -> String? {
    do { try await body(); return nil } catch { return errorType(error) }
}
