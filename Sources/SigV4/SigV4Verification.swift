import CleanRoomsModel
import Digest

extension SigV4 {
    /// `AKID/20261203/us-west-1/cleanrooms-ml/aws4_request`.
    public struct Credential: Sendable, Equatable {
        public var accessKeyID: String
        /// `yyyyMMdd`.
        public var date: String
        public var region: String
        public var service: String

        public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

        public init(accessKeyID: String, date: String, region: String, service: String) {
            (self.accessKeyID, self.date, self.region, self.service) = (accessKeyID, date, region, service)
        }

        /// Reads `AKID/date/region/service/aws4_request`; nil if it is not one.
        public init?(_ text: String) {
            let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard parts.count == 5, parts[4].elementsEqual("aws4_request".utf8), !parts[0].isEmpty, parts[1].count == 8,
                  parts[1].allSatisfy({ $0 >= 48 && $0 <= 57 }), !parts[2].isEmpty, !parts[3].isEmpty,
                  let key = String(parts[0]), let date = String(parts[1]), let region = String(parts[2]), let service = String(parts[3]) else { return nil }
            self.init(accessKeyID: key, date: date, region: region, service: service)
        }
    }

    /// Why a request's signature is refused, as AWS says it. `code` is the error name the query
    /// and REST-XML services use; JSON services name some differently (`jsonCode`).
    public enum Failure: Error, Equatable, Sendable {
        /// No `Authorization` header and no presigned query parameters.
        case missingAuthentication
        /// The header or the presigned parameters are malformed or incomplete.
        case incompleteSignature(String)
        /// No account key with this id.
        case unknownAccessKey(String)
        case signatureDoesNotMatch
        /// The signed date is too far from now (5 minutes; 15 for S3).
        case requestExpired(String)
        /// A presigned request past its `X-Amz-Expires`.
        case presignedRequestExpired

        public var code: String {
            switch self {
            case .missingAuthentication: return "MissingAuthenticationToken"
            case .incompleteSignature: return "IncompleteSignature"
            case .unknownAccessKey: return "InvalidClientTokenId"
            case .signatureDoesNotMatch: return "SignatureDoesNotMatch"
            case .requestExpired: return "RequestExpired"
            case .presignedRequestExpired: return "AccessDenied"
            }
        }

        /// The name JSON-protocol services give it (`UnrecognizedClientException`,
        /// `MissingAuthenticationTokenException`, …).
        public var jsonCode: String {
            switch self {
            case .missingAuthentication: return "MissingAuthenticationTokenException"
            case .unknownAccessKey: return "UnrecognizedClientException"
            case .signatureDoesNotMatch: return "InvalidSignatureException"
            case .incompleteSignature: return "IncompleteSignatureException"
            default: return code
            }
        }

        public var message: String {
            switch self {
            case .missingAuthentication: return "Missing Authentication Token"
            case .incompleteSignature(let why): return why
            case .unknownAccessKey: return "The security token included in the request is invalid."
            case .signatureDoesNotMatch:
                return "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            case .requestExpired(let why): return why
            case .presignedRequestExpired: return "Request has expired"
            }
        }

        public var httpStatus: Int { 403 }
    }

    /// A request whose signature holds: who signed it, for what, and how.
    public struct Verified: Sendable, Equatable {
        public var credential: Credential
        public var signedHeaders: [String]
        /// `X-Amz-Security-Token`, for temporary credentials.
        public var securityToken: String?
        public var presigned: Bool
        /// When it was signed (epoch seconds).
        public var signedAt: Double
    }

    /// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
    /// Signature=…` header.
    public struct Authorization: Sendable, Equatable {
        public var credential: Credential
        public var signedHeaders: [String]
        public var signature: String

