import AccessControl
import CleanRoomsModel
import JSON
import Testing

/// One condition block on an allow-everything statement: allowed iff the condition holds.
func when(_ rule: String, _ condition: JSON, _ context: [String: ContextValue] = [:], holds: Bool) -> AuthCase {
    AuthCase(rule: rule, identity: [policy(stmt(condition: condition))], context: context, expected: holds ? .allowed : .implicitDeny)
}

let tag = "aws:ResourceTag/team"
func tagIs(_ v: String) -> [String: ContextValue] { [tag: .single(v)] }

let stringCases: [AuthCase] = [
    when("StringEquals: equal value", ["StringEquals": [tag: "red"]], tagIs("red"), holds: true),
    when("StringEquals: case-sensitive", ["StringEquals": [tag: "red"]], tagIs("Red"), holds: false),
    when("StringEquals: absent key is false", ["StringEquals": [tag: "red"]], holds: false),
    when("StringEquals: several values are ORed", ["StringEquals": [tag: ["blue", "red"]]], tagIs("red"), holds: true),
    when("StringEquals: several keys are ANDed (one fails)", ["StringEquals": [tag: "red", "aws:ResourceTag/env": "prod"]], tagIs("red"), holds: false),
    when("StringEquals: several keys are ANDed (both hold)", ["StringEquals": [tag: "red", "aws:ResourceTag/env": "prod"]],
         [tag: .single("red"), "aws:ResourceTag/env": .single("prod")], holds: true),
    when("several operators are ANDed", ["StringEquals": [tag: "red"], "StringLike": ["aws:ResourceTag/env": "p*"]],
         [tag: .single("red"), "aws:ResourceTag/env": .single("dev")], holds: false),
    when("condition key names are case-insensitive", ["StringEquals": ["AWS:RESOURCETAG/TEAM": "red"]], tagIs("red"), holds: true),
    when("StringNotEquals: different value holds", ["StringNotEquals": [tag: "red"]], tagIs("blue"), holds: true),
    when("StringNotEquals: equal value fails", ["StringNotEquals": [tag: "red"]], tagIs("red"), holds: false),
    when("StringNotEquals: absent key holds (negated operator)", ["StringNotEquals": [tag: "red"]], holds: true),
    when("StringNotEquals: several values are NORed", ["StringNotEquals": [tag: ["red", "blue"]]], tagIs("blue"), holds: false),
    when("StringEqualsIgnoreCase: ignores case", ["StringEqualsIgnoreCase": [tag: "RED"]], tagIs("red"), holds: true),
    when("StringEqualsIgnoreCase: absent key is false", ["StringEqualsIgnoreCase": [tag: "RED"]], holds: false),
    when("StringNotEqualsIgnoreCase: same letters fail", ["StringNotEqualsIgnoreCase": [tag: "RED"]], tagIs("red"), holds: false),
    when("StringNotEqualsIgnoreCase: absent key holds", ["StringNotEqualsIgnoreCase": [tag: "RED"]], holds: true),
    when("StringLike: * wildcard", ["StringLike": [tag: "r*"]], tagIs("red"), holds: true),
    when("StringLike: ? wildcard", ["StringLike": [tag: "r?d"]], tagIs("red"), holds: true),
    when("StringLike: case-sensitive", ["StringLike": [tag: "R*"]], tagIs("red"), holds: false),
    when("StringLike: * matches colons and slashes", ["StringLike": ["aws:PrincipalArn": "arn:aws:iam::*"]], holds: true),
    when("StringLike: absent key is false", ["StringLike": [tag: "*"]], holds: false),
    when("StringNotLike: non-matching value holds", ["StringNotLike": [tag: "b*"]], tagIs("red"), holds: true),
    when("StringNotLike: matching value fails", ["StringNotLike": [tag: "r*"]], tagIs("red"), holds: false),
    when("StringNotLike: absent key holds", ["StringNotLike": [tag: "r*"]], holds: true),
    when("StringEqualsIfExists: absent key holds", ["StringEqualsIfExists": [tag: "red"]], holds: true),
    when("StringEqualsIfExists: present and different fails", ["StringEqualsIfExists": [tag: "red"]], tagIs("blue"), holds: false),
    when("StringNotEqualsIfExists: absent key holds", ["StringNotEqualsIfExists": [tag: "red"]], holds: true),
    when("StringLikeIfExists: present and matching holds", ["StringLikeIfExists": [tag: "r*"]], tagIs("red"), holds: true),
    when("operator names are case-insensitive", ["stringequals": [tag: "red"]], tagIs("red"), holds: true),
    when("a number in the policy compares as text", ["StringEquals": ["aws:ResourceTag/n": 5]], ["aws:ResourceTag/n": .single("5")], holds: true),
]

