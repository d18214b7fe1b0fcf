import Digest
import HTTP

/// AWS Signature Version 4, as AWS's specification and its SDKs compute it: the canonical
/// request, the string to sign, the signing key, the signature; the `Authorization` header and
/// presigned query parameters read back; and a verifier that says, as AWS says it, why a
/// request is refused. Pure: time and secrets come in as arguments.
///
/// Guarantees: the canonical forms match botocore's byte for byte (`Tests/SigV4Tests`, vectors
/// generated with botocore); verification compares signatures in constant time; nothing a
/// client sends can make it trap.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash S3 accepts instead of the body's SHA-256.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// A request as it arrived: its method, the path and query exactly as on the request line,
    /// its headers (any case, in order), and its payload's SHA-256 in hex (or S3's
    /// `UNSIGNED-PAYLOAD`, or a streaming marker, as `x-amz-content-sha256` says).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: String
        public var headers: [(name: String, value: String)]
        public var payloadHash: String

        public init(method: String, path: String, query: String, headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }

        /// The values of a header (case-insensitive), in order.
        public func values(_ name: String) -> [String] {
            headers.filter { HTTPRequest.sameName($0.name, name) }.map(\.value)
        }

        public func header(_ name: String) -> String? { headers.first { HTTPRequest.sameName($0.name, name) }?.value }
    }

    // MARK: Canonical forms

    /// RFC 3986 percent-encoding of everything but the unreserved characters (and `/` when
    /// `keepSlash`), with upper-case hex, over the UTF-8 bytes.
    public static func uriEncode(_ s: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 16)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where keepSlash:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// `%XX` decoded (nil if a `%` is not followed by two hex digits, or the bytes are not
    /// UTF-8); `+` is left as it is (SigV4 does not treat it as a space).
    public static func percentDecode<S: StringProtocol>(_ s: S) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            guard b == UInt8(ascii: "%") else {
                bytes.append(b)
                continue
            }
            guard let h = it.popFirst().flatMap(hexValue), let l = it.popFirst().flatMap(hexValue) else { return nil }
            bytes.append(h << 4 | l)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The canonical URI: for S3 the path as sent; for every other service the path with dot
    /// segments and repeated slashes removed, then encoded again (so `%3A` becomes `%253A`).
    public static func canonicalURI(path: String, service: String) -> String {
        if service == "s3" { return path.isEmpty ? "/" : path }
        guard !path.isEmpty else { return "/" }
        // Most paths have no empty or dot segments: nothing to normalize.
        let u = Array(path.utf8)
        var plain = u.first == UInt8(ascii: "/")
        for i in u.indices where u[i] == UInt8(ascii: "/") && i + 1 < u.count {
            let next = u[i + 1]
            if next == UInt8(ascii: "/") || (next == UInt8(ascii: ".") && (i + 2 == u.count || u[i + 2] == UInt8(ascii: "/") || u[i + 2] == UInt8(ascii: "."))) { plain = false; break }
        }
        if plain { return uriEncode(path, keepSlash: true) }
        var out: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." { _ = out.popLast() } else { out.append(segment) }
        }
        var normalized = (path.hasPrefix("/") ? "/" : "") + out.joined(separator: "/")
        if path.hasSuffix("/") && !out.isEmpty { normalized += "/" }
        return uriEncode(normalized, keepSlash: true)
    }

    /// The canonical query string: each parameter decoded and encoded again (RFC 3986), sorted
    /// by name and then value; a name without `=` has an empty value. `excluding` names a
    /// parameter left out (the signature of a presigned request). Nil if a parameter is not
    /// validly percent-encoded.
    public static func canonicalQuery(_ raw: String, excluding: String? = nil) -> String? {
        guard !raw.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = percentDecode(kv[0]), let v = percentDecode(kv.count > 1 ? kv[1] : "") else { return nil }
            if k == excluding { continue }
            pairs.append((uriEncode(k), uriEncode(v)))
        }
        pairs.sort { $0.0 != $1.0 ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// A header value as signed: surrounding white space removed, inner runs of it made one space.
    public static func trimAll(_ value: String) -> String {
        // Most values have nothing to trim.
        var previousSpace = true
        var clean = true
        for b in value.utf8 {
            let space = b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
            if space && (previousSpace || b != 0x20) { clean = false; break }
            previousSpace = space
        }
        if clean && !previousSpace { return value }
        return value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// The canonical headers block (each `name:value\n`) of the headers `signed` names.
    public static func canonicalHeaders(_ request: Request, signed: [String]) -> String {
        signed.map { name in "\(name):\(request.values(name).map(trimAll).joined(separator: ","))\n" }.joined()
    }

    /// The canonical request (nil if the query is not validly encoded).
    public static func canonicalRequest(_ request: Request, signedHeaders: [String], service: String, excludingQuery: String? = nil) -> String? {
        guard let query = canonicalQuery(request.query, excluding: excludingQuery) else { return nil }
        return [request.method, canonicalURI(path: request.path, service: service), query,
                canonicalHeaders(request, signed: signedHeaders), signedHeaders.joined(separator: ";"), request.payloadHash].joined(separator: "\n")
    }

    public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope, Hex.encode(SHA256.hash(Array(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    /// The key that signs a day's requests to one service in one region.
    /// Signing keys already derived, as SDKs keep them: one per secret, day, region and service.
    /// Not thread-safe: one cache per thread (the node's event loop has its own).
    public final class SigningKeyCache {
        private var keys: [String: [UInt8]] = [:]

        public init() {}

        public func key(secret: String, date: String, region: String, service: String) -> [UInt8] {
            let id = "\(secret)\u{0}\(date)\u{0}\(region)\u{0}\(service)"
            if let k = keys[id] { return k }
            if keys.count >= 4096 { keys.removeAll() }
            let k = SigV4.signingKey(secret: secret, date: date, region: region, service: service)
            keys[id] = k
            return k
        }
    }

    public static func signingKey(secret: String, date: String, region: String, service: String) -> [UInt8] {
        var k = HMACSHA256.authenticate(Array(date.utf8), key: Array(("AWS4" + secret).utf8))
        for part in [region, service, "aws4_request"] { k = HMACSHA256.authenticate(Array(part.utf8), key: k) }
        return k
    }

    public static func signature(signingKey: [UInt8], stringToSign: String) -> String {
        Hex.encode(HMACSHA256.authenticate(Array(stringToSign.utf8), key: signingKey))
    }

    /// Equal strings, compared in time that does not depend on where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in x.indices { d |= x[i] ^ y[i] }
        return d == 0
    }
}
