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
        guard let colons = ARN.colons(in: text) else { return nil }
        func field(_ k: Int) -> Substring { ARN.field(k, of: text, colons) }
        partition = String(field(1))
        service = String(field(2))
        region = String(field(3))
        account = String(field(4))
        resource = String(field(5))
    }

    /// The account part of `text` when `text` is an ARN `init` accepts, without building one
    /// (requests check the account of the ARN they name on every call).
    public static func accountPart(of text: String) -> Substring? {
        colons(in: text).map { field(4, of: text, $0) }
    }

    /// The first five colons, which split the text (the resource keeps any colons after them), if
    /// the text is an ARN: `arn`, then a partition, a service and a resource that are not empty.
    /// A colon is one byte in UTF-8, so its byte position is a valid string index, whatever
    /// follows it (a combining mark after a colon makes one Character with it, and still splits).
    private static func colons(in text: String) -> [String.Index]? {
        var colons: [String.Index] = []
        colons.reserveCapacity(5)
        var i = text.utf8.startIndex
        while i < text.utf8.endIndex, colons.count < 5 {
            if text.utf8[i] == UInt8(ascii: ":") { colons.append(i) }
            i = text.utf8.index(after: i)
        }
        guard colons.count == 5, text[..<colons[0]] == "arn" else { return nil }
        for k in [1, 2, 5] where field(k, of: text, colons).isEmpty { return nil }
        return colons
    }

    /// Field `k` (1 to 5) between the colons.
    private static func field(_ k: Int, of text: String, _ colons: [String.Index]) -> Substring {
        text[text.utf8.index(after: colons[k - 1])..<(k < 5 ? colons[k] : text.endIndex)]
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
