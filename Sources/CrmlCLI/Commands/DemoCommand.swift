import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Lookalike
import Wire

/// `crml demo`: the project's main job on a built-in default. Starts a temporary three-account
/// cluster, walks through the accounts' story step by step, and for each step prints the
/// requirement it shows, what it expected and what it saw. Exits 1 if anything differed.
enum DemoCommand {
    static let spec = CommandSpec(
        usage: "crml demo [--dir DIR] [--keep]",
        summary: """
            Starts a temporary three-account cluster (or uses --dir), loads the sample data from seeds/, and walks
            through the story step by step: IAM users and policies, data in S3 and Glue, a training dataset, tags,
            the one-account rule, and the audit trail. Each step prints its requirement id, what it expected and
            what it saw; the exit code is 1 if any step differed.
            """,
        options: [ClusterCommand.dirOption], flags: [("keep", "leave the cluster running afterwards (with --dir)")])

    /// One step's outcome.
    struct Outcome {
        var saw: String
        var ok: Bool
    }

    final class Run {
        var number = 0
        var failures = 0

        func step(_ ids: String, _ title: String, expected: String, _ body: () throws -> Outcome) {
            number += 1
            let outcome: Outcome
            do { outcome = try body() } catch { outcome = Outcome(saw: "\(error)", ok: false) }
            if !outcome.ok { failures += 1 }
            Console.out("""
                step \(number) [\(ids)] \(title)
                  expected: \(expected)
                  saw:      \(outcome.saw)
                  \(outcome.ok ? "ok" : "DIFFERENT")


                """)
        }
    }

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let temporary = parsed.value("dir") == nil
        let dir = temporary ? ClusterDirectory(path: NSTemporaryDirectory() + "crml-demo-\(getpid())") : ClusterDirectory.resolve(parsed)
        let ids = ClusterCommand.defaultIDs(3)
        Console.out("crml demo: three accounts in \(dir.path)\n\n")
        let cluster = try ClusterCommand.launch(dir, ids: ids)
        defer {
            if temporary || !parsed.has("keep") {
                try? ClusterCommand.stopAll(dir)
                if temporary { try? FileManager.default.removeItem(atPath: dir.path) }
            }
        }
        let run = Run()
        try story(run, cluster: cluster, dir: dir)
        Console.out(run.failures == 0 ? "demo passed: \(run.number) steps, all as expected\n" : "demo FAILED: \(run.failures) of \(run.number) steps differed\n")
        return run.failures == 0 ? .ok : .failed
    }

    static func client(_ a: ClusterFile.Account, key: String? = nil, secret: String? = nil) throws -> RPCClient {
        do {
            return try RPCClient.connect(host: a.host, port: UInt16(clamping: a.port),
                                         credentials: .accessKey(key ?? a.admin.accessKeyId, secret: secret ?? a.admin.secretAccessKey), readerThread: false)
        } catch { throw NodeConnection.failure(error, operation: "connect", endpoint: "\(a.host):\(a.port)") }
    }

    /// The error type a call failed with, or nil if it succeeded.
    static func errorType(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch RPCCallError.service(let e) { return e.type } catch { return "\(error)" }
    }

    /// The sample data (the same as `seeds/data/sample`, generated here so the demo runs from
    /// anywhere).
    static func sampleData() -> SyntheticData.Files {
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seed, o.seedUsers) = (3000, 600, 45_000, 8, 7, 120)
        return SyntheticData.generate(o)
    }

    /// Calls until `status` is one of `done` or 60 s pass; returns the last answer.
    static func poll(_ c: RPCClient, _ method: String, _ params: JSON, path: String = "status", done: Set<String> = ["ACTIVE", "CREATE_FAILED"]) throws -> JSON {
        let deadline = Date().addingTimeInterval(60)
        var last = try c.call(method, params)
        while !done.contains((try? CallCommand.query(last, path))?.stringValue ?? ""), Date() < deadline {
            usleep(50_000)  // polling a status, with the deadline above
            last = try c.call(method, params)
        }
        return last
    }

    static func story(_ run: Run, cluster: ClusterFile, dir: ClusterDirectory) throws {
        try accountsStory(run, cluster: cluster)
    }

    static func accountsStory(_ run: Run, cluster: ClusterFile) throws {
        let (a, b) = (cluster.accounts[0], cluster.accounts[1])
        let adminA = try client(a), adminB = try client(b)

        run.step("SIM-1", "three accounts, one node process each", expected: "3 nodes answering with their own account id") {
            let seen = try cluster.accounts.map { acct -> String in try client(acct).call("sts.GetCallerIdentity")["Account"]?.stringValue ?? "?" }
            return Outcome(saw: "\(seen.count) nodes: \(seen.joined(separator: ", "))", ok: seen == cluster.accounts.map(\.id.rawValue))
        }

        var analyst: RPCClient?
        run.step("XA-6", "A creates user analyst with a policy for its own data and Clean Rooms ML reads", expected: "analyst can call, and is denied what the policy leaves out") {
            _ = try adminA.call("iam.CreateUser", ["UserName": "analyst", "Tags": [["Key": "team", "Value": "ads"]]])
            _ = try adminA.call("iam.PutUserPolicy", ["UserName": "analyst", "PolicyName": "data-and-reads", "PolicyDocument": .string("""
                {"Version":"2012-10-17","Statement":[
                 {"Sid":"Reads","Effect":"Allow","Action":["cleanrooms-ml:Get*","cleanrooms-ml:List*","cloudtrail:LookupEvents"],"Resource":"*"},
                 {"Sid":"OwnData","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::demo-data","arn:aws:s3:::demo-data/*"]}]}
                """)])
            let key = try adminA.call("iam.CreateAccessKey", ["UserName": "analyst"])["AccessKey"]
            let c = try client(a, key: key?["AccessKeyId"]?.stringValue, secret: key?["SecretAccessKey"]?.stringValue)
            analyst = c
            let me = try c.call("sts.GetCallerIdentity")["Arn"]?.stringValue ?? ""
            let denied = errorType { _ = try c.call("iam.CreateUser", ["UserName": "mallory"]) }
            return Outcome(saw: "\(me); iam:CreateUser → \(denied ?? "allowed")", ok: me.hasSuffix(":user/analyst") && denied == "AccessDenied")
        }

        let sample = sampleData()
        run.step("ML-1", "analyst uploads interactions to A's own S3", expected: "the object reads back byte for byte") {
            guard let c = analyst else { return Outcome(saw: "no analyst", ok: false) }
            let data = sample.interactions
            _ = try adminA.call("s3.CreateBucket", ["Bucket": "demo-data"])
            _ = try c.call("s3.PutObject", ["Bucket": "demo-data", "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(data)), "ContentType": "text/csv"])
            let back = try c.call("s3.GetObject", ["Bucket": "demo-data", "Key": "interactions/part-0.csv"])
            let same = Base64.decode(back["Body"]?.stringValue ?? "") == data
            return Outcome(saw: "\(data.count) bytes written, \(same ? "identical" : "different") on read", ok: same)
        }

        var datasetARN = ""
        run.step("ML-1", "A describes the data in Glue and creates a training dataset on it", expected: "an ACTIVE training dataset under A's ARN") {
            _ = try adminA.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
            _ = try adminA.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": [
                "Name": "interactions", "Parameters": ["classification": "csv"],
                "StorageDescriptor": ["Location": "s3://demo-data/interactions/", "Columns": [
                    ["Name": "user_id", "Type": "string"], ["Name": "item_id", "Type": "string"], ["Name": "timestamp", "Type": "bigint"]]]]])
            _ = try adminA.call("iam.CreateRole", ["RoleName": "cleanrooms-ml-access", "AssumeRolePolicyDocument":
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#])
            let created = try adminA.call("cleanroomsml.CreateTrainingDataset", [
                "name": "demo-interactions", "roleArn": .string("arn:aws:iam::\(a.id):role/cleanrooms-ml-access"),
                "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                    "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]],
                               ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                    "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]],
                "tags": ["team": "ads"],
            ])
            datasetARN = created["trainingDatasetArn"]?.stringValue ?? ""
            let got = try analyst?.call("cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": .string(datasetARN)])
            return Outcome(saw: "\(datasetARN) \(got?["status"]?.stringValue ?? "?")",
                           ok: datasetARN.contains(":\(a.id):training-dataset/") && got?["status"] == "ACTIVE")
        }

        run.step("TG-3", "A tags its dataset; the tags are on A's resource only", expected: "tags {env=demo, team=ads}") {
            _ = try adminA.call("cleanroomsml.TagResource", ["resourceArn": .string(datasetARN), "tags": ["env": "demo"]])
            let tags = try adminA.call("cleanroomsml.ListTagsForResource", ["resourceArn": .string(datasetARN)])["tags"]
            return Outcome(saw: "tags \(tags.map { JSONWriter.string($0) } ?? "none")", ok: tags == ["env": "demo", "team": "ads"])
        }

        run.step("XA-7", "B asks for A's training dataset through A's ARN", expected: "AccessDeniedException (only Start crosses accounts)") {
            let t = errorType { _ = try adminB.call("cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": .string(datasetARN)]) }
            let tag = errorType { _ = try adminB.call("cleanroomsml.TagResource", ["resourceArn": .string(datasetARN), "tags": ["x": "y"]]) }
            return Outcome(saw: "Get → \(t ?? "allowed"), TagResource → \(tag ?? "allowed")", ok: t == "AccessDeniedException" && tag == "AccessDeniedException")
        }

        run.step("XA-10", "audit: A's trail has its calls; B's trail has only B's", expected: "CreateTrainingDataset in A's trail, none in B's") {
            let inA = try adminA.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "CreateTrainingDataset"]]])["Events"]?.arrayValue ?? []
            let inB = try adminB.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "CreateTrainingDataset"]]])["Events"]?.arrayValue ?? []
            let bDenied = try adminB.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "GetTrainingDataset"]]])["Events"]?.arrayValue ?? []
            let errorCode = bDenied.first.flatMap { try? JSONParser.parse($0["CloudTrailEvent"]?.stringValue ?? "") }?["errorCode"]?.stringValue
            return Outcome(saw: "A: \(inA.count) CreateTrainingDataset event(s); B: \(inB.count); B's denied Get recorded in B's trail with \(errorCode ?? "no error")",
                           ok: inA.count == 1 && inB.isEmpty && errorCode == "AccessDeniedException")
        }

        // The lookalike data plane, within account A.
        var modelArn = "", camArn = "", jobArn = ""
        run.step("ML-1", "A trains a lookalike model on its training dataset", expected: "CREATE_PENDING, then ACTIVE") {
            let created = try adminA.call("cleanroomsml.CreateAudienceModel", ["name": "demo-model", "trainingDatasetArn": .string(datasetARN)])
            modelArn = created["audienceModelArn"]?.stringValue ?? ""
            let first = try adminA.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(modelArn)])["status"]?.stringValue ?? "?"
            let done = try poll(adminA, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(modelArn)])
            return Outcome(saw: "\(first), then \(done["status"]?.stringValue ?? "?") (\(done["statusDetails"]?["message"]?.stringValue ?? ""))",
                           ok: done["status"] == "ACTIVE")
        }
        run.step("ML-1 TG-1", "A configures the model (sizes 100 and 300, tags passed to jobs) and starts a job on a seed from one planted group",
                 expected: "the job ends ACTIVE with the CAM's tags and the request's, relevance per size and a recall") {
            _ = try adminA.call("s3.CreateBucket", ["Bucket": "demo-audiences"])
            camArn = try adminA.call("cleanroomsml.CreateConfiguredAudienceModel", [
                "name": "demo-cam", "audienceModelArn": .string(modelArn), "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
                "outputConfig": ["roleArn": .string("arn:aws:iam::\(a.id):role/cleanrooms-ml-access"), "destination": ["s3Destination": ["s3Uri": "s3://demo-audiences/exports"]]],
                "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [100, 300]],
                "childResourceTagOnCreatePolicy": "FROM_PARENT_RESOURCE", "tags": ["team": "ads"],
            ])["configuredAudienceModelArn"]?.stringValue ?? ""
            _ = try adminA.call("s3.PutObject", ["Bucket": "demo-data", "Key": "seeds/seed.csv", "Body": .string(Base64.encode(sample.seed))])
            jobArn = try adminA.call("cleanroomsml.StartAudienceGenerationJob", [
                "name": "demo-job", "configuredAudienceModelArn": .string(camArn), "tags": ["owner": "analyst"],
                "seedAudience": ["dataSource": ["s3Uri": "s3://demo-data/seeds/seed.csv"], "roleArn": .string("arn:aws:iam::\(a.id):role/cleanrooms-ml-access")],
            ])["audienceGenerationJobArn"]?.stringValue ?? ""
            let job = try poll(adminA, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(jobArn)])
            let relevance = (job["metrics"]?["relevanceMetrics"]?.arrayValue ?? []).map {
                "\($0["audienceSize"]?["value"]?.intValue ?? 0): \(String(format: "%.2f", $0["score"]?.numberValue ?? 0))"
            }
            return Outcome(saw: "\(job["status"]?.stringValue ?? "?"); tags \(JSONWriter.string(job["tags"] ?? [:])); relevance \(relevance.joined(separator: ", ")); recall \(String(format: "%.2f", job["metrics"]?["recallMetric"]?.numberValue ?? 0))",
                           ok: job["status"] == "ACTIVE" && job["tags"] == ["team": "ads", "owner": "analyst"] && relevance.count == 2)
        }
        run.step("ML-2 ML-3", "A exports the top 100 to the configured output location", expected: "100 users in S3, most of them from the seed's planted group") {
            _ = try adminA.call("cleanroomsml.StartAudienceExportJob", ["name": "top100", "audienceGenerationJobArn": .string(jobArn), "audienceSize": ["type": "ABSOLUTE", "value": 100]])
            let list = try poll(adminA, "cleanroomsml.ListAudienceExportJobs", ["audienceGenerationJobArn": .string(jobArn)], path: "audienceExportJobs[0].status")
            let location = list["audienceExportJobs"]?[0]?["outputLocation"]?.stringValue ?? ""
            let key = String(location.dropFirst("s3://demo-audiences/".count))
            let body = try adminA.call("s3.GetObject", ["Bucket": "demo-audiences", "Key": .string(key)])["Body"]?.stringValue ?? ""
            let users = String(decoding: Base64.decode(body) ?? [], as: UTF8.self).split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
            let inGroup = users.filter { Int($0.dropFirst()).map { sample.groupOf[$0] == 0 } ?? false }.count
            return Outcome(saw: "\(location): \(users.count) users, \(inGroup) of them in the seed's group (a random 100 would hold about \(100 / 8))",
                           ok: users.count == 100 && inGroup >= 80)
        }
    }
}
