import AccessControl
import CleanRoomsModel
import Foundation
import JSON

/// The policy engine's throughput on the seed's cross-account start.
enum PolicyBenchmark {
    static let spec = CommandSpec(
        command: "crml bench policy",
        summary: "Decisions per second: the seed's resource policy plus a 20-statement identity policy, compiled once.",
        options: [("seconds", "how long to measure each variant (default 3)"),
                  ("iterations", "measure exactly N decisions per variant instead of a duration (for instruction counts)"),
                  ("variant", "decision (answer only), explain (with matched statements), or both (default)")])

    static let accountA = AccountID("111111111111")!
    static let accountB = AccountID("222222222222")!
    static let collaboration = "f3b7c2a4-1234-4cde-8f00-0123456789ab"

    static let seedPolicy = """
        { "Version": "2012-10-17", "Statement": [ { "Sid": "Clean-Rooms-<CAMA ID>", "Effect": "Allow", "Principal": { "AWS": [ "111111111111" ] }, "Action": [ "cleanrooms-ml:StartAudienceGenerationJob" ], "Resource": [ "arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id", "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/*" ], "Condition":{"StringEquals":{"cleanrooms-ml:CollaborationId":"\(collaboration)"}} } ] }
        """

    /// Twenty statements of the kind an account's data team would have.
    static var identityPolicy: String {
        let a = "arn:aws:cleanrooms-ml:us-west-1:111111111111"
        var statements: [JSON] = []
        func add(_ effect: String, _ actions: [String], _ resources: [String], _ condition: JSON? = nil) {
            var o: [String: JSON] = ["Effect": .string(effect), "Action": .array(actions.map { .string($0) }),
                                     "Resource": .array(resources.map { .string($0) }), "Sid": .string("S\(statements.count + 1)")]
            if let condition { o["Condition"] = condition }
            statements.append(.object(o))
        }
        add("Allow", ["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::seed-bucket/*"])
        add("Allow", ["s3:ListBucket"], ["arn:aws:s3:::seed-bucket"])
        add("Allow", ["glue:GetTable", "glue:GetTables", "glue:GetDatabase"], ["arn:aws:glue:us-west-1:111111111111:*"])
        add("Allow", ["cleanrooms-ml:Get*", "cleanrooms-ml:List*"], ["*"])
        add("Allow", ["cleanrooms-ml:CreateTrainingDataset"], ["*"], ["StringEquals": ["aws:RequestTag/team": "ads"]])
        add("Allow", ["cleanrooms-ml:DeleteTrainingDataset"], ["\(a):training-dataset/*"], ["StringEquals": ["aws:ResourceTag/team": "ads"]])
        add("Allow", ["cleanrooms-ml:CreateAudienceModel"], ["\(a):training-dataset/*"])
        add("Allow", ["cleanrooms-ml:DeleteAudienceModel"], ["\(a):audience-model/*"], ["StringEquals": ["aws:ResourceTag/team": "ads"]])
        add("Allow", ["cleanrooms-ml:CreateConfiguredAudienceModel", "cleanrooms-ml:UpdateConfiguredAudienceModel"], ["\(a):audience-model/*", "\(a):configured-audience-model/*"])
        add("Allow", ["cleanrooms-ml:PutConfiguredAudienceModelPolicy"], ["\(a):configured-audience-model/*"], ["Bool": ["aws:SecureTransport": "true"]])
        add("Allow", ["cleanrooms-ml:StartAudienceGenerationJob"], ["\(a):audience-generation-job/*"])
        add("Allow", ["cleanrooms-ml:StartAudienceGenerationJob"], ["arn:aws:cleanrooms-ml:us-west-1:*:configured-audience-model/*", "arn:aws:cleanrooms-ml:us-west-1:*:audience-generation-job/*"])
        add("Allow", ["cleanrooms-ml:StartAudienceExportJob"], ["\(a):audience-generation-job/*"])
        add("Allow", ["cleanrooms-ml:DeleteAudienceGenerationJob"], ["\(a):audience-generation-job/*"])
        add("Allow", ["cleanrooms-ml:TagResource", "cleanrooms-ml:UntagResource"], ["\(a):*"], ["ForAllValues:StringEquals": ["aws:TagKeys": ["team", "env", "owner"]]])
        add("Allow", ["iam:PassRole"], ["arn:aws:iam::111111111111:role/crml-*"], ["StringEquals": ["iam:PassedToService": "cleanrooms-ml.amazonaws.com"]])
        add("Allow", ["cloudtrail:LookupEvents"], ["*"])
        add("Deny", ["cleanrooms-ml:DeleteConfiguredAudienceModel"], ["*"], ["StringNotEquals": ["aws:PrincipalTag/role": "admin"]])
        add("Deny", ["iam:*"], ["*"], ["Bool": ["aws:MultiFactorAuthPresent": "false"]])
        add("Deny", ["*"], ["*"], ["StringNotEquals": ["aws:RequestedRegion": ["us-west-1", "us-east-1"]]])
        return JSONWriter.string(["Version": "2012-10-17", "Statement": .array(statements)])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let seconds = try parsed.double("seconds", default: 3)
        let iterations = try parsed.int("iterations", default: 0)
        let identity = try PolicyDocument(parsing: identityPolicy, kind: .identity)
        let resource = try PolicyDocument(parsing: seedPolicy, kind: .resource)
        let set = PolicySet(identity: [PolicySource(id: "identity", type: .user, document: identity)],
                            resource: PolicySource(id: "resource", type: .resource, document: resource))
        let caller = Principal.user(accountA, name: "analyst", userID: "AIDAANALYST")
        func request(_ resource: String, collaboration: String?) -> RequestContext {
            var c = RequestContext(principal: caller, action: ActionName(service: "cleanrooms-ml", name: "StartAudienceGenerationJob"),
                                   resource: ResourceName(resource))
            c["aws:RequestedRegion"] = .single("us-west-1")
            c["aws:SecureTransport"] = .single("true")
            c["aws:CurrentTime"] = .single("2026-11-29T00:00:00Z")
            if let collaboration { c["cleanrooms-ml:CollaborationId"] = .single(collaboration) }
            return c
        }
        // The three resources of a cross-account start, with and without the collaboration id.
        let requests = [
            request("arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id", collaboration: collaboration),
            request("arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/0b6d", collaboration: collaboration),
            request("arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/0b6d", collaboration: collaboration),
            request("arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id", collaboration: nil),
        ]
        let expected = requests.map { PolicyEvaluator.evaluate($0, policies: set).decision }
        guard expected == [.allowed, .allowed, .allowed, .implicitDeny] else {
            Console.err("benchmark set-up is wrong: decisions \(expected)")
            return .failed
        }
        Console.out("policy engine: seed resource policy (1 statement) + identity policy (20 statements), 4 rotating requests\n")
        let variants: [Bool]
        switch parsed.value("variant") ?? "both" {
        case "decision": variants = [false]
        case "explain": variants = [true]
        case "both": variants = [false, true]
        case let v: throw CommandFailure.usage("--variant must be decision, explain or both, got \(v)")
        }
        for explain in variants {
            var decisions = 0
            var allowed = 0
            let start = Stopwatch.nanos()
            let deadline = start + UInt64(seconds * 1e9)
            var now = start
            while iterations > 0 ? decisions < iterations : now < deadline {
                for _ in 0..<1000 {
                    let r = PolicyEvaluator.evaluate(requests[decisions & 3], policies: set, explain: explain)
                    if r.decision == .allowed { allowed += 1 }
                    decisions += 1
                }
                now = Stopwatch.nanos()
            }
            let elapsed = Double(now - start) / 1e9
            let rate = Double(decisions) / elapsed
            Console.out(String(format: "  %@: %.0f decisions/s (%.0f ns each, %d decisions, %d allowed, one thread)\n",
                               explain ? "with explanations   " : "decision only       ", rate, 1e9 / rate, decisions, allowed))
        }
        return .ok
    }
}
