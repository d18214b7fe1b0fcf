/// One HTTP/1.1 request as it arrived.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent (`/path?query`).
    public var target: String
    /// The target's path and query, split at the first `?` (still percent-encoded).
    public var path: String
    public var query: String
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// A request as a client would send it (`target` is split at its first `?`).
    public init(method: String, target: String, version: String = "HTTP/1.1", headers: [(name: String, value: String)], body: [UInt8] = []) {
        self.method = method
        self.target = target
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<q])
            query = String(target[target.utf8.index(after: q)...])
        } else {
            path = target
            query = ""
        }
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (names are case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { HTTPRequest.sameName($0.name, name) }?.value
    }

    /// Header names compared ASCII case-insensitively, without copying either.
    public static func sameName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) where x != y {
            if (x | 0x20) != (y | 0x20) || !((x | 0x20) >= 97 && (x | 0x20) <= 122) { return false }
        }
        return true
    }

    /// Whether the connection stays open after the answer (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        guard header("Connection") != nil else { return version == "HTTP/1.1" }
        let tokens = (header("Connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
        return version == "HTTP/1.1" ? !tokens.contains("close") : tokens.contains("keep-alive")
    }
}

/// Why a request could not be read, with the status to answer before closing the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }
}

/// Reads HTTP/1.1 requests from a byte stream, incrementally: feed bytes as they come, get
/// requests (pipelined ones in order), a cue to send `100 Continue`, or the error that ends the
/// connection.
///
/// Guarantees: the same bytes give the same events however they are split; framing is strict
/// (a request with both `Content-Length` and `Transfer-Encoding`, two different lengths, a
/// transfer coding other than `chunked`, folded header lines, or bare LF line ends is refused,
/// so no request can be smuggled past it); the head and the body are bounded (431 and 413);
/// nothing a client sends makes it trap. After an error it reads nothing more.
public struct HTTPRequestParser: Sendable {
    public struct Limits: Sendable {
        /// Request line and headers together.
        public var maxHeadBytes = 16 * 1024
        public var maxHeaders = 100
        public var maxBodyBytes = 64 * 1024 * 1024

        public init() {}
    }

    public enum Event: Sendable {
        case request(HTTPRequest)
        /// The client asked (`Expect: 100-continue`) whether to send the body: say
        /// `HTTP/1.1 100 Continue` (or answer with an error and close).
        case expectContinue
        case error(HTTPParseError)
    }

    private enum State {
        case head
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed
    }

    public let limits: Limits
    private var state = State.head
    private var buffer: [UInt8] = []
    private var start = 0
    private var pending: HTTPRequest?
    private var trailerBytes = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Between requests: no bytes of a next request have arrived.
    public var isIdle: Bool { if case .head = state { return start == buffer.count } else { return false } }

