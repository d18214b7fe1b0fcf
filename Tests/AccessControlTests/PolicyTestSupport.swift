import AccessControl
import CleanRoomsModel
import JSON
import Testing

// Accounts of the seed's story: A submits, B owns the configured audience model, C is a stranger.
let accountA = AccountID("111111111111")!
let accountB = AccountID("222222222222")!
let accountC = AccountID("333333333333")!

let camB = "arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id"
let jobB = "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/job-1"
let jobA = "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/job-1"
let collaborationID = "f3b7c2a4-1234-4cde-8f00-0123456789ab"

/// The seed's example resource policy, exactly as the page gives it but for its `//` comment
/// (not JSON) and with the account placeholders filled in.
let seedPolicy = """
    { "Version": "2012-10-17", "Statement": [ { "Sid": "Clean-Rooms-<CAMA ID>", "Effect": "Allow", "Principal": { "AWS": [ "111111111111" ] }, "Action": [ "cleanrooms-ml:StartAudienceGenerationJob" ], "Resource": [ "arn:aws:cleanrooms-ml:us-west-1:222222222222:configured-audience-model/id", "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/*" ], "Condition":{"StringEquals":{"cleanrooms-ml:CollaborationId":"\(collaborationID)"}} } ] }
    """

/// A statement as JSON; `nil` members are left out.
func stmt(_ effect: String = "Allow", action: JSON = "*", resource: JSON? = "*", principal: JSON? = nil,
          notAction: JSON? = nil, notResource: JSON? = nil, notPrincipal: JSON? = nil, condition: JSON? = nil, sid: String? = nil) -> JSON {
    var o: [String: JSON] = ["Effect": .string(effect)]
    if let notAction { o["NotAction"] = notAction } else { o["Action"] = action }
    if let notResource { o["NotResource"] = notResource } else if let resource { o["Resource"] = resource }
    if let principal { o["Principal"] = principal }
    if let notPrincipal { o["NotPrincipal"] = notPrincipal }
    if let condition { o["Condition"] = condition }
    if let sid { o["Sid"] = .string(sid) }
    return .object(o)
}

/// A policy document's text.
func policy(_ statements: JSON..., version: String? = "2012-10-17") -> String {
    var o: [String: JSON] = ["Statement": .array(statements)]
    if let version { o["Version"] = .string(version) }
    return JSONWriter.string(.object(o))
}

let allowAll = policy(stmt())

/// One authorization question and the answer IAM gives, with the rule that decides it.
struct AuthCase: CustomTestStringConvertible, Sendable {
    var rule: String
    var identity: [String] = []
    var resourcePolicy: String? = nil
    var boundary: String? = nil
    var scps: [String]? = nil
    var caller: Principal = .user(accountA, name: "alice", userID: "AIDAALICE")
    var action = "cleanrooms-ml:StartAudienceGenerationJob"
    var resource = jobA
    var context: [String: ContextValue] = [:]
    var expected: Decision

    var testDescription: String { rule }

    func run() throws -> AuthorizationResult {
        var set = PolicySet()
        set.identity = try identity.enumerated().map {
            PolicySource(id: "identity.\($0.offset + 1)", type: .user, document: try PolicyDocument(parsing: $0.element, kind: .identity))
        }
        if let r = resourcePolicy { set.resource = PolicySource(id: "resource", type: .resource, document: try PolicyDocument(parsing: r, kind: .resource)) }
        if let b = boundary { set.permissionsBoundary = PolicySource(id: "boundary", type: .permissionsBoundary, document: try PolicyDocument(parsing: b, kind: .permissionsBoundary)) }
        if let s = scps {
            set.serviceControl = try s.enumerated().map {
                PolicySource(id: "scp.\($0.offset + 1)", type: .serviceControlPolicy, document: try PolicyDocument(parsing: $0.element, kind: .serviceControl))
            }
        }
        let ctx = RequestContext(principal: caller, action: ActionName(action)!, resource: ResourceName(resource), context: context)
        return PolicyEvaluator.evaluate(ctx, policies: set)
    }
}

func check(_ c: AuthCase) throws {
    let r = try c.run()
    #expect(r.decision == c.expected, "\(c.rule): got \(r.decision), matched \(r.matchedStatements.map { "\($0.sourcePolicyId)#\($0.statementIndex)" })")
}