@Test(arguments: stringCases)
func stringOperators(_ c: AuthCase) throws { try check(c) }

let epoch = "aws:EpochTime"
func epochIs(_ v: String) -> [String: ContextValue] { [epoch: .single(v)] }

let numericCases: [AuthCase] = [
    when("NumericEquals: equal", ["NumericEquals": ["aws:MultiFactorAuthAge": "3600"]], ["aws:MultiFactorAuthAge": .single("3600.0")], holds: true),
    when("NumericEquals: absent key is false", ["NumericEquals": ["aws:MultiFactorAuthAge": "3600"]], holds: false),
    when("NumericEquals: a non-number request value does not match", ["NumericEquals": ["aws:MultiFactorAuthAge": "3600"]], ["aws:MultiFactorAuthAge": .single("abc")], holds: false),
    when("NumericNotEquals: different holds", ["NumericNotEquals": ["s3:max-keys": "10"]], ["s3:max-keys": .single("11")], holds: true),
    when("NumericNotEquals: absent key holds", ["NumericNotEquals": ["s3:max-keys": "10"]], holds: true),
    when("NumericLessThan: less", ["NumericLessThan": ["s3:max-keys": "10"]], ["s3:max-keys": .single("9")], holds: true),
    when("NumericLessThan: equal is not less", ["NumericLessThan": ["s3:max-keys": "10"]], ["s3:max-keys": .single("10")], holds: false),
    when("NumericLessThanEquals: equal", ["NumericLessThanEquals": ["s3:max-keys": "10"]], ["s3:max-keys": .single("10")], holds: true),
    when("NumericGreaterThan: greater", ["NumericGreaterThan": ["s3:max-keys": "10"]], ["s3:max-keys": .single("10.5")], holds: true),
    when("NumericGreaterThan: absent key is false", ["NumericGreaterThan": ["s3:max-keys": "10"]], holds: false),
    when("NumericGreaterThanEquals: equal", ["NumericGreaterThanEquals": ["s3:max-keys": "10"]], ["s3:max-keys": .single("10")], holds: true),
    when("NumericLessThanIfExists: absent key holds", ["NumericLessThanIfExists": ["s3:max-keys": "10"]], holds: true),
    when("a JSON number is accepted as a numeric value", ["NumericLessThan": ["s3:max-keys": 10]], ["s3:max-keys": .single("3")], holds: true),
]

@Test(arguments: numericCases)
func numericOperators(_ c: AuthCase) throws { try check(c) }

