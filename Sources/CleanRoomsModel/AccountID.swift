/// A 12-digit AWS account id. Constructing one validates it, so an `AccountID` in hand is always
/// well formed.
public struct AccountID: Hashable, Comparable, Sendable, TextIdentifier {
    public let rawValue: String

    public init?(_ text: String) {
        guard text.utf8.count == 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        rawValue = text
    }

    public var description: String { rawValue }

    public static func < (a: AccountID, b: AccountID) -> Bool { a.rawValue < b.rawValue }

    public static var expectedForm: String { "a 12-digit account id" }

    /// The account's root principal, `arn:PARTITION:iam::ACCOUNT:root`.
    public func rootARN(partition: String = "aws") -> ARN {
        ARN(partition: partition, service: "iam", region: "", account: rawValue, resource: "root")
    }
}
