import AccessControl
import CleanRoomsModel
import JSON
import Testing

/// Action matching: case-insensitive, `*` and `?`, NotAction.
let actionCases: [AuthCase] = [
    AuthCase(rule: "action names match case-insensitively", identity: [policy(stmt(action: "CLEANROOMS-ML:startaudiencegenerationjob"))], expected: .allowed),
    AuthCase(rule: "action wildcard * matches a suffix", identity: [policy(stmt(action: "cleanrooms-ml:Start*"))], expected: .allowed),
    AuthCase(rule: "action wildcard * matches inside", identity: [policy(stmt(action: "cleanrooms-ml:*Generation*"))], expected: .allowed),
    AuthCase(rule: "action wildcard ? matches exactly one character", identity: [policy(stmt(action: "cleanrooms-ml:StartAudienceGenerationJo?"))], expected: .allowed),
    AuthCase(rule: "action wildcard ? does not match zero characters", identity: [policy(stmt(action: "cleanrooms-ml:StartAudienceGenerationJob?"))], expected: .implicitDeny),
    AuthCase(rule: "service:* matches every action of the service", identity: [policy(stmt(action: "cleanrooms-ml:*"))], expected: .allowed),
    AuthCase(rule: "another service's wildcard does not match", identity: [policy(stmt(action: "cleanrooms:*"))], expected: .implicitDeny),
    AuthCase(rule: "a list of actions is ORed", identity: [policy(stmt(action: ["s3:GetObject", "cleanrooms-ml:StartAudienceGenerationJob"]))], expected: .allowed),
    AuthCase(rule: "a prefix of the action name alone does not match", identity: [policy(stmt(action: "cleanrooms-ml:StartAudience"))], expected: .implicitDeny),
    AuthCase(rule: "NotAction allows everything except the listed actions", identity: [policy(stmt(notAction: "iam:*"))], expected: .allowed),
    AuthCase(rule: "NotAction excludes the listed action", identity: [policy(stmt(notAction: "cleanrooms-ml:Start*"))], expected: .implicitDeny),
    AuthCase(rule: "Deny with NotAction denies everything else", identity: [allowAll, policy(stmt("Deny", notAction: "iam:*"))], expected: .explicitDeny),
    AuthCase(rule: "Deny with NotAction spares the listed action", identity: [allowAll, policy(stmt("Deny", notAction: "cleanrooms-ml:*"))], expected: .allowed),
    AuthCase(rule: "UntagResource in a policy matches the UnTagResource action (case-insensitive)",
             identity: [policy(stmt(action: "cleanrooms-ml:UntagResource"))], action: "cleanrooms-ml:UnTagResource", expected: .allowed),
]

@Test(arguments: actionCases)
func actionMatching(_ c: AuthCase) throws { try check(c) }