        public static func parse(_ header: String) -> Result<Authorization, Failure> {
            // Over the bytes: this runs for every request.
            var u = Substring(header).utf8[...]
            while u.first == 0x20 { u = u.dropFirst() }
            let prefix = Array((algorithm + " ").utf8)
            guard u.starts(with: prefix) else {
                return .failure(.incompleteSignature("Unsupported Authorization type: the header must begin with \(algorithm) (got '\(String(String(decoding: u, as: UTF8.self).prefix(40)))')"))
            }
            var fields: [String: String] = [:]
            for part in u.dropFirst(prefix.count).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
                var p = part[...]
                while p.first == 0x20 { p = p.dropFirst() }
                while p.last == 0x20 { p = p.dropLast() }
                guard let eq = p.firstIndex(of: UInt8(ascii: "=")), eq != p.startIndex else {
                    return .failure(.incompleteSignature("Authorization header has a malformed part '\(String(String(decoding: p, as: UTF8.self).prefix(60)))'"))
                }
                let name = String(decoding: p[..<eq], as: UTF8.self)
                guard fields[name] == nil else { return .failure(.incompleteSignature("Authorization header has '\(name.prefix(40))' twice")) }
                fields[name] = String(decoding: p[p.index(after: eq)...], as: UTF8.self)
            }
            for required in ["Credential", "SignedHeaders", "Signature"] where fields[required] == nil {
                return .failure(.incompleteSignature("Authorization header requires '\(required)' parameter. Authorization=\(String(header.prefix(200)))"))
            }
            guard let credential = Credential(fields["Credential"]!) else {
                return .failure(.incompleteSignature("Credential should be scoped to a valid date, region and service: 'AKID/yyyyMMdd/region/service/aws4_request', got '\(String(fields["Credential"]!.prefix(120)))'"))
            }
            let signedBytes = fields["SignedHeaders"]!.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            let signed = signedBytes.map { String(decoding: $0, as: UTF8.self) }
            guard !signed.isEmpty, signedBytes.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0 >= 65 && $0 <= 90 }) }) else {
                return .failure(.incompleteSignature("SignedHeaders must be lower-case header names separated by ';'"))
            }
            let signature = fields["Signature"]!
            guard signature.utf8.count == 64, signature.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }) else {
                return .failure(.incompleteSignature("Signature must be 64 hex digits"))
            }
            return .success(Authorization(credential: credential, signedHeaders: signed, signature: signature))
        }
    }

    /// `yyyyMMdd'T'HHmmss'Z'` as epoch seconds; nil if it is not one.
    public static func parseAmzDate(_ s: String) -> Double? {
        let b = Array(s.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z"),
              b.indices.allSatisfy({ $0 == 8 || $0 == 15 || (48...57).contains(b[$0]) }) else { return nil }
        func n(_ r: Range<Int>) -> Int { r.reduce(0) { $0 * 10 + Int(b[$1] - 48) } }
        let (year, month, day, hour, minute, second) = (n(0..<4), n(4..<6), n(6..<8), n(9..<11), n(11..<13), n(13..<15))
        guard (1...12).contains(month), day >= 1, day <= ISO8601.daysIn(month: month, year: year), hour < 24, minute < 60, second < 61 else { return nil }
        return Double(ISO8601.daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second)
    }

    /// Checks a request's signature, from its `Authorization` header or its presigned query
    /// parameters. `secret` gives the secret of an access key (nil: no such key); `now` is epoch
    /// seconds. The clock may be off by 5 minutes (15 for S3).
    public static func verify(_ request: Request, now: Double, keys: SigningKeyCache? = nil, secret: (String) -> String?) -> Result<Verified, Failure> {
        if let header = request.header("Authorization") {
            let auth: Authorization
            switch Authorization.parse(header) {
            case .success(let a): auth = a
            case .failure(let f): return .failure(f)
            }
            guard let amzDate = request.header("X-Amz-Date"), let signedAt = parseAmzDate(amzDate) else {
                return .failure(.incompleteSignature("Authorization header requires existence of a valid 'X-Amz-Date' header (yyyyMMdd'T'HHmmss'Z')"))
            }
            guard amzDate.hasPrefix(auth.credential.date) else {
                return .failure(.signatureDoesNotMatch)
            }
            guard auth.signedHeaders.contains("host") else { return .failure(.incompleteSignature("SignedHeaders must include host")) }
            return check(request, auth.credential, signedHeaders: auth.signedHeaders, signature: auth.signature, amzDate: amzDate, signedAt: signedAt,
                         token: request.header("X-Amz-Security-Token"), excludingQuery: nil, payloadHash: request.payloadHash, now: now, keys: keys, secret: secret)
        }
        // Presigned: the signature's parts are query parameters.
        var params: [String: String] = [:]
        for part in request.query.split(separator: "&") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = percentDecode(kv[0]), k.hasPrefix("X-Amz-"), let v = percentDecode(kv.count > 1 ? kv[1] : "") else { continue }
            guard params[k] == nil else { return .failure(.incompleteSignature("The presigned parameter \(k.prefix(40)) appears twice")) }
            params[k] = v
        }
        guard params["X-Amz-Signature"] != nil || params["X-Amz-Algorithm"] != nil else { return .failure(.missingAuthentication) }
        for required in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"] where params[required] == nil {
            return .failure(.incompleteSignature("A presigned request requires the '\(required)' parameter"))
        }
        guard params["X-Amz-Algorithm"] == algorithm else { return .failure(.incompleteSignature("X-Amz-Algorithm only supports \(algorithm)")) }
        guard let credential = Credential(params["X-Amz-Credential"]!) else { return .failure(.incompleteSignature("X-Amz-Credential is malformed")) }
        guard let amzDate = params["X-Amz-Date"], let signedAt = parseAmzDate(amzDate), amzDate.hasPrefix(credential.date) else {
            return .failure(.incompleteSignature("X-Amz-Date must be yyyyMMdd'T'HHmmss'Z' on the credential's date"))
        }
        guard let expires = Int(params["X-Amz-Expires"]!), (1...604_800).contains(expires) else {
            return .failure(.incompleteSignature("X-Amz-Expires must be a number of seconds from 1 to 604800"))
        }
        let signed = params["X-Amz-SignedHeaders"]!.split(separator: ";").map { String($0) }
        guard signed.contains("host") else { return .failure(.incompleteSignature("X-Amz-SignedHeaders must include host")) }
        let signature = params["X-Amz-Signature"]!
        guard signature.utf8.count == 64, Hex.decode(signature) != nil else { return .failure(.incompleteSignature("X-Amz-Signature must be 64 hex digits")) }
        let payload = credential.service == "s3" ? unsignedPayload : request.payloadHash
        let result = check(request, credential, signedHeaders: signed, signature: signature, amzDate: amzDate, signedAt: signedAt,
                           token: params["X-Amz-Security-Token"], excludingQuery: "X-Amz-Signature", payloadHash: payload, now: nil, keys: keys, secret: secret)
        if case .success = result, now > signedAt + Double(expires) { return .failure(.presignedRequestExpired) }
        if case .success = result, signedAt > now + 900 { return .failure(.requestExpired("Request is not valid yet: signed at \(amzDate)")) }
        return result.map { v in
            var v = v
            v.presigned = true
            return v
        }
    }

    private static func check(_ request: Request, _ credential: Credential, signedHeaders: [String], signature: String, amzDate: String, signedAt: Double,
                              token: String?, excludingQuery: String?, payloadHash: String, now: Double?, keys: SigningKeyCache?,
                              secret: (String) -> String?) -> Result<Verified, Failure> {
        guard let key = secret(credential.accessKeyID) else { return .failure(.unknownAccessKey(credential.accessKeyID)) }
        var r = request
        r.payloadHash = payloadHash
        guard let canonical = canonicalRequest(r, signedHeaders: signedHeaders, service: credential.service, excludingQuery: excludingQuery) else {
            return .failure(.incompleteSignature("The query string is not validly percent-encoded"))
        }
        let signingKey = keys?.key(secret: key, date: credential.date, region: credential.region, service: credential.service)
            ?? SigV4.signingKey(secret: key, date: credential.date, region: credential.region, service: credential.service)
        let expected = SigV4.signature(signingKey: signingKey,
                                       stringToSign: stringToSign(amzDate: amzDate, scope: credential.scope, canonicalRequest: canonical))
        guard constantTimeEqual(expected, signature.lowercased()) else { return .failure(.signatureDoesNotMatch) }
        if let now {
            let skew = credential.service == "s3" ? 900.0 : 300.0
            if abs(now - signedAt) > skew {
                return .failure(.requestExpired("Signature expired: \(amzDate) is now earlier than \(formatAmzDate(now - skew)) (\(formatAmzDate(now)) - \(Int(skew / 60)) min.)"))
            }
        }
        return .success(Verified(credential: credential, signedHeaders: signedHeaders, securityToken: token, presigned: false, signedAt: signedAt))
    }

    /// Epoch seconds as `yyyyMMdd'T'HHmmss'Z'`.
    public static func formatAmzDate(_ t: Double) -> String {
        ISO8601.format(t).filter { $0 != "-" && $0 != ":" }
    }

    /// An S3 request target presigned as SDKs presign it (`path?query&X-Amz-Algorithm=…&X-Amz-Signature=…`),
    /// signing only `host`, the payload unsigned; valid for `expires` seconds from `time`.
    public static func presign(method: String, path: String, query: String = "", host: String, accessKeyID: String, secret: String,
                               region: String, service: String = "s3", at time: Double, expires: Int) -> String {
        let amzDate = formatAmzDate(time)
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let q = (query.isEmpty ? "" : query + "&")
            + "X-Amz-Algorithm=\(algorithm)&X-Amz-Credential=\(uriEncode(accessKeyID + "/" + scope))&X-Amz-Date=\(amzDate)&X-Amz-Expires=\(expires)&X-Amz-SignedHeaders=host"
        let request = Request(method: method, path: path, query: q, headers: [("Host", host)], payloadHash: unsignedPayload)
        let canonical = canonicalRequest(request, signedHeaders: ["host"], service: service) ?? ""
        let sig = signature(signingKey: signingKey(secret: secret, date: String(amzDate.prefix(8)), region: region, service: service),
                            stringToSign: stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        return path + "?" + q + "&X-Amz-Signature=" + sig
    }

    /// Signs `request` as an SDK does: adds `X-Amz-Date` (and `X-Amz-Security-Token`), signs
    /// every header it then has (names lower-cased, sorted), and adds `Authorization`.
    public static func sign(_ request: inout Request, accessKeyID: String, secret: String, region: String, service: String, at time: Double,
                            securityToken: String? = nil) {
        let amzDate = formatAmzDate(time)
        request.headers.append(("X-Amz-Date", amzDate))
        if let securityToken { request.headers.append(("X-Amz-Security-Token", securityToken)) }
        let signed = Array(Set(request.headers.map { $0.name.lowercased() })).sorted()
        let credential = Credential(accessKeyID: accessKeyID, date: String(amzDate.prefix(8)), region: region, service: service)
        let canonical = canonicalRequest(request, signedHeaders: signed, service: service) ?? ""
        let sig = signature(signingKey: signingKey(secret: secret, date: credential.date, region: region, service: service),
                            stringToSign: stringToSign(amzDate: amzDate, scope: credential.scope, canonicalRequest: canonical))
        request.headers.append(("Authorization", "\(algorithm) Credential=\(accessKeyID)/\(credential.scope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(sig)"))
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