let dateCases: [AuthCase] = [
    when("DateLessThan with ISO 8601 against epoch seconds", ["DateLessThan": [epoch: "2030-01-01T00:00:00Z"]], epochIs("1700000000"), holds: true),
    when("DateLessThan: later time fails", ["DateLessThan": [epoch: "2020-01-01T00:00:00Z"]], epochIs("1700000000"), holds: false),
    when("DateGreaterThan with a date-only value", ["DateGreaterThan": ["aws:CurrentTime": "2020-01-01"]], ["aws:CurrentTime": .single("2026-11-29T10:00:00Z")], holds: true),
    when("DateEquals across time zones", ["DateEquals": ["aws:CurrentTime": "2026-01-01T02:00:00+02:00"]], ["aws:CurrentTime": .single("2026-01-01T00:00:00Z")], holds: true),
    when("DateNotEquals: same instant fails", ["DateNotEquals": ["aws:CurrentTime": "2026-01-01T00:00:00Z"]], ["aws:CurrentTime": .single("1767225600")], holds: false),
    when("DateNotEquals: absent key holds", ["DateNotEquals": ["aws:CurrentTime": "2026-01-01T00:00:00Z"]], holds: true),
    when("DateLessThanEquals: equal instant", ["DateLessThanEquals": ["aws:CurrentTime": "2026-01-01T00:00:00.000Z"]], ["aws:CurrentTime": .single("2026-01-01T00:00:00Z")], holds: true),
    when("DateGreaterThanEquals: earlier fails", ["DateGreaterThanEquals": ["aws:CurrentTime": "2026-01-01T00:00:01Z"]], ["aws:CurrentTime": .single("2026-01-01T00:00:00Z")], holds: false),
    when("DateGreaterThan: absent key is false", ["DateGreaterThan": ["aws:CurrentTime": "2020-01-01"]], holds: false),
    when("DateLessThanIfExists: absent key holds", ["DateLessThanIfExists": ["aws:CurrentTime": "2020-01-01"]], holds: true),
    when("Date operators accept epoch seconds in the policy", ["DateGreaterThan": [epoch: "1600000000"]], epochIs("1700000000"), holds: true),
]

@Test(arguments: dateCases)
func dateOperators(_ c: AuthCase) throws { try check(c) }

let otherOperatorCases: [AuthCase] = [
    when("Bool: true matches true", ["Bool": ["aws:SecureTransport": "true"]], ["aws:SecureTransport": .single("true")], holds: true),
    when("Bool: false does not match true", ["Bool": ["aws:SecureTransport": "false"]], ["aws:SecureTransport": .single("true")], holds: false),
    when("Bool: absent key is false", ["Bool": ["aws:SecureTransport": "true"]], holds: false),
    when("Bool: a JSON boolean is accepted", ["Bool": ["aws:SecureTransport": true]], ["aws:SecureTransport": .single("true")], holds: true),
    when("BoolIfExists: absent key holds", ["BoolIfExists": ["aws:SecureTransport": "false"]], holds: true),
    when("IpAddress: inside the CIDR", ["IpAddress": ["aws:SourceIp": "203.0.113.0/24"]], ["aws:SourceIp": .single("203.0.113.7")], holds: true),
    when("IpAddress: outside the CIDR", ["IpAddress": ["aws:SourceIp": "203.0.113.0/24"]], ["aws:SourceIp": .single("203.0.114.7")], holds: false),
    when("IpAddress: a bare address is a /32", ["IpAddress": ["aws:SourceIp": "127.0.0.1"]], ["aws:SourceIp": .single("127.0.0.1")], holds: true),
    when("IpAddress: IPv6 CIDR", ["IpAddress": ["aws:SourceIp": "2001:DB8:1234:5678::/64"]], ["aws:SourceIp": .single("2001:db8:1234:5678::1")], holds: true),
    when("IpAddress: IPv6 outside", ["IpAddress": ["aws:SourceIp": "2001:DB8:1234:5678::/64"]], ["aws:SourceIp": .single("2001:db8:1234:5679::1")], holds: false),
    when("IpAddress: absent key is false", ["IpAddress": ["aws:SourceIp": "0.0.0.0/0"]], holds: false),
    when("NotIpAddress: outside holds", ["NotIpAddress": ["aws:SourceIp": "10.0.0.0/8"]], ["aws:SourceIp": .single("192.168.1.1")], holds: true),
    when("NotIpAddress: inside fails", ["NotIpAddress": ["aws:SourceIp": "10.0.0.0/8"]], ["aws:SourceIp": .single("10.1.2.3")], holds: false),
    when("NotIpAddress: absent key holds", ["NotIpAddress": ["aws:SourceIp": "10.0.0.0/8"]], holds: true),
    when("ArnEquals: exact ARN", ["ArnEquals": ["aws:PrincipalArn": "arn:aws:iam::111111111111:user/alice"]], holds: true),
    when("ArnLike: wildcard in the resource part", ["ArnLike": ["aws:PrincipalArn": "arn:aws:iam::111111111111:user/*"]], holds: true),
    when("ArnLike: * in the account segment", ["ArnLike": ["aws:PrincipalArn": "arn:aws:iam::*:user/alice"]], holds: true),
    when("ArnLike: segments match one to one, no expansion across colons (the documented someservice example)",
         ["ArnLike": ["aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"]],
         ["aws:SourceArn": .single("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt")], holds: false),
    when("StringLike on the same values does span colons", ["StringLike": ["aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"]],
         ["aws:SourceArn": .single("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt")], holds: true),
    when("ArnLike: a value that is not an ARN does not match", ["ArnLike": ["aws:SourceArn": "arn:aws:*"]], ["aws:SourceArn": .single("not-an-arn")], holds: false),
    when("ArnNotEquals: other ARN holds", ["ArnNotEquals": ["aws:PrincipalArn": "arn:aws:iam::111111111111:user/bob"]], holds: true),
    when("ArnNotLike: matching ARN fails", ["ArnNotLike": ["aws:PrincipalArn": "arn:aws:iam::*:user/*"]], holds: false),
    when("ArnNotLike: absent key holds", ["ArnNotLike": ["aws:SourceArn": "arn:aws:*:*:*:*"]], holds: true),
    when("ArnLikeIfExists: absent key holds", ["ArnLikeIfExists": ["aws:SourceArn": "arn:aws:s3:::x"]], holds: true),
    when("Null true: the key must be absent (absent)", ["Null": [tag: "true"]], holds: true),
    when("Null true: the key must be absent (present)", ["Null": [tag: "true"]], tagIs("red"), holds: false),
    when("Null false: the key must be present (present)", ["Null": [tag: "false"]], tagIs("red"), holds: true),
    when("Null false: the key must be present (absent)", ["Null": [tag: "false"]], holds: false),
    when("BinaryEquals compares the base64 text", ["BinaryEquals": ["aws:ResourceTag/bin": "QmluYXJ5VmFsdWU="]], ["aws:ResourceTag/bin": .single("QmluYXJ5VmFsdWU=")], holds: true),
]

