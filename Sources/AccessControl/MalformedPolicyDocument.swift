import JSON

/// Why a policy document was rejected, in IAM's words plus where.
///
/// `reason` is the sentence IAM itself returns (`Syntax errors in policy.`, `Policy statement
/// must contain resources.`, …); the rest says which statement (1-based, with its `Sid` and its
/// line in the text), which element, and what exactly is wrong, so a person can fix it without
/// guessing. `message` joins them into the text that goes back to the caller under the
/// `MalformedPolicyDocument` error type.
public struct MalformedPolicyDocument: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public let statement: Int?
    public let sid: String?
    public let element: String?
    public let detail: String?
    public let position: JSONPosition?

    public init(reason: String, statement: Int? = nil, sid: String? = nil, element: String? = nil, detail: String? = nil, position: JSONPosition? = nil) {
        self.reason = reason
        self.statement = statement
        self.sid = sid
        self.element = element
        self.detail = detail
        self.position = position
    }

    public var message: String {
        var whereParts: [String] = []
        if let statement {
            var s = "statement \(statement)"
            if let sid, !sid.isEmpty { s += " (Sid \"\(sid)\")" }
            if let position { s += " at line \(position.line)" }
            whereParts.append(s)
        } else if let position {
            whereParts.append("line \(position.line), column \(position.column)")
        }
        if let element { whereParts.append("element \(element)") }
        var tail = whereParts.joined(separator: ", ")
        if let detail { tail += tail.isEmpty ? detail : ": \(detail)" }
        return tail.isEmpty ? reason : "\(reason) (\(tail))"
    }

    public var description: String { message }
}

/// IAM's own sentences.
enum IAMReason {
    static let syntax = "Syntax errors in policy."
    static let legacy = "The policy failed legacy parsing"
    static let noPrincipalAllowed = "Policy document should not specify a principal."
    static let principalRequired = "Missing required field Principal"
    static let actionsRequired = "Policy statement must contain actions."
    static let resourcesRequired = "Policy statement must contain resources."
    static let uniqueSid = "Statement IDs (SID) in a single policy must be unique."
    static let alphanumericSid = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
    static let vendorPrefix = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    static let oneColon = "Actions/Condition can contain only one colon."
    static let vendorRegex = "Resource vendor must be fully qualified and cannot contain regexes."
    static let variableOutsideResource = "Policy variables are allowed only in the resource part of an ARN (after the fifth colon)."
    static func vendorInvalid(_ v: String) -> String { "Vendor \(v) is not valid" }
    static func arnFormat(_ r: String) -> String { "Resource \(r) must be in ARN format or \"*\"." }
    static func partition(_ p: String, _ r: String) -> String { "Partition \"\(p)\" is not valid for resource \"\(r)\"." }
    static func iamRegion(_ r: String) -> String { "IAM resource \(r) cannot contain region information." }
    static func s3Region(_ r: String) -> String { "Resource \(r) can not contain region information." }
    static let trustResource = "Has prohibited field Resource."
    static let trustActions = "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
    static let iamPath = "IAM resource path must either be \"*\", root, or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."
    static func invalidPrincipal(_ type: String, _ value: String) -> String { "Invalid principal in policy: \"\(type)\":\"\(value)\"" }
}
