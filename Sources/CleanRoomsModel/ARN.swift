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
        // The first five colons split the text; the resource keeps any colons after them. A colon
        // is one byte in UTF-8, so byte positions are valid string indices (ARNs are parsed on
        // every request: this avoids splitting by Character).
        var colons: [String.Index] = []
        colons.reserveCapacity(5)
        var i = text.utf8.startIndex
        while i < text.utf8.endIndex, colons.count < 5 {
            if text.utf8[i] == UInt8(ascii: ":") { colons.append(i) }
            i = text.utf8.index(after: i)
        }
        guard colons.count == 5, text[..<colons[0]] == "arn" else { return nil }
        func field(_ k: Int) -> Substring { text[text.utf8.index(after: colons[k - 1])..<(k < 5 ? colons[k] : text.endIndex)] }
        guard !field(1).isEmpty, !field(2).isEmpty, !field(5).isEmpty else { return nil }
        partition = String(field(1))
        service = String(field(2))
        region = String(field(3))
        account = String(field(4))
        resource = String(field(5))
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
