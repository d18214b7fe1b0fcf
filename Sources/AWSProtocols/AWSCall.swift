import JSON

/// A request the front has read and routed: the operation, and its input as the node's
/// JSON-RPC takes it (timestamps as epoch seconds, blobs as base64).
public struct AWSCall: Sendable {
    public let service: ProtocolService
    public let operation: String
    public var params: JSON
    /// A `HEAD` request: its answer has headers and no body.
    public let isHead: Bool

    /// The node's method name (`cleanroomsml.GetAudienceGenerationJob`).
    public var method: String { "\(service.model.name).\(operation)" }
}

/// An error as the service's protocol answers it: the AWS error code, a message for a person
/// and the HTTP status.
public struct AWSWireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var status: Int

    public init(_ code: String, _ message: String, status: Int) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "\(code) (\(status)): \(message)" }
}
