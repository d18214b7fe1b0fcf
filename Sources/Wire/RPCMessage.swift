import CleanRoomsModel
import JSON

/// A JSON-RPC 2.0 request id: a number or a string (`null` only in error replies to requests
/// whose id could not be read).
public enum RPCID: Hashable, Sendable, CustomStringConvertible {
    case number(Int)
    case string(String)

    public init?(_ json: JSON) {
        switch json {
        case .number: guard let n = json.intValue else { return nil }; self = .number(n)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }

    public var json: JSON {
        switch self {
        case .number(let n): return .int(n)
        case .string(let s): return .string(s)
        }
    }

    public var description: String {
        switch self {
        case .number(let n): return String(n)
        case .string(let s): return s
        }
    }
}

/// JSON-RPC's own error codes, for faults of the protocol rather than of the service.
public enum RPCErrorCode {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
}

/// An error as it travels: JSON-RPC `code` and `message`, and in `data` the AWS error type and
/// HTTP status. Service errors use the HTTP status as `code`; protocol faults use JSON-RPC's
/// negative codes and still carry a `data.type` (`SerializationException`, `UnknownOperationException`,
/// `UnrecognizedClientException`, …) so a client can always print aws-cli's message.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var type: String
    public var httpStatus: Int

    public init(code: Int, message: String, type: String, httpStatus: Int) {
        self.code = code
        self.message = message
        self.type = type
        self.httpStatus = httpStatus
    }

    public init(_ error: AWSError) {
        self.init(code: error.code.httpStatus, message: error.message, type: error.code.name, httpStatus: error.code.httpStatus)
    }

    public var json: JSON {
        ["code": .int(code), "message": .string(message), "data": ["type": .string(type), "httpStatus": .int(httpStatus)]]
    }

    public init?(json: JSON) {
        guard let code = json["code"]?.intValue, let message = json["message"]?.stringValue else { return nil }
        self.code = code
        self.message = message
        type = json["data"]?["type"]?.stringValue ?? "UnknownError"
        httpStatus = json["data"]?["httpStatus"]?.intValue ?? 500
    }

    public var description: String { "\(type): \(message)" }

    public static func parse(_ detail: String) -> RPCError {
        RPCError(code: RPCErrorCode.parseError, message: "Parse error: \(detail)", type: "SerializationException", httpStatus: 400)
    }

    public static func invalidRequest(_ detail: String) -> RPCError {
        RPCError(code: RPCErrorCode.invalidRequest, message: "Invalid request: \(detail)", type: "SerializationException", httpStatus: 400)
    }

    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: RPCErrorCode.methodNotFound, message: "Method not found: \(method) is not an operation this node serves",
                 type: "UnknownOperationException", httpStatus: 404)
    }

    public static func invalidParams(_ detail: String) -> RPCError {
        RPCError(code: RPCErrorCode.invalidParams, message: "Invalid params: \(detail)", type: "SerializationException", httpStatus: 400)
    }

    public static func internalError(_ detail: String) -> RPCError {
        RPCError(code: RPCErrorCode.internalError, message: "Internal error: \(detail)", type: "InternalServiceException", httpStatus: 500)
    }

    public static func unauthenticated(_ detail: String) -> RPCError {
        RPCError(code: 403, message: detail, type: AWSErrorCode.unrecognizedClient.name, httpStatus: 403)
    }
}

/// One message on the wire.
public enum RPCMessage: Sendable, Equatable {
    case request(id: RPCID, method: String, params: JSON)
    case notification(method: String, params: JSON)
    case result(id: RPCID, result: JSON)
    case error(id: RPCID?, error: RPCError)

    /// Reads one line. A line that is not a valid JSON-RPC 2.0 message yields the error to send
    /// back (with the request's id when it could be read).
    public static func parse(_ line: [UInt8]) -> Result<RPCMessage, RPCErrorWithID> {
        let json: JSON
        do {
            json = try JSONParser.parse(line)
        } catch {
            return .failure(RPCErrorWithID(id: nil, error: .parse(error.description)))
        }
        guard case .object(let o) = json else {
            if case .array = json { return .failure(RPCErrorWithID(id: nil, error: .invalidRequest("batch requests are not supported; send one object per line"))) }
            return .failure(RPCErrorWithID(id: nil, error: .invalidRequest("a message must be a JSON object, not \(json.typeName)")))
        }
        let id = o["id"].flatMap(RPCID.init)
        guard o["jsonrpc"] == "2.0" else {
            return .failure(RPCErrorWithID(id: id, error: .invalidRequest("\"jsonrpc\" must be \"2.0\"")))
        }
        if let idJSON = o["id"], !idJSON.isNull, id == nil {
            return .failure(RPCErrorWithID(id: nil, error: .invalidRequest("\"id\" must be an integer or a string")))
        }
        if let method = o["method"] {
            guard let m = method.stringValue, !m.isEmpty else {
                return .failure(RPCErrorWithID(id: id, error: .invalidRequest("\"method\" must be a non-empty string")))
            }
            let params = o["params"] ?? .object([:])
            switch params {
            case .object, .array: break
            default: return .failure(RPCErrorWithID(id: id, error: .invalidRequest("\"params\" must be an object")))
            }
            if let id { return .success(.request(id: id, method: m, params: params)) }
            return .success(.notification(method: m, params: params))
        }
        if let result = o["result"], let id {
            return .success(.result(id: id, result: result))
        }
        if let e = o["error"], let err = RPCError(json: e) {
            return .success(.error(id: id, error: err))
        }
        return .failure(RPCErrorWithID(id: id, error: .invalidRequest("a message needs \"method\", \"result\" or \"error\"")))
    }

    public var json: JSON {
        switch self {
        case .request(let id, let method, let params):
            return ["jsonrpc": "2.0", "id": id.json, "method": .string(method), "params": params]
        case .notification(let method, let params):
            return ["jsonrpc": "2.0", "method": .string(method), "params": params]
        case .result(let id, let result):
            return ["jsonrpc": "2.0", "id": id.json, "result": result]
        case .error(let id, let error):
            return ["jsonrpc": "2.0", "id": id?.json ?? .null, "error": error.json]
        }
    }

    /// The message as one line, `\n` included: the bytes of `json`, written without building
    /// the envelope as a dictionary (every request and answer passes here).
    public var line: [UInt8] {
        var w = JSONObjectWriter()
        switch self {
        case .request(let id, let method, let params):
            w.member("id", id.json)
            w.member("jsonrpc", "2.0")
            w.member("method", method)
            w.member("params", params)
        case .notification(let method, let params):
            w.member("jsonrpc", "2.0")
            w.member("method", method)
            w.member("params", params)
        case .result(let id, let result):
            w.member("id", id.json)
            w.member("jsonrpc", "2.0")
            w.member("result", result)
        case .error(let id, let error):
            w.member("error", error.json)
            w.member("id", id?.json ?? .null)
            w.member("jsonrpc", "2.0")
        }
        var out = w.finish()
        out.append(0x0A)
        return out
    }
}

public struct RPCErrorWithID: Error, Sendable, Equatable {
    public var id: RPCID?
    public var error: RPCError
}