@Test(arguments: otherOperatorCases)
func otherOperators(_ c: AuthCase) throws { try check(c) }

let tagKeys = "aws:TagKeys"
func tagKeysAre(_ ks: [String]) -> [String: ContextValue] { [tagKeys: .list(ks)] }

let setOperatorCases: [AuthCase] = [
    when("ForAnyValue:StringEquals: one request value in the policy set holds", ["ForAnyValue:StringEquals": [tagKeys: ["team", "env"]]], tagKeysAre(["team", "owner"]), holds: true),
    when("ForAnyValue:StringEquals: no request value in the set fails", ["ForAnyValue:StringEquals": [tagKeys: ["team"]]], tagKeysAre(["owner"]), holds: false),
    when("ForAnyValue: absent key is false", ["ForAnyValue:StringEquals": [tagKeys: ["team"]]], holds: false),
    when("ForAnyValue: empty list is false", ["ForAnyValue:StringEquals": [tagKeys: ["team"]]], tagKeysAre([]), holds: false),
    when("ForAllValues:StringEquals: every request value in the set holds", ["ForAllValues:StringEquals": [tagKeys: ["team", "env"]]], tagKeysAre(["team", "env"]), holds: true),
    when("ForAllValues:StringEquals: one value outside the set fails", ["ForAllValues:StringEquals": [tagKeys: ["team"]]], tagKeysAre(["team", "owner"]), holds: false),
    when("ForAllValues: absent key holds", ["ForAllValues:StringEquals": [tagKeys: ["team"]]], holds: true),
    when("ForAllValues: empty list holds", ["ForAllValues:StringEquals": [tagKeys: ["team"]]], tagKeysAre([]), holds: true),
    when("ForAllValues:StringLike with wildcards", ["ForAllValues:StringLike": [tagKeys: ["t*", "e?v"]]], tagKeysAre(["team", "env"]), holds: true),
    when("ForAnyValue:StringNotEquals: a value outside the set holds", ["ForAnyValue:StringNotEquals": [tagKeys: ["team"]]], tagKeysAre(["team", "owner"]), holds: true),
    when("ForAnyValue:StringNotEquals: absent key is false", ["ForAnyValue:StringNotEquals": [tagKeys: ["team"]]], holds: false),
    when("ForAllValues:StringNotEquals: no value in the set holds", ["ForAllValues:StringNotEquals": [tagKeys: ["team"]]], tagKeysAre(["env", "owner"]), holds: true),
    when("ForAllValues:StringNotEquals: a value in the set fails", ["ForAllValues:StringNotEquals": [tagKeys: ["team"]]], tagKeysAre(["env", "team"]), holds: false),
    when("a multi-valued key with a plain positive operator matches nothing", ["StringEquals": [tagKeys: ["team", "env"]]], tagKeysAre(["team", "env"]), holds: false),
    when("a multi-valued key with a plain negated operator holds", ["StringNotEquals": [tagKeys: ["x"]]], tagKeysAre(["team", "env"]), holds: true),
    when("a one-element list behaves as a single value", ["StringEquals": [tagKeys: "team"]], tagKeysAre(["team"]), holds: true),
    when("ForAnyValue on a single-valued key treats it as a one-element set", ["ForAnyValue:StringEquals": [tag: ["red", "blue"]]], tagIs("blue"), holds: true),
    when("ForAllValues:StringEqualsIfExists: absent key holds", ["ForAllValues:StringEqualsIfExists": [tagKeys: ["team"]]], holds: true),
    when("ForAnyValue:StringEqualsIfExists: absent key holds", ["ForAnyValue:StringEqualsIfExists": [tagKeys: ["team"]]], holds: true),
]

