/// An HTTP/1.1 response, serialized with `Content-Length` (never chunked).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The status line, the headers, `Content-Length` (unless given), the body. Header values
    /// lose any CR or LF (no response splitting).
    public var bytes: [UInt8] {
        var out = Array("HTTP/1.1 \(status) \(HTTPResponse.reason(status))\r\n".utf8)
        var hasLength = false
        for h in headers {
            if h.name.lowercased() == "content-length" { hasLength = true }
            // Over bytes, not Characters: "\r\n" is one Character and would slip past a Character filter.
            out += Array("\(h.name): ".utf8) + h.value.utf8.filter { $0 != 0x0D && $0 != 0x0A } + [0x0D, 0x0A]
        }
        if !hasLength { out += Array("Content-Length: \(body.count)\r\n".utf8) }
        out += [0x0D, 0x0A]
        out += body
        return out
    }

    /// What the client is told before it sends a body it asked about.
    public static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}
