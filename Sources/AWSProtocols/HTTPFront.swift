import CleanRoomsModel
import Digest
import HTTP
import JSON
import SigV4

/// The HTTP front of an account node, as a pure function of a request: it checks the SigV4
/// signature against the account's keys, finds the service by the credential scope's signing
/// name, unwraps S3's `aws-chunked` bodies and checks their checksums, and reads the
/// operation's input as the service's protocol sends it.
///
/// Guarantees: nothing reaches the node unless its signature holds for an active key of the
/// account and its body matches the checksums it states; every refusal is written in the
/// protocol of the service the client asked for, with AWS's error code and status.
public enum HTTPFront {
    public enum Decision: Sendable {
        /// Run this call as the key's principal.
        case call(AWSCall, accessKeyID: String)
        /// Answer at once (the request was refused).
        case reject(HTTPResponse)
    }

    /// An access key's secret and the session token its requests must carry (a role session's;
    /// nil for a long-term key); nil: no such active key.
    public typealias Credentials = (secret: String, sessionToken: String?)

    /// Reads one request. `credentials` looks an access key up (once per request).
    /// `region`: the node's; a scope naming another is refused (IAM and STS, global services,
    /// take any).
    /// `keys`: signing keys already derived (the caller's cache).
    public static func accept(_ request: HTTPRequest, now: Double, requestID: String, region: String? = nil, keys: SigV4.SigningKeyCache? = nil,
                              credentials lookUp: (String) -> Credentials?) -> Decision {
        // The signature, the session token and S3's chunk signatures all ask about the same key.
        var found: (key: String, credentials: Credentials?)?
        func credentials(_ key: String) -> Credentials? {
            if let f = found, f.key == key { return f.credentials }
            let c = lookUp(key)
            found = (key, c)
            return c
        }
        func secret(_ key: String) -> String? { credentials(key)?.secret }
        func sessionToken(_ key: String) -> String? { credentials(key)?.sessionToken }
        let isHead = request.method == "HEAD"
        if request.header("Authorization") == nil, request.query.contains("AWSAccessKeyId="), let s3 = ProtocolService.bySigningName["s3"] {
            return legacyPresignedS3(request, service: s3, now: now, requestID: requestID, secret: secret, sessionToken: sessionToken)
        }
        let scopeService = credentialService(request)
        guard let scopeService else {
            let wire = guessWire(request)
            return .reject(rejection(.missingAuthentication, wire: wire, s3: wire == .restXML, requestID: requestID, isHead: isHead))
        }
        guard let service = ProtocolService.bySigningName[scopeService] else {
            let names = ProtocolService.bySigningName.keys.sorted().joined(separator: ", ")
            return .reject(ProtocolService.errorResponse(AWSWireError("UnknownServiceException", "This node serves \(names); the request is signed for '\(scopeService.prefix(60))'", status: 400),
                                                         wire: guessWire(request), requestID: requestID, isHead: isHead))
        }
        let isS3 = service.model.name == "s3"
        let contentHash = request.header("x-amz-content-sha256")
        let bodyHash = request.body.isEmpty ? SigV4.emptySHA256 : Hex.encode(SHA256.hash(request.body))
        var payloadHash = bodyHash
        if isS3, request.header("Authorization") != nil {
            guard let contentHash else {
                return .reject(service.errorResponse(AWSWireError("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", status: 400), requestID: requestID, isHead: isHead))
            }
            if contentHash.utf8.count == 64, Hex.decode(contentHash) != nil {
                guard contentHash.lowercased() == bodyHash else {
                    return .reject(service.errorResponse(AWSWireError("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", status: 400),
                                                         requestID: requestID, isHead: isHead))
                }
            }
            payloadHash = contentHash
        }
        let sigRequest = SigV4.Request(method: request.method, path: request.path, query: request.query, headers: request.headers, payloadHash: payloadHash)
        let verified: SigV4.Verified
        switch SigV4.verify(sigRequest, now: now, keys: keys, secret: secret) {
        case .success(let v): verified = v
        case .failure(let f): return .reject(rejection(f, wire: service.wire, s3: isS3, xmlns: service.xmlNamespace, requestID: requestID, isHead: isHead))
        }
        // The service routed to is the one the signature covers.
        guard verified.credential.service == scopeService else {
            return .reject(rejection(.incompleteSignature("The request names more than one credential scope"), wire: service.wire, s3: isS3,
                                     xmlns: service.xmlNamespace, requestID: requestID, isHead: isHead))
        }
        // A role session's key is only good with its token; a long-term key takes none.
        let expectedToken = sessionToken(verified.credential.accessKeyID)
        if verified.securityToken != expectedToken {
            return .reject(rejection(.unknownAccessKey(verified.credential.accessKeyID), wire: service.wire, s3: isS3, xmlns: service.xmlNamespace, requestID: requestID, isHead: isHead))
        }
        if let region, verified.credential.region != region, !["iam", "sts"].contains(service.model.name) {
            let why = "Credential should be scoped to a valid region, not '\(verified.credential.region)': this account's node is in \(region)."
            let e = isS3 ? AWSWireError("AuthorizationHeaderMalformed", "The authorization header is malformed; the region '\(verified.credential.region)' is wrong; expecting '\(region)'", status: 400)
                : AWSWireError(service.wire == .query ? "SignatureDoesNotMatch" : "InvalidSignatureException", why, status: 403)
            return .reject(service.errorResponse(e, requestID: requestID, isHead: isHead))
        }
        var body = request.body
        if isS3 {
            switch s3Payload(request, contentHash: payloadHash, verified: verified, secret: secret) {
            case .success(let b): body = b
            case .failure(let e): return .reject(service.errorResponse(e, requestID: requestID, isHead: isHead))
            }
        }
        switch service.decode(request, body: body) {
        case .success(let call): return .call(call, accessKeyID: verified.credential.accessKeyID)
        case .failure(let e): return .reject(service.errorResponse(e, requestID: requestID, isHead: isHead))
        }
    }