    /// Whether an error ended the stream.
    public var failed: Bool { if case .failed = state { return true } else { return false } }

    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) -> [Event] {
        guard !failed else { return [] }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while true {
            let before = (start, stateTag)
            if let e = step(&events) {
                events.append(.error(e))
                state = .failed
                buffer = []
                start = 0
                return events
            }
            if (start, stateTag) == before { break }
        }
        if start > 0 && (start == buffer.count || start > 64 * 1024) {
            buffer.removeFirst(start)
            start = 0
        }
        return events
    }

    private var stateTag: Int {
        switch state {
        case .head: return 0
        case .body(let r): return 1 + r * 8
        case .chunkSize: return 2
        case .chunkData(let r): return 3 + r * 8
        case .chunkDataEnd: return 4
        case .trailers: return 5 + trailerBytes * 8
        case .failed: return 6
        }
    }

    /// The index just past the next CRLF at or after `from`, or nil; a bare LF is an error.
    private func lineEnd(from: Int) -> Result<Int, HTTPParseError>? {
        var i = from
        while i < buffer.count {
            if buffer[i] == 0x0A {
                guard i > from, buffer[i - 1] == 0x0D else { return .failure(HTTPParseError(400, "Bad Request: lines must end with CRLF")) }
                return .success(i + 1)
            }
            i += 1
        }
        return nil
    }

    /// Moves as far as the buffered bytes allow; returns an error that ends the stream.
    private mutating func step(_ events: inout [Event]) -> HTTPParseError? {
        switch state {
        case .failed:
            return nil
        case .head:
            // The head ends at the first empty line.
            var i = start
            while true {
                guard let r = lineEnd(from: i) else {
                    if buffer.count - start > limits.maxHeadBytes { return HTTPParseError(431, "Request Header Fields Too Large: the request line and headers exceed \(limits.maxHeadBytes) bytes") }
                    return nil
                }
                switch r {
                case .failure(let e): return e
                case .success(let next):
                    if next - start > limits.maxHeadBytes { return HTTPParseError(431, "Request Header Fields Too Large: the request line and headers exceed \(limits.maxHeadBytes) bytes") }
                    if next - i == 2 && i == start {
                        // Empty lines before a request are tolerated (RFC 9112 2.2).
                        start = next
                        i = next
                        continue
                    }
                    if next - i == 2 {
                        let head = Array(buffer[start..<i])
                        start = next
                        return beginRequest(head, &events)
                    }
                    i = next
                }
            }
        case .body(let remaining):
            let available = buffer.count - start
            guard available > 0 || remaining == 0 else { return nil }
            let n = min(available, remaining)
            pending!.body.append(contentsOf: buffer[start..<start + n])
            start += n
            if remaining - n == 0 { finish(&events) } else { state = .body(remaining: remaining - n) }
            return nil
        case .chunkSize:
            guard let r = lineEnd(from: start) else {
                if buffer.count - start > 1024 { return HTTPParseError(400, "Bad Request: a chunk size line is too long") }
                return nil
            }
            guard case .success(let next) = r else { if case .failure(let e) = r { return e }; return nil }
            let line = buffer[start..<next - 2]
            start = next
            let sizeText = line.prefix { $0 != UInt8(ascii: ";") }.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            guard !sizeText.isEmpty, sizeText.count <= 8, let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16), size >= 0 else {
                return HTTPParseError(400, "Bad Request: a chunk size must be hexadecimal digits")
            }
            if size == 0 {
                state = .trailers
                trailerBytes = 0
                return nil
            }
            if pending!.body.count + size > limits.maxBodyBytes { return HTTPParseError(413, "Payload Too Large: the body exceeds \(limits.maxBodyBytes) bytes") }
            state = .chunkData(remaining: size)
            return nil
        case .chunkData(let remaining):
            let n = min(buffer.count - start, remaining)
            guard n > 0 else { return nil }
            pending!.body.append(contentsOf: buffer[start..<start + n])
            start += n
            state = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            return nil
        case .chunkDataEnd:
            guard buffer.count - start >= 2 else { return nil }
            guard buffer[start] == 0x0D, buffer[start + 1] == 0x0A else { return HTTPParseError(400, "Bad Request: a chunk's data must end with CRLF") }
            start += 2
            state = .chunkSize
            return nil
        case .trailers:
            // Trailer fields are read and dropped; an empty line ends the message.
            guard let r = lineEnd(from: start) else {
                if trailerBytes + buffer.count - start > limits.maxHeadBytes { return HTTPParseError(431, "Request Header Fields Too Large: trailers") }
                return nil
            }
            guard case .success(let next) = r else { if case .failure(let e) = r { return e }; return nil }
            let empty = next - start == 2
            trailerBytes += next - start
            start = next
            if empty { finish(&events) } else if trailerBytes > limits.maxHeadBytes { return HTTPParseError(431, "Request Header Fields Too Large: trailers") }
            return nil
        }
    }

    private mutating func finish(_ events: inout [Event]) {
        events.append(.request(pending!))
        pending = nil
        state = .head
    }

    private static func isToken(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
             UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// Reads a head (request line and header lines, without the final empty line) and sets the
    /// state for its body.
    private mutating func beginRequest(_ head: [UInt8], _ events: inout [Event]) -> HTTPParseError? {
        var lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { $0.dropLast() }  // each ends with CR
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return HTTPParseError(400, "Bad Request: no request line") }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isToken), !parts[1].isEmpty,
              parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return HTTPParseError(400, "Bad Request: the request line must be METHOD SP TARGET SP HTTP-VERSION")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return version.hasPrefix("HTTP/") ? HTTPParseError(505, "HTTP Version Not Supported: \(version.prefix(16))") : HTTPParseError(400, "Bad Request: no HTTP version")
        }
        var target = String(decoding: parts[1], as: UTF8.self)
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            // Absolute form: the path and query are what follows the authority.
            let rest = target.drop { $0 != ":" }.dropFirst(3)
            target = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        guard target.hasPrefix("/") || target == "*" else { return HTTPParseError(400, "Bad Request: the target must be a path") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
                return HTTPParseError(400, "Bad Request: folded header lines are not allowed")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex, line[line.startIndex..<colon].allSatisfy(Self.isToken) else {
                return HTTPParseError(400, "Bad Request: a header line must be NAME: VALUE")
            }
            let value = line[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
            guard value.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }), !value.contains(0x7F) else { return HTTPParseError(400, "Bad Request: a header value has a control character") }
            var v = Array(value)
            while let last = v.last, last == 0x20 || last == 0x09 { v.removeLast() }
            headers.append((String(decoding: line[line.startIndex..<colon], as: UTF8.self), String(decoding: v, as: UTF8.self)))
            if headers.count > limits.maxHeaders { return HTTPParseError(431, "Request Header Fields Too Large: more than \(limits.maxHeaders) headers") }
        }
        var request = HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), target: target, version: version, headers: headers)
        if version == "HTTP/1.1" && request.header("Host") == nil { return HTTPParseError(400, "Bad Request: HTTP/1.1 requests need a Host header") }
        let lengths = headers.filter { HTTPRequest.sameName($0.name, "content-length") }.map(\.value)
        let codings = headers.filter { HTTPRequest.sameName($0.name, "transfer-encoding") }.map(\.value)
        if !codings.isEmpty {
            guard lengths.isEmpty else { return HTTPParseError(400, "Bad Request: a request may not have both Content-Length and Transfer-Encoding") }
            let all = codings.flatMap { $0.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " \t") } }
            guard all == ["chunked"] else { return HTTPParseError(501, "Not Implemented: the only transfer coding accepted is chunked (got \(codings.joined(separator: ", ").prefix(60)))") }
            request.body.reserveCapacity(0)
            pending = request
            if expectsContinue(request) { events.append(.expectContinue) }
            state = .chunkSize
            return nil
        }
        var length = 0
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.count <= 12, first.utf8.allSatisfy({ (48...57).contains($0) }), let n = Int(first) else {
                return HTTPParseError(400, "Bad Request: Content-Length must be one decimal number")
            }
            length = n
        }
        guard length <= limits.maxBodyBytes else { return HTTPParseError(413, "Payload Too Large: the body is \(length) bytes, at most \(limits.maxBodyBytes) are accepted") }
        request.body.reserveCapacity(min(length, 1 << 20))
        pending = request
        if length > 0 && expectsContinue(request) { events.append(.expectContinue) }
        state = .body(remaining: length)
        return nil
    }

    private func expectsContinue(_ r: HTTPRequest) -> Bool {
        r.version == "HTTP/1.1" && r.header("Expect")?.lowercased() == "100-continue"
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
