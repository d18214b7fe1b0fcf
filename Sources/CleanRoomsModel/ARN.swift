/// An Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
///
/// Parsing checks the shape (the `arn` prefix and six colon-separated parts, a non-empty
/// partition, service and resource); the resource part may itself contain colons and slashes.
/// The textual form round-trips exactly.
public struct ARN: Hashable, Sendable, TextIdentifier {
    public let partition: String
    public let service: String
    public let region: String
    public let account: String
    public let resource: String

    public init(partition: String = "aws", service: String, region: String, account: String, resource: String) {
        self.partition = partition
        self.service = service
        self.region = region
        self.account = account
        self.resource = resource
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty else {
            return nil
        }
        partition = String(parts[1])
        service = String(parts[2])
        region = String(parts[3])
        account = String(parts[4])
        resource = String(parts[5])
    }

    public var description: String { "arn:\(partition):\(service):\(region):\(account):\(resource)" }

    /// The account as an `AccountID`, when the account part is one.
    public var accountID: AccountID? { AccountID(account) }

    /// The resource type: the resource part up to the first `/` or `:` (`user` in `user/alice`).
    public var resourceType: String {
        if let i = resource.firstIndex(where: { $0 == "/" || $0 == ":" }) { return String(resource[..<i]) }
        return resource
    }

    /// The resource part after the type and its separator (`alice` in `user/alice`).
    public var resourceID: String {
        if let i = resource.firstIndex(where: { $0 == "/" || $0 == ":" }) { return String(resource[resource.index(after: i)...]) }
        return ""
    }

    public static var expectedForm: String { "an ARN (arn:partition:service:region:account:resource)" }
}
