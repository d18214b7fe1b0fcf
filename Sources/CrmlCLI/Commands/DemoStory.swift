import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Lookalike
import Wire

/// The steps of `crml demo`: the seed's story, told by three real account nodes. B (the model
/// owner) has the interaction data and trains the model; A (the submitter) has the seed audience.
extension DemoCommand {
    static let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    static func waitUntil(_ timeout: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)  // polling, with the deadline above
        }
        return try condition()
    }

    static func story(_ run: Run, cluster: ClusterFile, dir: ClusterDirectory) throws {
        let (a, b) = (cluster.accounts[0], cluster.accounts[1])
        let (idA, idB) = (a.id.rawValue, b.id.rawValue)
        let adminA = try client(a)
        var adminB = try client(b)
        let sample = sampleData()
        func job(_ c: RPCClient, _ arn: String) throws -> JSON { try c.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)]) }
        func jobCount(_ c: RPCClient) throws -> Int { try c.call("admin.Status")["audienceGenerationJobs"]?.intValue ?? -1 }

        run.step("SIM-1", "three accounts, one node process each", expected: "3 nodes answering with their own account id") {
            let seen = try cluster.accounts.map { acct -> String in try client(acct).call("sts.GetCallerIdentity")["Account"]?.stringValue ?? "?" }
            return Outcome(saw: "\(seen.count) nodes: \(seen.joined(separator: ", "))", ok: seen == cluster.accounts.map(\.id.rawValue))
        }

        // B, the model owner: data in its S3 and Glue, a training dataset, a model.
        var datasetArn = ""
        run.step("ML-1", "B loads the sample interactions into its S3 and Glue and creates a training dataset", expected: "an ACTIVE training dataset under B's ARN") {
            _ = try adminB.call("s3.CreateBucket", ["Bucket": "demo-data"])
            _ = try adminB.call("s3.PutObject", ["Bucket": "demo-data", "Key": "interactions/part-0.csv", "Body": .string(Base64.encode(sample.interactions)), "ContentType": "text/csv"])
            _ = try adminB.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
            _ = try adminB.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": [
                "Name": "interactions", "StorageDescriptor": ["Location": "s3://demo-data/interactions/", "Columns": [
                    ["Name": "user_id", "Type": "string"], ["Name": "item_id", "Type": "string"], ["Name": "timestamp", "Type": "bigint"]]]]])
            _ = try adminB.call("iam.CreateRole", ["RoleName": "cleanrooms-ml-access", "AssumeRolePolicyDocument": .string(trust)])
            datasetArn = try adminB.call("cleanroomsml.CreateTrainingDataset", [
                "name": "demo-interactions", "roleArn": .string("arn:aws:iam::\(idB):role/cleanrooms-ml-access"), "tags": ["team": "models"],
                "trainingData": [["type": "INTERACTIONS", "inputConfig": [
                    "schema": [["columnName": "user_id", "columnTypes": ["USER_ID"]], ["columnName": "item_id", "columnTypes": ["ITEM_ID"]],
                               ["columnName": "timestamp", "columnTypes": ["TIMESTAMP"]]],
                    "dataSource": ["glueDataSource": ["databaseName": "ads", "tableName": "interactions"]]]]],
            ])["trainingDatasetArn"]?.stringValue ?? ""
            let got = try adminB.call("cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": .string(datasetArn)])
            return Outcome(saw: "\(datasetArn) \(got["status"]?.stringValue ?? "?")", ok: datasetArn.contains(":\(idB):training-dataset/") && got["status"] == "ACTIVE")
        }

        run.step("XA-7", "A asks for B's training dataset through B's ARN", expected: "AccessDeniedException (only Start crosses accounts)") {
            let get = errorType { _ = try adminA.call("cleanroomsml.GetTrainingDataset", ["trainingDatasetArn": .string(datasetArn)]) }
            let tag = errorType { _ = try adminA.call("cleanroomsml.TagResource", ["resourceArn": .string(datasetArn), "tags": ["x": "y"]]) }
            return Outcome(saw: "Get → \(get ?? "allowed"), TagResource → \(tag ?? "allowed")", ok: get == "AccessDeniedException" && tag == "AccessDeniedException")
        }

        var modelArn = ""
        run.step("ML-1", "B trains a lookalike model on its training dataset", expected: "CREATE_PENDING, then ACTIVE") {
            modelArn = try adminB.call("cleanroomsml.CreateAudienceModel", ["name": "demo-model", "trainingDatasetArn": .string(datasetArn)])["audienceModelArn"]?.stringValue ?? ""
            let first = try adminB.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(modelArn)])["status"]?.stringValue ?? "?"
            let done = try poll(adminB, "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(modelArn)])
            return Outcome(saw: "\(first), then \(done["status"]?.stringValue ?? "?") (\(done["statusDetails"]?["message"]?.stringValue ?? ""))", ok: done["status"] == "ACTIVE")
        }

        var camArn = ""
        run.step("XA-6", "B configures the model for others (sizes 100 and 300, metrics shared, tags passed to jobs) and attaches the seed's resource policy for A",
                 expected: "a CAM whose policy names A, the CAM and B's job ARNs") {
            _ = try adminB.call("s3.CreateBucket", ["Bucket": "demo-audiences"])
            camArn = try adminB.call("cleanroomsml.CreateConfiguredAudienceModel", [
                "name": "demo-cam", "audienceModelArn": .string(modelArn), "sharedAudienceMetrics": ["ALL"], "minMatchingSeedSize": 25,
                "outputConfig": ["roleArn": .string("arn:aws:iam::\(idB):role/cleanrooms-ml-access"), "destination": ["s3Destination": ["s3Uri": "s3://demo-audiences/exports"]]],
                "audienceSizeConfig": ["audienceSizeType": "ABSOLUTE", "audienceSizeBins": [100, 300]],
                "childResourceTagOnCreatePolicy": "FROM_PARENT_RESOURCE", "tags": ["team": "models"],
            ])["configuredAudienceModelArn"]?.stringValue ?? ""
            let policy = """
                {"Version": "2012-10-17", "Statement": [{"Sid": "Clean-Rooms-\(idA)", "Effect": "Allow", "Principal": {"AWS": ["\(idA)"]},
                 "Action": ["cleanrooms-ml:StartAudienceGenerationJob"],
                 "Resource": ["\(camArn)", "arn:aws:cleanrooms-ml:\(cluster.region):\(idB):audience-generation-job/*"]}]}
                """
            let put = try adminB.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(camArn), "configuredAudienceModelPolicy": .string(policy)])
            return Outcome(saw: "\(camArn), policy hash \(put["policyHash"]?.stringValue?.prefix(12) ?? "?")…", ok: camArn.contains(":\(idB):configured-audience-model/") && put["policyHash"] != nil)
        }

        // A, the submitter: an analyst who may start jobs on A's job ARNs and pass A's role.
        var analyst: RPCClient?
        run.step("XA-6", "A creates user analyst allowed to start, export and delete jobs on A's job ARNs, to pass A's role, and to read", expected: "analyst signs in and is denied what the policy leaves out") {
            _ = try adminA.call("iam.CreateRole", ["RoleName": "seed-reader", "AssumeRolePolicyDocument": .string(trust)])
            _ = try adminA.call("iam.CreateUser", ["UserName": "analyst", "Tags": [["Key": "team", "Value": "ads"]]])
            _ = try adminA.call("iam.PutUserPolicy", ["UserName": "analyst", "PolicyName": "start-jobs", "PolicyDocument": .string("""
                {"Version":"2012-10-17","Statement":[
                 {"Effect":"Allow","Action":["cleanrooms-ml:StartAudienceGenerationJob","cleanrooms-ml:TagResource","cleanrooms-ml:StartAudienceExportJob","cleanrooms-ml:DeleteAudienceGenerationJob"],
                  "Resource":"arn:aws:cleanrooms-ml:\(cluster.region):\(idA):audience-generation-job/*"},
                 {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::\(idA):role/seed-reader","Condition":{"StringEquals":{"iam:PassedToService":"cleanrooms-ml.amazonaws.com"}}},
                 {"Effect":"Allow","Action":["cleanrooms-ml:Get*","cleanrooms-ml:List*","cloudtrail:LookupEvents","s3:PutObject"],"Resource":"*"}]}
                """)])
            let key = try adminA.call("iam.CreateAccessKey", ["UserName": "analyst"])["AccessKey"]
            let c = try client(a, key: key?["AccessKeyId"]?.stringValue, secret: key?["SecretAccessKey"]?.stringValue)
            analyst = c
            let me = try c.call("sts.GetCallerIdentity")["Arn"]?.stringValue ?? ""
            let denied = errorType { _ = try c.call("iam.CreateUser", ["UserName": "mallory"]) }
            return Outcome(saw: "\(me); iam:CreateUser → \(denied ?? "allowed")", ok: me.hasSuffix(":user/analyst") && denied == "AccessDenied")
        }
        guard let analyst else { return }

        var arnA = "", arnB = ""
        let startParams: (String) -> JSON = { name in
            ["name": .string(name), "configuredAudienceModelArn": .string(camArn), "tags": ["campaign": "spring"],
             "seedAudience": ["dataSource": ["s3Uri": "s3://demo-seeds/seed.csv"], "roleArn": .string("arn:aws:iam::\(idA):role/seed-reader")]]
        }
        run.step("XA-1", "the analyst puts a seed of 120 users in A's S3 and starts a job on B's CAM", expected: "an ARN in A's account") {
            _ = try adminA.call("s3.CreateBucket", ["Bucket": "demo-seeds"])
            _ = try analyst.call("s3.PutObject", ["Bucket": "demo-seeds", "Key": "seed.csv", "Body": .string(Base64.encode(sample.seed))])
            arnA = try analyst.call("cleanroomsml.StartAudienceGenerationJob", startParams("spring-lookalikes"))["audienceGenerationJobArn"]?.stringValue ?? ""
            arnB = arnA.replacingOccurrences(of: ":\(idA):", with: ":\(idB):")
            return Outcome(saw: arnA, ok: arnA.contains(":\(idA):audience-generation-job/"))
        }

        run.step("XA-1 XA-2 XA-3", "both accounts see the job under their own ARN, with the same id; it runs once, on B, and both copies reach ACTIVE",
                 expected: "A lists A's ARN, B lists B's ARN; both ACTIVE") {
            let jb = try poll(adminB, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnB)])
            let ja = try poll(analyst, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            let listA = try analyst.call("cleanroomsml.ListAudienceGenerationJobs")["audienceGenerationJobs"]?.arrayValue?.compactMap { $0["audienceGenerationJobArn"]?.stringValue } ?? []
            let listB = try adminB.call("cleanroomsml.ListAudienceGenerationJobs")["audienceGenerationJobs"]?.arrayValue?.compactMap { $0["audienceGenerationJobArn"]?.stringValue } ?? []
            return Outcome(saw: "A lists \(listA), \(ja["status"]?.stringValue ?? "?"); B lists \(listB), \(jb["status"]?.stringValue ?? "?")",
                           ok: listA == [arnA] && listB == [arnB] && ja["status"] == "ACTIVE" && jb["status"] == "ACTIVE")
        }

        run.step("XA-5 PV-1 PV-3", "what each side sees: B's copy is named A-NAME and hides the seed; A sees no location of B's, and the metrics B shares",
                 expected: "B: \(idA)-spring-lookalikes, no seedAudience; A: its own seed only, metrics present; startedBy \(idA) on both") {
            let ja = try job(analyst, arnA), jb = try job(adminB, arnB)
            let textA = JSONWriter.string(ja)
            let ok = jb["name"]?.stringValue == "\(idA)-spring-lookalikes" && jb["seedAudience"] == nil && !JSONWriter.string(jb).contains("demo-seeds")
                && !textA.contains("demo-data") && !textA.contains("demo-audiences") && ja["metrics"] != nil
                && ja["startedBy"]?.stringValue == idA && jb["startedBy"]?.stringValue == idA
            let recall = ja["metrics"]?["recallMetric"]?.numberValue ?? 0
            return Outcome(saw: "B: \(jb["name"]?.stringValue ?? "?"), seedAudience \(jb["seedAudience"] == nil ? "absent" : "present"); A: seed \(ja["seedAudience"]?["dataSource"]?["s3Uri"]?.stringValue ?? "?"), recall \(String(format: "%.2f", recall))",
                           ok: ok)
        }

        run.step("XA-4", "each account calls Get, Delete and Export through the other account's ARN", expected: "AccessDeniedException every time, the same as for a job that does not exist") {
            let missingB = String(arnB.dropLast(12)) + "000000000000"
            var seen: [String] = []
            for (c, arn) in [(adminA, arnB), (adminA, missingB), (adminB, arnA), (adminB, missingB.replacingOccurrences(of: ":\(idB):", with: ":\(idA):"))] {
                for (method, params) in [("cleanroomsml.GetAudienceGenerationJob", JSON.object(["audienceGenerationJobArn": .string(arn)])),
                                         ("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)]),
                                         ("cleanroomsml.StartAudienceExportJob", ["audienceGenerationJobArn": .string(arn), "name": "x", "audienceSize": ["type": "ABSOLUTE", "value": 100]])] {
                    seen.append(errorType { _ = try c.call(method, params) } ?? "allowed")
                }
            }
            return Outcome(saw: "\(seen.count) calls: \(Set(seen).sorted().joined(separator: ", "))", ok: seen.allSatisfy { $0 == "AccessDeniedException" })
        }

        run.step("TG-2 TG-3", "tags: A's copy has the request's tags, B's the CAM's; retagging A's copy leaves B's alone", expected: "A {campaign, stage}; B {team}") {
            _ = try analyst.call("cleanroomsml.TagResource", ["resourceArn": .string(arnA), "tags": ["stage": "review"]])
            let ta = try analyst.call("cleanroomsml.ListTagsForResource", ["resourceArn": .string(arnA)])["tags"] ?? [:]
            let tb = try adminB.call("cleanroomsml.ListTagsForResource", ["resourceArn": .string(arnB)])["tags"] ?? [:]
            return Outcome(saw: "A \(JSONWriter.string(ta)); B \(JSONWriter.string(tb))", ok: ta == ["campaign": "spring", "stage": "review"] && tb == ["team": "models"])
        }

        run.step("XA-10", "audit: the start is in A's trail only", expected: "1 StartAudienceGenerationJob event in A (by analyst), 0 in B") {
            func starts(_ c: RPCClient) throws -> [JSON] {
                try c.call("cloudtrail.LookupEvents", ["LookupAttributes": [["AttributeKey": "EventName", "AttributeValue": "StartAudienceGenerationJob"]]])["Events"]?.arrayValue ?? []
            }
            let inA = try starts(analyst), inB = try starts(adminB)
            return Outcome(saw: "A: \(inA.count) by \(inA.first?["Username"]?.stringValue ?? "-"); B: \(inB.count)", ok: inA.count == 1 && inA.first?["Username"] == "analyst" && inB.isEmpty)
        }

        run.step("ML-3 PV-1", "A exports the top 100 through its own ARN; the export runs on B, where the audience is", expected: "ACTIVE in A's list without a location; the users in B's output location, most of them from the seed's planted group") {
            _ = try analyst.call("cleanroomsml.StartAudienceExportJob", ["name": "top100", "audienceGenerationJobArn": .string(arnA), "audienceSize": ["type": "ABSOLUTE", "value": 100]])
            let list = try poll(analyst, "cleanroomsml.ListAudienceExportJobs", ["audienceGenerationJobArn": .string(arnA)], path: "audienceExportJobs[0].status")
            let exportA = list["audienceExportJobs"]?[0] ?? .null
            var keys: [String] = []
            _ = try waitUntil { keys = try adminB.call("s3.ListObjectsV2", ["Bucket": "demo-audiences"])["Contents"]?.arrayValue?.compactMap { $0["Key"]?.stringValue } ?? []; return !keys.isEmpty }
            let body = try keys.first.map { try adminB.call("s3.GetObject", ["Bucket": "demo-audiences", "Key": .string($0)])["Body"]?.stringValue ?? "" } ?? ""
            let users = String(decoding: Base64.decode(body) ?? [], as: UTF8.self).split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
            let inGroup = users.filter { Int($0.dropFirst()).map { sample.groupOf[$0] == 0 } ?? false }.count
            return Outcome(saw: "A: \(exportA["status"]?.stringValue ?? "?"), outputLocation \(exportA["outputLocation"]?.stringValue ?? "absent"); B: \(keys.first ?? "no object") with \(users.count) users, \(inGroup) in the seed's group (a random 100 would hold about \(100 / 8))",
                           ok: exportA["status"] == "ACTIVE" && exportA["outputLocation"] == nil && users.count == 100 && inGroup >= 80)
        }

        var arn2 = ""
        run.step("XA-1", "the analyst starts a second job (for the last step)", expected: "ACTIVE in both accounts") {
            arn2 = try analyst.call("cleanroomsml.StartAudienceGenerationJob", startParams("summer-lookalikes"))["audienceGenerationJobArn"]?.stringValue ?? ""
            let ja = try poll(analyst, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn2)])
            let countB = try jobCount(adminB)
            return Outcome(saw: "\(arn2) \(ja["status"]?.stringValue ?? "?"); B holds \(countB) jobs", ok: ja["status"] == "ACTIVE" && countB == 2)
        }

        run.step("CO-4 CO-1 CO-3 PV-2", "C creates a collaboration of A and B with query logging; B joins and offers its CAM with a managed policy; the analyst starts a job in it whose seed is an SQL query over A's own table",
                 expected: "refused (CO-1) until A joins; then B's copy names the collaboration and shows the query, never A's table; the job is then deleted") {
            let adminC = try client(cluster.accounts[2])
            let collaboration = try adminC.call("cleanrooms.CreateCollaboration", [
                "name": "spring-campaign", "description": "A's seeds on B's model", "creatorDisplayName": "C", "creatorMemberAbilities": ["CAN_QUERY"],
                "members": [["accountId": .string(idA), "displayName": "A", "memberAbilities": ["CAN_RECEIVE_RESULTS"]],
                            ["accountId": .string(idB), "displayName": "B", "memberAbilities": ["CAN_RECEIVE_RESULTS"]]],
                "queryLogStatus": "ENABLED"])["collaboration"]?["id"] ?? .null
            let invited = waitUntil {
                [adminA, adminB].allSatisfy { c in (try? c.call("cleanrooms.GetCollaboration", ["collaborationIdentifier": collaboration]))?["collaboration"]?["memberStatus"] == "INVITED" }
            }
            let membershipB = try adminB.call("cleanrooms.CreateMembership", ["collaborationIdentifier": collaboration, "queryLogStatus": "ENABLED"])["membership"]?["id"] ?? .null
            _ = try adminB.call("cleanrooms.CreateConfiguredAudienceModelAssociation", [
                "membershipIdentifier": membershipB, "configuredAudienceModelArn": .string(camArn),
                "configuredAudienceModelAssociationName": "demo-cam", "manageResourcePolicies": true])
            let statements = try adminB.call("cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(camArn)])["configuredAudienceModelPolicy"]?.stringValue
                .flatMap { try? JSONParser.parse($0)["Statement"]?.arrayValue?.count } ?? 0
            // A's own table of customers: the seed's users in the US, others elsewhere.
            var csv = "user_id,country\n"
            for (k, u) in String(decoding: sample.seed, as: UTF8.self).split(separator: "\n").dropFirst().enumerated() { csv += "\(u),US\nprospect-\(k),FR\n" }
            _ = try adminA.call("s3.CreateBucket", ["Bucket": "demo-crm"])
            _ = try adminA.call("s3.PutObject", ["Bucket": "demo-crm", "Key": "customers/part-0.csv", "Body": .string(Base64.encode(Array(csv.utf8)))])
            _ = try adminA.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "crm"]])
            _ = try adminA.call("glue.CreateTable", ["DatabaseName": "crm", "TableInput": ["Name": "customers", "StorageDescriptor": [
                "Location": "s3://demo-crm/customers/", "Columns": [["Name": "user_id", "Type": "string"], ["Name": "country", "Type": "string"]]]]])
            let query = "SELECT DISTINCT user_id FROM crm.customers WHERE country = 'US'"
            let params: JSON = ["name": "collaboration-lookalikes", "configuredAudienceModelArn": .string(camArn), "collaborationId": collaboration,
                                "seedAudience": ["sqlParameters": ["queryString": .string(query)], "roleArn": .string("arn:aws:iam::\(idA):role/seed-reader")]]
            let refused = errorType { _ = try analyst.call("cleanroomsml.StartAudienceGenerationJob", params) }
            _ = try adminA.call("cleanrooms.CreateMembership", ["collaborationIdentifier": collaboration, "queryLogStatus": "ENABLED"])
            let arn = try analyst.call("cleanroomsml.StartAudienceGenerationJob", params)["audienceGenerationJobArn"]?.stringValue ?? ""
            let copyB = try poll(adminB, "cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn.replacingOccurrences(of: ":\(idA):", with: ":\(idB):"))])
            let shown = copyB["seedAudience"]?["sqlParameters"]?["queryString"]?.stringValue
            _ = try analyst.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
            let gone = try waitUntil { try jobCount(adminB) == 2 }
            return Outcome(saw: "invitations \(invited ? "arrived" : "missing"); CAM policy has \(statements) statements; before A joined → \(refused ?? "allowed"); B's copy \(copyB["status"]?.stringValue ?? "?") in \(copyB["collaborationId"]?.stringValue?.prefix(8) ?? "-")…, query shown: \(shown ?? "none"); deleted: \(gone ? "yes" : "no")",
                           ok: invited && statements == 2 && refused == "AccessDeniedException" && copyB["status"] == "ACTIVE" && shown == query
                               && !JSONWriter.string(copyB).contains("demo-crm") && gone)
        }

        run.step("XA-8 XA-9", "B denies everything (a Deny-all resource policy, identity policy and SCP), then A deletes the first job",
                 expected: "B's own admin is denied; A's delete succeeds and B's copy (with the seed it held), its audience and the export's output are gone") {
            let denyAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
            _ = try adminB.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(camArn),
                "configuredAudienceModelPolicy": #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#])
            _ = try adminB.call("iam.PutUserPolicy", ["UserName": "admin", "PolicyName": "deny-all", "PolicyDocument": .string(denyAll)])
            var file = try dir.load()
            file.organizations = [.init(id: "o-demo", managementAccount: cluster.accounts[2].id, members: [b.id], policies: [.init(name: "deny-all", document: denyAll)])]
            try dir.save(file)
            _ = try ClusterCommand.signal("restart", [idB, "--dir", dir.path])
            adminB = try client(b)
            let bDenied = errorType { _ = try job(adminB, arnB) }
            let blobs = { ((try? FileManager.default.contentsOfDirectory(atPath: dir.dataDir(b.id) + "/blobs")) ?? []).count }
            let before = blobs()
            _ = try analyst.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            let gone = try waitUntil { try jobCount(adminB) == 1 }
            // The export's output object is a blob on B's disk (the small seed lives in the job's record).
            let freed = waitUntil { before - blobs() == 1 }
            // Files go once the delete is durable, on the node's storage thread: wait for it.
            let audiencePath = dir.dataDir(b.id) + "/audiences/\(arnB.split(separator: "/").last ?? "").csv"
            let audience = !waitUntil { !FileManager.default.fileExists(atPath: audiencePath) }
            return Outcome(saw: "B's admin reading its copy → \(bDenied ?? "allowed"); after A's delete B holds \(try jobCount(adminB)) job(s), \(before - blobs()) blob fewer (the export output), audience file \(audience ? "still there" : "gone")",
                           ok: bDenied == "AccessDeniedException" && gone && freed && !audience)
        }

        run.step("XA-8", "B's node is killed; A deletes the second job; B restarts", expected: "A's delete is answered at once; B's copy is gone once B is back") {
            _ = try ClusterCommand.signal("kill", [idB, "--dir", dir.path])
            let t0 = Date()
            _ = try analyst.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn2)])
            let answered = Date().timeIntervalSince(t0)
            let waiting = try adminA.call("admin.Status")["outbox"]?.intValue ?? -1
            _ = try ClusterCommand.signal("restart", [idB, "--dir", dir.path])
            adminB = try client(b)
            let gone = try waitUntil { try jobCount(adminB) == 0 }
            let drained = try waitUntil { try adminA.call("admin.Status")["outbox"] == 0 }
            return Outcome(saw: String(format: "answered in %.0f ms with B down; %d delete waiting in A's outbox; after B's restart B holds %d job(s), A's outbox %@",
                                       answered * 1000, waiting, try jobCount(adminB), drained ? "empty" : "not empty"),
                           ok: waiting == 1 && gone && drained)
        }
    }
}
