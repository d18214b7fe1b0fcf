import CleanRoomsModel
import JSON

/// Identifies a request to the shell that sent it; the core hands it back with the reply.
public struct RequestToken: Hashable, Sendable {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
}

/// An authenticated client's API call, as the shell hands it to the core.
public struct ClientRequest: Sendable {
    public var token: RequestToken
    /// `service.Operation`.
    public var method: String
    public var params: JSON
    /// The access key the connection authenticated with.
    public var accessKeyID: String
    public var sourceIP: String
    /// Wall-clock time of the request, epoch seconds.
    public var now: Double

    public init(token: RequestToken, method: String, params: JSON, accessKeyID: String, sourceIP: String, now: Double) {
        self.token = token
        self.method = method
        self.params = params
        self.accessKeyID = accessKeyID
        self.sourceIP = sourceIP
        self.now = now
    }
}

/// What the core answers a request with.
public enum Reply: Sendable {
    case result(JSON)
    /// `result` plus the bytes of a stored blob as base64 in `Body` (S3 GetObject).
    case resultWithBody(JSON, blob: String)
    /// A service error; `protocolCode` is set for JSON-RPC's own faults (unknown method).
    case error(AWSError, protocolCode: Int? = nil)
}

/// What the shell must do for the core, in order.
public enum Effect: Sendable {
    /// Store bytes under a blob id, durably, before the next `persist` is durable.
    case writeBlob(id: String, bytes: [UInt8])
    /// Append events to the write-ahead log; every later `reply` waits until they are durable.
    case persist([StateEvent])
    /// Remove a blob once everything before it is durable.
    case deleteBlob(id: String)
    /// Record an audit event (kept for LookupEvents, written to the audit file).
    case audit(AuditEvent)
    case reply(RequestToken, Reply)
}