    /// An S3 URL presigned the legacy way (`AWSAccessKeyId`, `Expires`, `Signature`: HMAC-SHA1 of
    /// the method, `Content-MD5`, `Content-Type`, the expiry and the resource), as boto3 still
    /// presigns S3 URLs by default. GET and HEAD only.
    static func legacyPresignedS3(_ request: HTTPRequest, service: ProtocolService, now: Double, requestID: String, secret: (String) -> String?,
                                  sessionToken: (String) -> String?) -> Decision {
        let isHead = request.method == "HEAD"
        func refuse(_ code: String, _ message: String, _ status: Int = 403) -> Decision {
            .reject(service.errorResponse(AWSWireError(code, message, status: status), requestID: requestID, isHead: isHead))
        }
        guard request.method == "GET" || isHead else { return refuse("AccessDenied", "Only GET and HEAD may be presigned here") }
        guard let pairs = PercentCoding.parameters(request.query, plusIsSpace: false) else {
            return refuse("AuthorizationQueryParametersError", "The query string is not validly percent-encoded", 400)
        }
        var params: [String: String] = [:]
        for (k, v) in pairs {
            guard params[k] == nil || !["AWSAccessKeyId", "Expires", "Signature"].contains(k) else {
                return refuse("AuthorizationQueryParametersError", "\(k) appears twice", 400)
            }
            params[k] = params[k] ?? v
        }
        guard let key = params["AWSAccessKeyId"], let expiresText = params["Expires"], let expires = Double(expiresText), let given = params["Signature"] else {
            return refuse("AuthorizationQueryParametersError", "Query-string authentication requires the AWSAccessKeyId, Expires and Signature parameters", 400)
        }
        guard let keySecret = secret(key) else { return refuse("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.") }
        // What botocore's HmacV1QueryAuth signs: the method, Content-MD5, Content-Type, the expiry,
        // the x-amz-* values (headers, or query parameters where presigning put them) and the
        // resource with the sub-resources S3 reads.
        var amz: [String: String] = [:]
        for h in request.headers where h.name.lowercased().hasPrefix("x-amz-") { amz[h.name.lowercased()] = h.value }
        for (k, v) in pairs where k.lowercased().hasPrefix("x-amz-") { amz[k.lowercased()] = v }
        guard amz["x-amz-security-token"] == sessionToken(key) else {
            return refuse("InvalidAccessKeyId", "The security token does not belong to this access key.")
        }
        var resource = request.path
        let subresources = pairs.filter { legacySubresources.contains($0.0) }.sorted { $0.0 < $1.0 }
        if !subresources.isEmpty { resource += "?" + subresources.map { $0.1.isEmpty ? $0.0 : "\($0.0)=\($0.1)" }.joined(separator: "&") }
        let md5 = params["content-md5"] ?? request.header("Content-MD5") ?? ""
        let type = params["content-type"] ?? request.header("Content-Type") ?? ""
        let toSign = [request.method, md5, type, expiresText].joined(separator: "\n") + "\n"
            + amz.keys.sorted().map { "\($0):\(amz[$0]!)\n" }.joined() + resource
        let expected = Base64.encode(HMACSHA1.authenticate(Array(toSign.utf8), key: Array(keySecret.utf8)))
        guard HMACSHA256.constantTimeEquals(Array(expected.utf8), Array(given.utf8)) else {
            return refuse("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
        }
        guard now <= expires else { return refuse("AccessDenied", "Request has expired") }
        switch service.decode(request, body: []) {
        case .success(let call): return .call(call, accessKeyID: key)
        case .failure(let e): return .reject(service.errorResponse(e, requestID: requestID, isHead: isHead))
        }
    }

    /// The query parameters S3's legacy signature covers (botocore's list).
    static let legacySubresources: Set<String> = [
        "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy", "requestPayment", "torrent", "versioning",
        "versionId", "versions", "website", "uploads", "uploadId", "response-content-type", "response-content-language", "response-expires",
        "response-cache-control", "response-content-disposition", "response-content-encoding", "delete", "lifecycle", "tagging", "restore",
        "storageClass", "notification", "replication", "analytics", "metrics", "inventory", "select", "select-type", "object-lock",
    ]

    /// The credential scope's service, from the `Authorization` header or presigned parameters.
    static func credentialService(_ request: HTTPRequest) -> String? {
        if let header = request.header("Authorization") {
            // `…Credential=AKID/date/region/SERVICE/aws4_request, …`: the fourth part.
            let u = Array(header.utf8)
            let marker = Array("Credential=".utf8)
            guard let start = (0...max(0, u.count - marker.count)).first(where: { u.count >= marker.count && u[$0..<($0 + marker.count)].elementsEqual(marker) }) else { return nil }
            var end = start + marker.count
            while end < u.count, u[end] != UInt8(ascii: ","), u[end] != UInt8(ascii: " ") { end += 1 }
            let parts = u[(start + marker.count)..<end].split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            return parts.count > 3 ? String(decoding: parts[3], as: UTF8.self) : nil
        }
        for (k, v) in PercentCoding.parameters(request.query, plusIsSpace: false) ?? [] where k == "X-Amz-Credential" {
            return SigV4.Credential(v)?.service
        }
        return nil
    }

    /// The protocol to refuse an unsigned request in: by its shape, since there is no scope. A
    /// path no REST-JSON service has (`/bucket/key`) is taken for S3's, as an anonymous S3
    /// request is.
    static func guessWire(_ request: HTTPRequest) -> WireProtocol {
        if request.header("X-Amz-Target") != nil { return .json }
        if (request.header("Content-Type") ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded") || request.query.contains("Action=") { return .query }
        let first = RestRoute.pathSegments(request.path).first.map(String.init) ?? ""
        return restJSONFirstSegments.contains(first) ? .restJSON : .restXML
    }

    /// The first path segments of every REST-JSON route (`audience-model`, `memberships`, …).
    static let restJSONFirstSegments: Set<String> = Set(ProtocolService.bySigningName.values.filter { $0.wire == .restJSON }.flatMap { s in
        s.routes.compactMap { r in if case .literal(let l) = r.segments.first { return l } else { return nil } }
    })

    /// A signature refusal as the service says it (S3 names several differently).
    static func rejection(_ f: SigV4.Failure, wire: WireProtocol, s3: Bool = false, xmlns: String? = nil, requestID: String, isHead: Bool) -> HTTPResponse {
        var code = wire == .json || wire == .restJSON ? f.jsonCode : f.code
        var status = f.httpStatus
        var message = f.message
        if s3 {
            switch f {
            case .missingAuthentication: code = "AccessDenied"; message = "Access Denied"
            case .unknownAccessKey: code = "InvalidAccessKeyId"; message = "The AWS Access Key Id you provided does not exist in our records."
            case .requestExpired: code = "RequestTimeTooSkewed"; message = "The difference between the request time and the current time is too large. \(f.message)"
            case .incompleteSignature: code = "AuthorizationHeaderMalformed"; status = 400
            default: break
            }
        }
        return ProtocolService.errorResponse(AWSWireError(code, message, status: status), wire: wire, xmlns: xmlns, requestID: requestID, isHead: isHead)
    }

    /// An S3 body as stored: `aws-chunked` framing removed (its chunk signatures checked), and
    /// every checksum the request states (`Content-MD5`, `x-amz-checksum-*`, in headers or
    /// trailers) checked against it.
    static func s3Payload(_ request: HTTPRequest, contentHash: String, verified: SigV4.Verified, secret: (String) -> String?) -> Result<[UInt8], AWSWireError> {
        var body = request.body
        var trailers: [String: String] = [:]
        let encoding = (request.header("Content-Encoding") ?? "").lowercased()
        if contentHash.hasPrefix("STREAMING-") || encoding.split(separator: ",").contains(where: { $0.trimmingCharacters(in: " ") == "aws-chunked" }) {
            var signing: AWSChunked.ChunkSigning?
            if contentHash.hasPrefix("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
                guard let key = secret(verified.credential.accessKeyID), let auth = request.header("Authorization"),
                      case .success(let parsed) = SigV4.Authorization.parse(auth), let amzDate = request.header("X-Amz-Date") else {
                    return .failure(AWSWireError("InvalidRequest", "A signed streaming payload needs an Authorization header", status: 400))
                }
                let c = verified.credential
                signing = AWSChunked.ChunkSigning(signingKey: SigV4.signingKey(secret: key, date: c.date, region: c.region, service: c.service),
                                                  amzDate: amzDate, scope: c.scope, seedSignature: parsed.signature.lowercased())
            }
            switch AWSChunked.decode(body, signing: signing) {
            case .success(let d): body = d.data; trailers = d.trailers
            case .failure(let e): return .failure(e)
            }
            if let declared = request.header("x-amz-decoded-content-length") {
                guard Int(declared) == body.count else {
                    return .failure(AWSWireError("IncompleteBody", "x-amz-decoded-content-length says \(declared.prefix(20)) bytes; the chunks hold \(body.count)", status: 400))
                }
            }
        }
        if let md5 = request.header("Content-MD5") {
            guard let given = Base64.decode(md5), given.count == 16 else {
                return .failure(AWSWireError("InvalidDigest", "The Content-MD5 you specified was invalid.", status: 400))
            }
            guard given == MD5.hash(body) else { return .failure(AWSWireError("BadDigest", "The Content-MD5 you specified did not match what we received.", status: 400)) }
        }
        for (name, algorithm) in [("x-amz-checksum-crc32", "CRC32"), ("x-amz-checksum-crc32c", "CRC32C"), ("x-amz-checksum-sha1", "SHA1"),
                                  ("x-amz-checksum-sha256", "SHA256"), ("x-amz-checksum-crc64nvme", "CRC64NVME")] {
            guard let given = request.header(name) ?? trailers[name] else { continue }
            let computed: [UInt8]
            switch algorithm {
            case "CRC32": computed = CRC32.checksum(body).bigEndianBytes
            case "CRC32C": computed = CRC32C.checksum(body).bigEndianBytes
            case "SHA1": computed = SHA1.hash(body)
            case "SHA256": computed = SHA256.hash(body)
            default:
                return .failure(AWSWireError("InvalidRequest", "This simulation does not compute \(algorithm) checksums; use CRC32, CRC32C, SHA1 or SHA256", status: 400))
            }
            guard let decoded = Base64.decode(given), decoded.count == computed.count else {
                return .failure(AWSWireError("InvalidRequest", "Value for \(name) header is invalid.", status: 400))
            }
            guard decoded == computed else {
                return .failure(AWSWireError("BadDigest", "The \(algorithm) you specified did not match the calculated checksum.", status: 400))
            }
        }
        if let trailerName = request.header("x-amz-trailer")?.lowercased(), trailers[trailerName] == nil, contentHash.hasSuffix("-TRAILER") {
            return .failure(AWSWireError("IncompleteBody", "The body has no trailing \(trailerName) header though x-amz-trailer names it", status: 400))
        }
        return .success(body)
    }
}
