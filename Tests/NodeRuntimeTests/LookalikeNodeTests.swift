import Foundation
import JSON
import Lookalike
import Testing
import TestSupport
import Wire

/// ML-1, ML-2, ML-3 through real node processes: data in S3 and Glue, a model trained
/// asynchronously, a configured audience model, a job with metrics, an export, and the delete
/// that takes it all away.
@Suite(.serialized) struct LookalikeNodeTests {
    static let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    /// Bucket `data` with the interactions under `interactions/` (uploaded with `crml data
    /// upload`, in parts), Glue table `ads.interactions`, role `ml`, training dataset `ds`.
    static func seedAccount(_ c: TestCluster, _ client: RPCClient, interactions: [UInt8], partSize: Int = 300_000) async throws -> String {
        _ = try await client.call("s3.CreateBucket", ["Bucket": "data"])
        let file = FileManagerTemp.write(String(decoding: interactions, as: UTF8.self))
        let up = try await c.crml(["data", "upload", file, "--bucket", "data", "--key-prefix", "interactions", "--part-size", String(partSize), "--profile", "111111111111"])
        try #require(up.exitCode == 0, "\(up.stderrText)")
        _ = try await client.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
        _ = try await client.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": "s3://data/interactions/"]]])
        _ = try await client.call("iam.CreateRole", ["RoleName": "ml", "AssumeRolePolicyDocument": .string(trust)])
        let ds = try await client.call("cleanroomsml.CreateTrainingDataset", [
            "name": "ds", "roleArn": "arn:aws:iam::111111111111:role/ml",
            "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]], ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]]])
        return try #require(ds["trainingDatasetArn"]?.stringValue)
    }

    static func waitFor(_ client: RPCClient, _ method: String, _ params: JSON, status: Set<String>, timeout: Double = 60) async throws -> JSON {
        var last: JSON = .null
        _ = try await eventually(timeout: timeout, interval: 0.05) {
            last = try await client.call(method, params)
            return status.contains(last["status"]?.stringValue ?? "")
        }
        return last
    }

    static func data(users: Int = 3000, items: Int = 600, interactions: Int = 45_000, groups: Int = 8, seedUsers: Int = 120) -> SyntheticData.Files {
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seedUsers, o.seed) = (users, items, interactions, groups, seedUsers, 7)
        return SyntheticData.generate(o)
    }

    @Test("ML-1 ML-2 ML-3 TG-1: seed to exported audience within one account, then a delete that removes everything")
    func endToEnd() async throws {
        try await withCluster(label: "ml") { c in
            let client = try await c.client()
            let files = Self.data()
            let datasetArn = try await Self.seedAccount(c, client, interactions: files.interactions)
            let modelArn = try #require(try await client.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": .string(datasetArn)])["audienceModelArn"]?.stringValue)
            let model = try await Self.waitFor(client, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(modelArn)], status: ["ACTIVE", "CREATE_FAILED"])
            try #require(model["status"] == "ACTIVE", "model: \(model)")

            _ = try await client.call("s3.CreateBucket", ["Bucket": "out"])
            let cam = try #require(try await client.call("cleanroomsml.CreateConfiguredAudienceModel", [
                "name": "cam", "audienceModelArn": .string(modelArn), "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
                "outputConfig": ["roleArn": "arn:aws:iam::111111111111:role/ml", "destination": ["s3Destination": ["s3Uri": "s3://out/audiences"]]],
                "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [200, 400]],
                "childResourceTagOnCreatePolicy": "FROM_PARENT_RESOURCE", "tags": ["team": "ads", "env": "test"],
            ])["configuredAudienceModelArn"]?.stringValue)

            _ = try await client.call("s3.PutObject", ["Bucket": "data", "Key": "seeds/seed.csv", "Body": .string(Base64.encode(files.seed))])
            let jobArn = try #require(try await client.call("cleanroomsml.StartAudienceGenerationJob", [
                "name": "job", "configuredAudienceModelArn": .string(cam), "includeSeedInOutput": false, "tags": ["env": "prod"],
                "seedAudience": ["dataSource": ["s3Uri": "s3://data/seeds/seed.csv"], "roleArn": "arn:aws:iam::111111111111:role/ml"],
            ])["audienceGenerationJobArn"]?.stringValue)
            let job = try await Self.waitFor(client, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(jobArn)], status: ["ACTIVE", "CREATE_FAILED"])
            try #require(job["status"] == "ACTIVE", "job: \(job)")
            // TG-1: the CAM's tags, with the request's winning on the same key.
            #expect(job["tags"] == ["team": "ads", "env": "prod"])
            #expect(job["startedBy"] == "111111111111")
            let relevance = try #require(job["metrics"]?["relevanceMetrics"]?.arrayValue)
            #expect(relevance.map { $0["audienceSize"]?["value"] } == [200, 400])
            #expect(relevance.allSatisfy { ($0["score"]?.numberValue ?? 0) > 0 })
            #expect((job["metrics"]?["recallMetric"]?.numberValue ?? 0) >= 0.5)

            // ML-3: export the top 200 to the CAM's output location.
            await #expect(throws: RPCCallError.self) {
                _ = try await client.call("cleanroomsml.StartAudienceExportJob", ["name": "bad", "audienceGenerationJobArn": .string(jobArn), "audienceSize": ["type": "ABSOLUTE", "value": 300]])
            }
            _ = try await client.call("cleanroomsml.StartAudienceExportJob", ["name": "top200", "audienceGenerationJobArn": .string(jobArn), "audienceSize": ["type": "ABSOLUTE", "value": 200]])
            var export: JSON = .null
            _ = try await eventually(timeout: 30) {
                export = try await client.call("cleanroomsml.ListAudienceExportJobs", ["audienceGenerationJobArn": .string(jobArn)])["audienceExportJobs"]?[0] ?? .null
                return export["status"] == "ACTIVE" || export["status"] == "CREATE_FAILED"
            }
            try #require(export["status"] == "ACTIVE", "export: \(export)")
            let location = try #require(export["outputLocation"]?.stringValue)
            #expect(location.hasPrefix("s3://out/audiences/"))
            let key = String(location.dropFirst("s3://out/".count))
            let object = try await client.call("s3.GetObject", ["Bucket": "out", "Key": .string(key)])
            let csv = String(decoding: Base64.decode(object["Body"]?.stringValue ?? "") ?? [], as: UTF8.self)
            let users = csv.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
            #expect(users.count == 200)
            let seedSet = Set(files.seedUsers.map(SyntheticData.userID))
            #expect(Set(users).isDisjoint(with: seedSet))
            let inGroup = users.filter { files.groupOf[Int($0.dropFirst())!] == 0 }.count
            #expect(Double(inGroup) / 200 >= 0.8, "\(inGroup) of 200 exported users are in the seed's group")

            // Deleting the job removes its audience, its exports and their output.
            _ = try await client.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(jobArn)])
            await #expect(throws: RPCCallError.self) { _ = try await client.call("s3.GetObject", ["Bucket": "out", "Key": .string(key)]) }
            await #expect(throws: RPCCallError.self) { _ = try await client.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(jobArn)]) }
            #expect(try await client.call("cleanroomsml.ListAudienceExportJobs")["audienceExportJobs"] == [])
        }
    }

    @Test("ML-1 bad training data fails the model with statusDetails naming the object and the line")
    func badTrainingData() async throws {
        try await withCluster(label: "ml") { c in
            let client = try await c.client()
            let bad = Array("user_id,item_id,timestamp\nu1,i1,1767225600\nu2,i2,not-a-time\n".utf8)
            let ds = try await Self.seedAccount(c, client, interactions: bad)
            let arn = try #require(try await client.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": .string(ds)])["audienceModelArn"]?.stringValue)
            let m = try await Self.waitFor(client, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(arn)], status: ["ACTIVE", "CREATE_FAILED"])
            #expect(m["status"] == "CREATE_FAILED")
            #expect(m["statusDetails"]?["message"] == "s3://data/interactions/part-00000.csv line 3: \"not-a-time\" in column timestamp is not a timestamp (epoch seconds or ISO 8601)")
            // A training window with nothing in it fails too, and says so.
            let empty = try #require(try await client.call("cleanroomsml.CreateAudienceModel", ["name": "m2", "trainingDatasetArn": .string(ds), "trainingDataStartTime": 1_900_000_000])["audienceModelArn"]?.stringValue)
            let m2 = try await Self.waitFor(client, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(empty)], status: ["ACTIVE", "CREATE_FAILED"])
            #expect(m2["status"] == "CREATE_FAILED")
        }
    }

    @Test("ML-2 fewer matching seeds than minMatchingSeedSize fail the job with a clear statusDetails")
    func tooFewSeeds() async throws {
        try await withCluster(label: "ml") { c in
            let client = try await c.client()
            let files = Self.data(users: 400, items: 100, interactions: 4000, groups: 4, seedUsers: 10)
            let ds = try await Self.seedAccount(c, client, interactions: files.interactions)
            let modelArn = try #require(try await client.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": .string(ds)])["audienceModelArn"]?.stringValue)
            _ = try await Self.waitFor(client, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(modelArn)], status: ["ACTIVE"])
            _ = try await client.call("s3.CreateBucket", ["Bucket": "out"])
            let cam = try #require(try await client.call("cleanroomsml.CreateConfiguredAudienceModel", [
                "name": "cam", "audienceModelArn": .string(modelArn), "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
                "outputConfig": ["roleArn": "arn:aws:iam::111111111111:role/ml", "destination": ["s3Destination": ["s3Uri": "s3://out/a"]]],
            ])["configuredAudienceModelArn"]?.stringValue)
            _ = try await client.call("s3.PutObject", ["Bucket": "data", "Key": "seeds/seed.csv", "Body": .string(Base64.encode(files.seed))])
            let jobArn = try #require(try await client.call("cleanroomsml.StartAudienceGenerationJob", [
                "name": "job", "configuredAudienceModelArn": .string(cam),
                "seedAudience": ["dataSource": ["s3Uri": "s3://data/seeds/seed.csv"], "roleArn": "arn:aws:iam::111111111111:role/ml"],
            ])["audienceGenerationJobArn"]?.stringValue)
            let job = try await Self.waitFor(client, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(jobArn)], status: ["ACTIVE", "CREATE_FAILED"])
            #expect(job["status"] == "CREATE_FAILED")
            #expect(job["statusDetails"]?["statusCode"] == "INSUFFICIENT_SEED_MATCHES")
            #expect(job["statusDetails"]?["message"]?.stringValue?.contains("at least 25 (minMatchingSeedSize) must match") == true)
        }
    }

    @Test("ML-1 a trained model survives a restart, and training cut short by SIGKILL starts again")
    func modelsSurviveRestarts() async throws {
        try await withCluster(label: "ml") { c in
            let client = try await c.client()
            let files = Self.data(users: 20_000, items: 2000, interactions: 400_000, groups: 10, seedUsers: 100)
            let ds = try await Self.seedAccount(c, client, interactions: files.interactions, partSize: 2_000_000)
            let arn = try #require(try await client.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": .string(ds)])["audienceModelArn"]?.stringValue)
            // Kill the node while it trains (or just after), then restart it on its data.
            _ = try await Self.waitFor(client, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(arn)], status: ["CREATE_IN_PROGRESS", "ACTIVE"])
            try await c.kill(0)
            try await c.restart(0)
            let again = try await c.client()
            let m = try await Self.waitFor(again, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(arn)], status: ["ACTIVE", "CREATE_FAILED"], timeout: 120)
            #expect(m["status"] == "ACTIVE", "\(m)")
            try await c.kill(0)
            try await c.restart(0)
            let third = try await c.client()
            #expect(try await third.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(arn)])["status"] == "ACTIVE")
            let modelFiles = FileManager.default.enumerator(atPath: c.dir)?.compactMap { $0 as? String }.filter { $0.contains("/models/") && $0.hasSuffix(".bin") } ?? []
            #expect(modelFiles.count == 1)
        }
    }
}
