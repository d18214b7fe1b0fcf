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
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.count * 48 + body.count)
        out += "HTTP/1.1 ".utf8
        out += String(status).utf8
        out.append(0x20)
        out += HTTPResponse.reason(status).utf8
        out += [0x0D, 0x0A]
        var hasLength = false
        for h in headers {
            if HTTPRequest.sameName(h.name, "content-length") { hasLength = true }
            // Names and values lose CR and LF (over bytes: "\r\n" is one Character).
            for b in h.name.utf8 where b != 0x0D && b != 0x0A { out.append(b) }
            out += [UInt8(ascii: ":"), 0x20]
            for b in h.value.utf8 where b != 0x0D && b != 0x0A { out.append(b) }
            out += [0x0D, 0x0A]
        }
        if !hasLength {
            out += "Content-Length: ".utf8
            out += String(body.count).utf8
            out += [0x0D, 0x0A]
        }
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