@Test(arguments: setOperatorCases)
func setOperators(_ c: AuthCase) throws { try check(c) }

/// The context keys the nodes put on requests, each checked through a condition.
let contextKeyCases: [AuthCase] = [
    when("aws:PrincipalAccount is the caller's account", ["StringEquals": ["aws:PrincipalAccount": "111111111111"]], holds: true),
    when("aws:PrincipalArn is the caller's ARN", ["StringEquals": ["aws:PrincipalArn": "arn:aws:iam::111111111111:user/alice"]], holds: true),
    when("aws:PrincipalOrgID as the request carries it", ["StringEquals": ["aws:PrincipalOrgID": "o-abc123"]], ["aws:PrincipalOrgID": .single("o-abc123")], holds: true),
    when("aws:PrincipalTag/k", ["StringEquals": ["aws:PrincipalTag/dept": "ads"]], ["aws:PrincipalTag/dept": .single("ads")], holds: true),
    when("aws:RequestTag/k", ["StringEquals": ["aws:RequestTag/env": "prod"]], ["aws:RequestTag/env": .single("prod")], holds: true),
    when("aws:RequestedRegion", ["StringEquals": ["aws:RequestedRegion": "us-west-1"]], ["aws:RequestedRegion": .single("us-west-1")], holds: true),
    when("aws:username is set for IAM users", ["StringEquals": ["aws:username": "alice"]], holds: true),
    when("aws:PrincipalType is User for IAM users", ["StringEquals": ["aws:PrincipalType": "User"]], holds: true),
    when("cleanrooms-ml:CollaborationId", ["StringEquals": ["cleanrooms-ml:CollaborationId": .string(collaborationID)]],
         ["cleanrooms-ml:CollaborationId": .single(collaborationID)], holds: true),
    when("iam:PassedToService", ["StringEquals": ["iam:PassedToService": "cleanrooms-ml.amazonaws.com"]], ["iam:PassedToService": .single("cleanrooms-ml.amazonaws.com")], holds: true),
]

@Test(arguments: contextKeyCases)
func contextKeys(_ c: AuthCase) throws { try check(c) }
