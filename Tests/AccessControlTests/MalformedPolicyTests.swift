import AccessControl
import JSON
import Testing

/// A document IAM rejects, the sentence IAM answers with, and where the error must point.
struct MalformedCase: CustomTestStringConvertible, Sendable {
    var rule: String
    var kind: PolicyKind = .identity
    var text: String
    var reason: String
    var statement: Int? = nil
    var element: String? = nil
    var testDescription: String { rule }
}

func doc(_ statement: String, version: String = "\"2012-10-17\"") -> String {
    "{\"Version\": \(version), \"Statement\": [\(statement)]}"
}

let malformedCases: [MalformedCase] = [
    MalformedCase(rule: "not JSON", text: "{\"Version\": ", reason: "Syntax errors in policy."),
    MalformedCase(rule: "a JSON array is not a policy", text: "[]", reason: "Syntax errors in policy."),
    MalformedCase(rule: "duplicate JSON keys", text: "{\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\",\"Statement\":[]}", reason: "Syntax errors in policy."),
    MalformedCase(rule: "unknown top-level element", text: "{\"Version\":\"2012-10-17\",\"Statements\":[]}", reason: "Syntax errors in policy.", element: "Statements"),
    MalformedCase(rule: "unsupported Version", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*"}"#, version: "\"2013-10-17\""), reason: "Syntax errors in policy.", element: "Version"),
    MalformedCase(rule: "Version must be a string", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*"}"#, version: "2012"), reason: "Syntax errors in policy.", element: "Version"),
    MalformedCase(rule: "no Statement", text: "{\"Version\":\"2012-10-17\"}", reason: "Syntax errors in policy.", element: "Statement"),
    MalformedCase(rule: "empty Statement list", text: "{\"Version\":\"2012-10-17\",\"Statement\":[]}", reason: "Syntax errors in policy.", element: "Statement"),
    MalformedCase(rule: "Statement is a string", text: "{\"Version\":\"2012-10-17\",\"Statement\":\"x\"}", reason: "Syntax errors in policy.", element: "Statement"),
    MalformedCase(rule: "a statement that is not an object", text: doc("1"), reason: "Syntax errors in policy.", statement: 1),
    MalformedCase(rule: "unknown statement element", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Actions":"x"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Actions"),
    MalformedCase(rule: "missing Effect", text: doc(#"{"Action":"*","Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Effect"),
    MalformedCase(rule: "Effect that is neither Allow nor Deny", text: doc(#"{"Effect":"Permit","Action":"*","Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Effect"),
    MalformedCase(rule: "Effect in the wrong case fails legacy parsing", text: doc(#"{"Effect":"allow","Action":"*","Resource":"*"}"#), reason: "The policy failed legacy parsing", statement: 1, element: "Effect"),
    MalformedCase(rule: "both Action and NotAction", text: doc(#"{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "NotAction"),
    MalformedCase(rule: "both Resource and NotResource", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "NotResource"),
    MalformedCase(rule: "Action must be a string or list of strings", text: doc(#"{"Effect":"Allow","Action":5,"Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Action"),
    MalformedCase(rule: "Resource list with a non-string", text: doc(#"{"Effect":"Allow","Action":"*","Resource":["*",1]}"#), reason: "Syntax errors in policy.", statement: 1, element: "Resource"),
    MalformedCase(rule: "missing Action", text: doc(#"{"Effect":"Allow","Resource":"*"}"#), reason: "Policy statement must contain actions.", statement: 1, element: "Action"),
    MalformedCase(rule: "empty Action list", text: doc(#"{"Effect":"Allow","Action":[],"Resource":"*"}"#), reason: "Policy statement must contain actions.", statement: 1),
    MalformedCase(rule: "missing Resource in an identity policy", text: doc(#"{"Effect":"Allow","Action":"*"}"#), reason: "Policy statement must contain resources.", statement: 1, element: "Resource"),
    MalformedCase(rule: "Principal in an identity policy", text: doc(#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#), reason: "Policy document should not specify a principal.", statement: 1, element: "Principal"),
    MalformedCase(rule: "NotPrincipal in a permissions boundary", kind: .permissionsBoundary, text: doc(#"{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*"}"#), reason: "Policy document should not specify a principal.", statement: 1),
    MalformedCase(rule: "Principal in a service control policy", kind: .serviceControl, text: doc(#"{"Effect":"Deny","Principal":"*","Action":"*"}"#), reason: "Policy document should not specify a principal.", statement: 1),
    MalformedCase(rule: "missing Principal in a resource policy", kind: .resource, text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*"}"#), reason: "Missing required field Principal", statement: 1, element: "Principal"),
    MalformedCase(rule: "NotPrincipal with Allow is not supported", kind: .resource, text: doc(#"{"Effect":"Allow","NotPrincipal":{"AWS":"111111111111"},"Action":"*","Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "NotPrincipal"),
    MalformedCase(rule: "unknown principal type", kind: .resource, text: doc(#"{"Effect":"Allow","Principal":{"User":"x"},"Action":"*","Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Principal"),
    MalformedCase(rule: "invalid AWS principal value", kind: .resource, text: doc(#"{"Effect":"Allow","Principal":{"AWS":"accountA"},"Action":"*","Resource":"*"}"#), reason: "Invalid principal in policy: \"AWS\":\"accountA\"", statement: 1, element: "Principal"),
    MalformedCase(rule: "a wildcard inside a principal ARN", kind: .resource, text: doc(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/*"},"Action":"*","Resource":"*"}"#), reason: "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111111111111:user/*\"", statement: 1),
    MalformedCase(rule: "Service principal *", kind: .resource, text: doc(#"{"Effect":"Allow","Principal":{"Service":"*"},"Action":"*","Resource":"*"}"#), reason: "Invalid principal in policy: \"Service\":\"*\"", statement: 1),
    MalformedCase(rule: "duplicate Sid", text: doc(#"{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}"#), reason: "Statement IDs (SID) in a single policy must be unique.", statement: 2, element: "Sid"),
    MalformedCase(rule: "non-alphanumeric Sid in an identity policy", text: doc(#"{"Sid":"Clean-Rooms","Effect":"Allow","Action":"*","Resource":"*"}"#), reason: "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*", statement: 1),
    MalformedCase(rule: "Sid must be a string", text: doc(#"{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Sid"),
    MalformedCase(rule: "action without a vendor prefix", text: doc(#"{"Effect":"Allow","Action":"StartAudienceGenerationJob","Resource":"*"}"#), reason: "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", statement: 1, element: "Action"),
    MalformedCase(rule: "action with two colons", text: doc(#"{"Effect":"Allow","Action":"s3:Get:Object","Resource":"*"}"#), reason: "Actions/Condition can contain only one colon.", statement: 1),
    MalformedCase(rule: "invalid vendor", text: doc(#"{"Effect":"Allow","Action":"a a:ListBucket","Resource":"*"}"#), reason: "Vendor a a is not valid", statement: 1),
    MalformedCase(rule: "resource that is not an ARN", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"bucket"}"#), reason: "Resource bucket must be in ARN format or \"*\".", statement: 1, element: "Resource"),
    MalformedCase(rule: "unknown partition", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:awz:s3:::b"}"#), reason: "Partition \"awz\" is not valid for resource \"arn:awz:s3:::b\".", statement: 1),
    MalformedCase(rule: "wildcard in the service segment", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:*:*:*:*"}"#), reason: "Resource vendor must be fully qualified and cannot contain regexes.", statement: 1),
    MalformedCase(rule: "ARN with nothing after the partition", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws"}"#), reason: "Resource vendor must be fully qualified and cannot contain regexes.", statement: 1),
    MalformedCase(rule: "ARN with too few parts", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3::bucket"}"#), reason: "The policy failed legacy parsing", statement: 1),
    MalformedCase(rule: "IAM ARN with a region", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam:us-east-1:111111111111:user/a"}"#), reason: "IAM resource arn:aws:iam:us-east-1:111111111111:user/a cannot contain region information.", statement: 1),
    MalformedCase(rule: "IAM ARN with an unknown resource type", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::111111111111:person/a"}"#), reason: "IAM resource path must either be \"*\", root, or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.", statement: 1),
    MalformedCase(rule: "S3 ARN with a region", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:us-east-1::b"}"#), reason: "Resource arn:aws:s3:us-east-1::b can not contain region information.", statement: 1),
    MalformedCase(rule: "a policy variable outside the resource part", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username}"}"#).replacingOccurrences("arn:aws:s3:::", with: "arn:aws:s3:${aws:username}::"), reason: "Syntax errors in policy.", statement: 1, element: "Resource"),
    MalformedCase(rule: "an unclosed policy variable", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::home/${aws:username"}"#), reason: "Syntax errors in policy.", statement: 1, element: "Resource"),
    MalformedCase(rule: "unknown condition operator", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}"#), reason: "Syntax errors in policy.", statement: 1, element: "Condition"),
    MalformedCase(rule: "Null cannot take IfExists", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}"#), reason: "Syntax errors in policy.", statement: 1, element: "Condition"),
    MalformedCase(rule: "a condition key directly under Condition (no operator)", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"aws:username":"a"}}"#), reason: "Syntax errors in policy.", statement: 1, element: "Condition"),
    MalformedCase(rule: "condition values must be scalars", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}"#), reason: "Syntax errors in policy.", statement: 1),
    MalformedCase(rule: "an empty list of condition values", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}"#), reason: "Syntax errors in policy.", statement: 1),
    MalformedCase(rule: "unparseable date value", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}"#), reason: "The policy failed legacy parsing", statement: 1, element: "Condition"),
    MalformedCase(rule: "non-numeric value for a Numeric operator", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}"#), reason: "The policy failed legacy parsing", statement: 1),
    MalformedCase(rule: "Bool value that is not true or false", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}"#), reason: "The policy failed legacy parsing", statement: 1),
    MalformedCase(rule: "invalid CIDR for IpAddress", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}"#), reason: "The policy failed legacy parsing", statement: 1),
    MalformedCase(rule: "condition key without a service prefix", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}"#), reason: "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", statement: 1),
    MalformedCase(rule: "the error names the second statement", text: doc(#"{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*"}"#), reason: "Policy statement must contain resources.", statement: 2),
]

@Test(arguments: malformedCases)
func malformedDocumentsAreRejected(_ c: MalformedCase) {
    do {
        _ = try PolicyDocument(parsing: c.text, kind: c.kind)
        Issue.record("accepted: \(c.text)")
    } catch {
        #expect(error.reason == c.reason, "\(c.rule): \(error.message)")
        if let s = c.statement { #expect(error.statement == s, "\(c.rule): \(error.message)") }
        if let e = c.element { #expect(error.element == e, "\(c.rule): \(error.message)") }
        #expect(error.message.hasPrefix(c.reason))
    }
}

@Test func errorMessageSaysWhereAndWhy() {
    let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"Ok\", \"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},\n    {\"Sid\": \"Bad\", \"Effect\": \"Permit\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}"
    do {
        _ = try PolicyDocument(parsing: text, kind: .identity)
        Issue.record("accepted a bad Effect")
    } catch {
        #expect(error.message == "Syntax errors in policy. (statement 2 (Sid \"Bad\") at line 5, element Effect: must be \"Allow\" or \"Deny\", got \"Permit\")")
    }
}

@Test func theSeedPolicyParsesAsAResourcePolicy() throws {
    let d = try PolicyDocument(parsing: seedPolicy, kind: .resource)
    #expect(d.statements.count == 1)
    #expect(d.statements[0].sid == "Clean-Rooms-<CAMA ID>")
    #expect(d.version == .v2012_10_17)
}

@Test func quotaSizeIgnoresWhitespace() {
    #expect(PolicyDocument.quotaSize(of: "{ \"a\" :\n\t1 }") == 7)
}

/// Fuzz-style: mutated policies are accepted or rejected with a MalformedPolicyDocument; never a
/// trap, whatever the bytes.
@Test func mutatedPoliciesNeverCrashTheParser() {
    let base = Array(seedPolicy.utf8)
    var rng = UInt64(7)
    func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
    let alphabet = Array("{}[]\",:*?$ArnStringEqualsNotPrincipalAWSDeny01".utf8)
    var rejected = 0, accepted = 0
    for _ in 0..<5000 {
        var b = base
        for _ in 0..<(1 + Int(next() % 3)) {
            let pos = Int(next() % UInt64(b.count))
            if next() % 2 == 0 { b[pos] = alphabet[Int(next() % UInt64(alphabet.count))] } else { b.remove(at: pos) }
        }
        do {
            _ = try PolicyDocument(parsing: String(decoding: b, as: UTF8.self), kind: .resource)
            accepted += 1
        } catch {
            #expect(!error.reason.isEmpty)
            rejected += 1
        }
    }
    #expect(rejected > 0 && accepted > 0)
}
