import AccountNode
import CleanRoomsModel
import Digest
import JSON
import Testing

/// Configured audience models and their policies, driven through the core (work results are
/// fed in by hand: the runtime's tests run real training).
@Suite struct ConfiguredAudienceModelTests {
    /// An account with an ACTIVE audience model; returns the harness and the model's ARN.
    func withActiveModel() throws -> (CoreHarness, String) {
        let h = CoreHarness()
        try h.call("s3.CreateBucket", ["Bucket": "data"])
        try h.call("s3.PutObject", ["Bucket": "data", "Key": "i/part.csv", "Body": .string(Base64.encode(Array("user_id,item_id,timestamp\nu1,i1,1\n".utf8)))])
        try h.call("glue.CreateDatabase", ["DatabaseInput": ["Name": "ads"]])
        try h.call("glue.CreateTable", ["DatabaseName": "ads", "TableInput": ["Name": "interactions", "StorageDescriptor": ["Location": "s3://data/i/"]]])
        try h.call("iam.CreateRole", ["RoleName": "crml", "AssumeRolePolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#])
        let ds = try h.call("cleanroomsml.CreateTrainingDataset", ["name": "ds", "roleArn": "arn:aws:iam::111111111111:role/crml", "trainingData": DataPlaneOperationTests.trainingData])["trainingDatasetArn"]!.stringValue!
        let model = try h.call("cleanroomsml.CreateAudienceModel", ["name": "m", "trainingDatasetArn": .string(ds)])["audienceModelArn"]!.stringValue!
        #expect(h.work.count == 1)
        #expect(try h.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])["status"] == "CREATE_PENDING")
        h.perform(h.core.workStarted(model, now: h.now))
        #expect(try h.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])["status"] == "CREATE_IN_PROGRESS")
        h.perform(h.core.workFinished(.modelTrained(modelArn: model, .success(.init(users: 1, interactions: 1))), now: h.now))
        #expect(try h.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])["status"] == "ACTIVE")
        return (h, model)
    }

    func cam(_ h: CoreHarness, _ model: String, name: String = "cam", extra: JSON = [:]) throws -> String {
        var params: JSON = ["name": .string(name), "audienceModelArn": .string(model), "sharedAudienceMetrics": ["NONE"],
                            "outputConfig": ["roleArn": "arn:aws:iam::111111111111:role/crml", "destination": ["s3Destination": ["s3Uri": "s3://data/out"]]]]
        for (k, v) in extra.objectValue ?? [:] { params[k] = v }
        return try h.call("cleanroomsml.CreateConfiguredAudienceModel", params)["configuredAudienceModelArn"]!.stringValue!
    }

    @Test func policyHashesAndConditionsAreEnforced() throws {
        let (h, model) = try withActiveModel()
        let arn = try cam(h, model)
        let p1 = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"cleanrooms-ml:StartAudienceGenerationJob","Resource":"*"}]}"#
        let put = try h.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn), "configuredAudienceModelPolicy": .string(p1), "policyExistenceCondition": "POLICY_MUST_NOT_EXIST"])
        #expect(put["policyHash"] == .string(Hex.encode(SHA256.hash(p1))))
        h.expectError("ValidationException", "cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn), "configuredAudienceModelPolicy": .string(p1), "policyExistenceCondition": "POLICY_MUST_NOT_EXIST"])
        h.expectError("ValidationException", "cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn), "configuredAudienceModelPolicy": .string(p1), "previousPolicyHash": .string(String(repeating: "0", count: 64))])
        let p2 = p1.replacingOccurrences("222222222222", with: "333333333333")
        try h.call("cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn), "configuredAudienceModelPolicy": .string(p2), "previousPolicyHash": put["policyHash"]!, "policyExistenceCondition": "POLICY_MUST_EXIST"])
        #expect(try h.call("cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn)])["configuredAudienceModelPolicy"] == .string(p2))
        let malformed = h.expectError("ValidationException", "cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn), "configuredAudienceModelPolicy": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#])
        #expect(malformed.contains("Missing required field Principal"))
        try h.call("cleanroomsml.DeleteConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn)])
        h.expectError("ResourceNotFoundException", "cleanroomsml.GetConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn)])
        h.expectError("ValidationException", "cleanroomsml.PutConfiguredAudienceModelPolicy", ["configuredAudienceModelArn": .string(arn), "configuredAudienceModelPolicy": .string(p1), "policyExistenceCondition": "POLICY_MUST_EXIST"])
    }

    @Test func modelsMustBeActiveAndInUseModelsCannotBeDeleted() throws {
        let (h, model) = try withActiveModel()
        let arn = try cam(h, model, extra: ["audienceSizeConfig": ["audienceSizeType": "PERCENTAGE", "audienceSizeBins": [10, 20]], "minMatchingSeedSize": 30])
        let got = try h.call("cleanroomsml.GetConfiguredAudienceModel", ["configuredAudienceModelArn": .string(arn)])
        #expect(got["minMatchingSeedSize"] == 30)
        #expect(got["status"] == "ACTIVE")
        h.expectError("ConflictException", "cleanroomsml.DeleteAudienceModel", ["audienceModelArn": .string(model)])
        h.expectError("ConflictException", "cleanroomsml.CreateConfiguredAudienceModel", ["name": "cam", "audienceModelArn": .string(model), "sharedAudienceMetrics": ["ALL"],
                                                                                        "outputConfig": ["roleArn": "arn:aws:iam::111111111111:role/crml", "destination": ["s3Destination": ["s3Uri": "s3://data/o"]]]])
        h.expectError("ValidationException", "cleanroomsml.CreateConfiguredAudienceModel", ["name": "cam3", "audienceModelArn": .string(model), "sharedAudienceMetrics": ["ALL"],
                                                                                          "audienceSizeConfig": ["audienceSizeType": "PERCENTAGE", "audienceSizeBins": [150]],
                                                                                          "outputConfig": ["roleArn": "arn:aws:iam::111111111111:role/crml", "destination": ["s3Destination": ["s3Uri": "s3://data/o"]]]])
        try h.call("cleanroomsml.UpdateConfiguredAudienceModel", ["configuredAudienceModelArn": .string(arn), "minMatchingSeedSize": 40])
        #expect(try h.call("cleanroomsml.GetConfiguredAudienceModel", ["configuredAudienceModelArn": .string(arn)])["minMatchingSeedSize"] == 40)
        try h.call("cleanroomsml.DeleteConfiguredAudienceModel", ["configuredAudienceModelArn": .string(arn)])
        try h.call("cleanroomsml.DeleteAudienceModel", ["audienceModelArn": .string(model)])
        #expect(try h.call("cleanroomsml.ListAudienceModels")["audienceModels"] == [])
    }

    @Test("XA-8: a model's delete shows DELETE_PENDING (no CAM can be made on it, a late training result cannot revive it), then the model is gone")
    func modelDeleteStates() throws {
        let (h, model) = try withActiveModel()
        h.holdDeletes = true
        try h.call("cleanroomsml.DeleteAudienceModel", ["audienceModelArn": .string(model)])
        #expect(try h.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])["status"] == "DELETE_PENDING")
        try h.call("cleanroomsml.DeleteAudienceModel", ["audienceModelArn": .string(model)])  // again: no error
        h.expectError("ValidationException", "cleanroomsml.CreateConfiguredAudienceModel", ["name": "late", "audienceModelArn": .string(model), "sharedAudienceMetrics": ["ALL"],
                                                                                          "outputConfig": ["roleArn": "arn:aws:iam::111111111111:role/crml", "destination": ["s3Destination": ["s3Uri": "s3://data/o"]]]])
        h.perform(h.core.workFinished(.modelTrained(modelArn: model, .success(.init(users: 1, interactions: 1))), now: h.now))
        #expect(try h.call("cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])["status"] == "DELETE_PENDING")
        h.holdDeletes = false
        h.fire { $0.finishesADelete }
        h.expectError("ResourceNotFoundException", "cleanroomsml.GetAudienceModel", ["audienceModelArn": .string(model)])
    }

    @Test("TG-1 with NONE a job has only the request's tags; the job keeps its generation plan")
    func jobTagsWithNone() throws {
        let (h, model) = try withActiveModel()
        let arn = try cam(h, model, extra: ["childResourceTagOnCreatePolicy": "NONE", "tags": ["team": "ads"]])
        try h.call("s3.PutObject", ["Bucket": "data", "Key": "seed.csv", "Body": .string(Base64.encode(Array("user_id\nu1\n".utf8)))])
        let job = try h.call("cleanroomsml.StartAudienceGenerationJob", ["name": "j", "configuredAudienceModelArn": .string(arn), "tags": ["owner": "me"],
                                                                          "seedAudience": ["dataSource": ["s3Uri": "s3://data/seed.csv"], "roleArn": "arn:aws:iam::111111111111:role/crml"]])
        let got = try h.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": job["audienceGenerationJobArn"]!])
        #expect(got["tags"] == ["owner": "me"])
        #expect(got["status"] == "CREATE_PENDING")
        #expect(h.work.count == 2)
        h.expectError("ConflictException", "cleanroomsml.StartAudienceGenerationJob", ["name": "j", "configuredAudienceModelArn": .string(arn),
                                                                                     "seedAudience": ["dataSource": ["s3Uri": "s3://data/seed.csv"], "roleArn": "arn:aws:iam::111111111111:role/crml"]])
        h.expectError("ValidationException", "cleanroomsml.StartAudienceGenerationJob", ["name": "k", "configuredAudienceModelArn": .string(arn),
                                                                                       "seedAudience": ["dataSource": ["s3Uri": "s3://data/none.csv"], "roleArn": "arn:aws:iam::111111111111:role/crml"]])
    }
}