/// Resource matching: ARN segments, wildcards at segment edges, case, NotResource.
let resourceCases: [AuthCase] = [
    AuthCase(rule: "exact resource ARN matches", identity: [policy(stmt(resource: .string(jobA)))], expected: .allowed),
    AuthCase(rule: "resource ARNs are case-sensitive", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:AUDIENCE-GENERATION-JOB/job-1"))], expected: .implicitDeny),
    AuthCase(rule: "resource id case matters", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/JOB-1"))], expected: .implicitDeny),
    AuthCase(rule: "trailing * in the resource part matches the rest", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/*"))], expected: .allowed),
    AuthCase(rule: "* in the region segment matches any region", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:*:111111111111:audience-generation-job/job-1"))], expected: .allowed),
    AuthCase(rule: "* in the account segment matches any account", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:*:audience-generation-job/job-1"))], expected: .allowed),
    AuthCase(rule: "an empty region segment does not match a regional ARN", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml::111111111111:audience-generation-job/job-1"))], expected: .implicitDeny),
    AuthCase(rule: "? in the region segment matches one character", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-?:111111111111:audience-generation-job/job-1"))], expected: .allowed),
    AuthCase(rule: "a * inside a segment does not cross a colon", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:u*1:audience*"))], expected: .implicitDeny),
    AuthCase(rule: "a * inside a segment matches within it", identity: [policy(stmt(resource: "arn:a*s:cleanrooms-ml:us-*1:111111111111:audience-generation-job/job-1"))], expected: .allowed),
    AuthCase(rule: "a * ending a segment may run past colons (arn:aws:cleanrooms-ml:*)", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:*"))], expected: .allowed),
    AuthCase(rule: "wrong account in the ARN does not match", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:222222222222:audience-generation-job/*"))], expected: .implicitDeny),
    AuthCase(rule: "wrong resource type does not match", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:configured-audience-model/*"))], expected: .implicitDeny),
    AuthCase(rule: "* in the resource part matches slashes", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:*"))], expected: .allowed),
    AuthCase(rule: "? in the resource part matches one character", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/job-?"))], expected: .allowed),
    AuthCase(rule: "the resource part may contain colons and * spans them", identity: [policy(stmt(action: "logs:*", resource: "arn:aws:logs:us-west-1:111111111111:log-group:*"))],
             action: "logs:PutLogEvents", resource: "arn:aws:logs:us-west-1:111111111111:log-group:app:log-stream:x", expected: .allowed),
    AuthCase(rule: "S3 object ARNs: bucket/* matches nested keys", identity: [policy(stmt(action: "s3:GetObject", resource: "arn:aws:s3:::bucket/*"))],
             action: "s3:GetObject", resource: "arn:aws:s3:::bucket/a/b/c.csv", expected: .allowed),
    AuthCase(rule: "S3: bucket/*/test/* needs a segment before test", identity: [policy(stmt(action: "s3:GetObject", resource: "arn:aws:s3:::bucket/*/test/*"))],
             action: "s3:GetObject", resource: "arn:aws:s3:::bucket/test/object.jpg", expected: .implicitDeny),
    AuthCase(rule: "S3: bucket/*/test/* matches 1///test///object.jpg", identity: [policy(stmt(action: "s3:GetObject", resource: "arn:aws:s3:::bucket/*/test/*"))],
             action: "s3:GetObject", resource: "arn:aws:s3:::bucket/1///test///object.jpg", expected: .allowed),
    AuthCase(rule: "a list of resources is ORed", identity: [policy(stmt(resource: ["arn:aws:s3:::x", .string(jobA)]))], expected: .allowed),
    AuthCase(rule: "Resource * matches a request with no resource", identity: [allowAll], action: "cleanrooms-ml:ListTrainingDatasets", resource: "*", expected: .allowed),
    AuthCase(rule: "an ARN pattern does not match a request with no resource (*)", identity: [policy(stmt(resource: "arn:aws:cleanrooms-ml:*"))],
             action: "cleanrooms-ml:ListTrainingDatasets", resource: "*", expected: .implicitDeny),
    AuthCase(rule: "NotResource allows everything except the listed ARNs", identity: [policy(stmt(notResource: "arn:aws:s3:::*"))], expected: .allowed),
    AuthCase(rule: "NotResource excludes the listed ARN", identity: [policy(stmt(notResource: .string(jobA)))], expected: .implicitDeny),
    AuthCase(rule: "Deny with NotResource denies everything outside the list", identity: [allowAll, policy(stmt("Deny", notResource: "arn:aws:s3:::*"))], expected: .explicitDeny),
    AuthCase(rule: "Deny with NotResource spares the listed resources", identity: [allowAll, policy(stmt("Deny", notResource: "arn:aws:cleanrooms-ml:*"))], expected: .allowed),
]

@Test(arguments: resourceCases)
func resourceMatching(_ c: AuthCase) throws { try check(c) }

/// Policy variables in Resource and in string conditions.
let variableCases: [AuthCase] = [
    AuthCase(rule: "${aws:username} in Resource is the caller's user name",
             identity: [policy(stmt(action: "s3:*", resource: "arn:aws:s3:::home/${aws:username}/*"))], action: "s3:GetObject", resource: "arn:aws:s3:::home/alice/x", expected: .allowed),
    AuthCase(rule: "${aws:username} does not match another user's folder",
             identity: [policy(stmt(action: "s3:*", resource: "arn:aws:s3:::home/${aws:username}/*"))], action: "s3:GetObject", resource: "arn:aws:s3:::home/bob/x", expected: .implicitDeny),
    AuthCase(rule: "a variable without a value (roles have no aws:username) makes the resource entry match nothing",
             identity: [policy(stmt(action: "s3:*", resource: "arn:aws:s3:::home/${aws:username}/*"))], caller: .assumedRole(accountA, role: "R", session: "s"),
             action: "s3:GetObject", resource: "arn:aws:s3:::home/R/x", expected: .implicitDeny),
    AuthCase(rule: "a variable's default value is used when the key is absent",
             identity: [policy(stmt(action: "s3:*", resource: "arn:aws:s3:::team-${aws:PrincipalTag/team, 'shared'}/*"))], action: "s3:GetObject", resource: "arn:aws:s3:::team-shared/x", expected: .allowed),
    AuthCase(rule: "${aws:PrincipalTag/team} in Resource uses the principal's tag",
             identity: [policy(stmt(action: "s3:*", resource: "arn:aws:s3:::team-${aws:PrincipalTag/team}/*"))], action: "s3:GetObject", resource: "arn:aws:s3:::team-red/x",
             context: ["aws:PrincipalTag/team": .single("red")], expected: .allowed),
    AuthCase(rule: "${aws:userid} in a StringEquals condition",
             identity: [policy(stmt(condition: ["StringEquals": ["aws:userid": "${aws:userid}"]]))], expected: .allowed),
    AuthCase(rule: "${aws:PrincipalTag/dept} in StringEquals compares tag to tag",
             identity: [policy(stmt(condition: ["StringEquals": ["aws:ResourceTag/dept": "${aws:PrincipalTag/dept}"]]))],
             context: ["aws:PrincipalTag/dept": .single("ads"), "aws:ResourceTag/dept": .single("ads")], expected: .allowed),
    AuthCase(rule: "a principal tag differing from the resource tag does not match",
             identity: [policy(stmt(condition: ["StringEquals": ["aws:ResourceTag/dept": "${aws:PrincipalTag/dept}"]]))],
             context: ["aws:PrincipalTag/dept": .single("ads"), "aws:ResourceTag/dept": .single("ml")], expected: .implicitDeny),
    AuthCase(rule: "a value from a variable is literal: a * in a tag value is not a wildcard",
             identity: [policy(stmt(condition: ["StringLike": ["aws:ResourceTag/dept": "${aws:PrincipalTag/dept}"]]))],
             context: ["aws:PrincipalTag/dept": .single("*"), "aws:ResourceTag/dept": .single("ads")], expected: .implicitDeny),
    AuthCase(rule: "${*} is a literal asterisk, not a wildcard",
             identity: [policy(stmt(condition: ["StringLike": ["aws:ResourceTag/k": "a${*}"]]))], context: ["aws:ResourceTag/k": .single("a*")], expected: .allowed),
    AuthCase(rule: "${*} does not match other characters",
             identity: [policy(stmt(condition: ["StringLike": ["aws:ResourceTag/k": "a${*}"]]))], context: ["aws:ResourceTag/k": .single("ab")], expected: .implicitDeny),
    AuthCase(rule: "${?} and ${$} are literal characters",
             identity: [policy(stmt(condition: ["StringEquals": ["aws:ResourceTag/k": "${?}${$}"]]))], context: ["aws:ResourceTag/k": .single("?$")], expected: .allowed),
    AuthCase(rule: "version 2008-10-17 has no variables: ${aws:username} is literal text",
             identity: [policy(stmt(action: "s3:*", resource: "arn:aws:s3:::home/${aws:username}/*"), version: "2008-10-17")],
             action: "s3:GetObject", resource: "arn:aws:s3:::home/alice/x", expected: .implicitDeny),
    AuthCase(rule: "a missing Version means 2008-10-17: variables are literal",
             identity: [policy(stmt(condition: ["StringEquals": ["aws:username": "${aws:username}"]]), version: nil)], expected: .implicitDeny),
    AuthCase(rule: "StringNotEquals with a variable without value matches (negated operators match null)",
             identity: [policy(stmt(condition: ["StringNotEquals": ["aws:ResourceTag/k": "${aws:PrincipalTag/none}"]]))], context: ["aws:ResourceTag/k": .single("v")], expected: .allowed),
]

@Test(arguments: variableCases)
func policyVariables(_ c: AuthCase) throws { try check(c) }
