import JSON
import Testing
import TestSupport

/// `crml policy simulate` as a user runs it: JSON in, JSON out, aws-cli exit codes.
@Suite struct PolicySimulateCommandTests {
    static let seedResourcePolicy = """
        { "Version": "2012-10-17", "Statement": [ { "Sid": "Clean-Rooms-<CAMA ID>", "Effect": "Allow", "Principal": { "AWS": [ "111111111111" ] }, "Action": [ "cleanrooms-ml:StartAudienceGenerationJob" ], "Resource": [ "arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id", "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/*" ], "Condition":{"StringEquals":{"cleanrooms-ml:CollaborationId":"f3b7c2a4-1234-4cde-8f00-0123456789ab"}} } ] }
        """

    func request(collaboration: String?) -> String {
        var r: JSON = [
            "CallerArn": "arn:aws:iam::111111111111:user/analyst",
            "PolicyInputList": [.string(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cleanrooms-ml:StartAudienceGenerationJob","Resource":"*"}]}"#)],
            "ResourcePolicy": .string(Self.seedResourcePolicy),
            "ResourceOwner": "arn:aws:iam::222222222222:root",
            "ActionNames": ["cleanrooms-ml:StartAudienceGenerationJob"],
            "ResourceArns": [
                "arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id",
                "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/j1",
                "arn:aws:cleanrooms-ml:us-west-1:222222222222:training-dataset/t1",
            ],
        ]
        if let collaboration {
            r["ContextEntries"] = [["ContextKeyName": "cleanrooms-ml:CollaborationId", "ContextKeyType": "string", "ContextKeyValues": [.string(collaboration)]]]
        }
        return JSONWriter.string(r)
    }

    @Test("XA-6 CO-2: the seed's policy through crml policy simulate, with and without the collaboration id")
    func seedPolicyThroughTheCommand() async throws {
        let with = try await crml(["policy", "simulate"], stdin: request(collaboration: "f3b7c2a4-1234-4cde-8f00-0123456789ab"))
        #expect(with.exitCode == 0, "\(with.stderrText)")
        let results = try JSONParser.parse(with.stdoutText)["EvaluationResults"]?.arrayValue ?? []
        #expect(results.map { $0["EvalDecision"]?.stringValue } == ["allowed", "allowed", "implicitDeny"])
        #expect(results[0]["EvalDecisionDetails"] == ["IAM Policy": "allowed", "Resource Policy": "allowed"])

        let without = try await crml(["policy", "simulate"], stdin: request(collaboration: nil))
        let denied = try JSONParser.parse(without.stdoutText)["EvaluationResults"]?.arrayValue ?? []
        #expect(denied.map { $0["EvalDecision"]?.stringValue } == ["implicitDeny", "implicitDeny", "implicitDeny"])
        #expect(denied[0]["MissingContextValues"] == ["cleanrooms-ml:CollaborationId"])
    }

    @Test func readsTheRequestFromAFile() async throws {
        let path = FileManagerTemp.write(request(collaboration: nil))
        let r = try await crml(["policy", "simulate", "--input", path])
        #expect(r.exitCode == 0)
        #expect(r.stdoutText.contains("\"EvaluationResults\""))
    }

    @Test func malformedPolicyIsAServiceErrorWithExit254() async throws {
        let r = try await crml(["policy", "simulate"], stdin: #"{"PolicyInputList":["{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\"}}"],"ActionNames":["s3:GetObject"]}"#)
        #expect(r.exitCode == 254)
        #expect(r.stderrText.hasPrefix("An error occurred (MalformedPolicyDocument) when calling the SimulateCustomPolicy operation: PolicyInputList.1: Policy statement must contain resources."))
        #expect(r.stdoutText.isEmpty)
    }

    @Test func invalidJSONIsAUsageErrorWithExit252() async throws {
        let r = try await crml(["policy", "simulate"], stdin: "{not json")
        #expect(r.exitCode == 252)
        #expect(r.stderrText.contains("Invalid JSON: line 1, column 2"))
    }

    @Test func missingRequiredMemberIsInvalidInput() async throws {
        let r = try await crml(["policy", "simulate"], stdin: #"{"PolicyInputList":[]}"#)
        #expect(r.exitCode == 254)
        #expect(r.stderrText.contains("(InvalidInput)"))
        #expect(r.stderrText.contains("ActionNames is required"))
    }

    @Test func unknownOptionIsAUsageError() async throws {
        let r = try await crml(["policy", "simulate", "--inptu", "x"])
        #expect(r.exitCode == 252)
        #expect(r.stderrText.contains("unknown option --inptu"))
    }

    @Test func helpPrintsUsage() async throws {
        let r = try await crml(["policy", "simulate", "--help"])
        #expect(r.exitCode == 0)
        #expect(r.stdoutText.contains("usage: crml policy simulate"))
    }
}
