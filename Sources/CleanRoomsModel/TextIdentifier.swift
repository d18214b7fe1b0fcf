/// An identifier with a validated textual form (an account id, an ARN). Encodes as its text and
/// decodes only from text that validates, so a decoded value is always well formed.
public protocol TextIdentifier: Codable, CustomStringConvertible {
    init?(_ text: String)
    /// What a valid value looks like, for decoding errors ("a 12-digit account id").
    static var expectedForm: String { get }
}

extension TextIdentifier {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = Self(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(s) is not \(Self.expectedForm)"))
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
