@testable import AWSProtocols
import Digest
import HTTP
import JSON
import SigV4
import Testing
import TestSupport

/// The front as a whole: SigV4 with the account's keys, refusals in each service's own words,
/// and S3 bodies (aws-chunked, checksums) checked before anything reaches the node.
@Suite struct FrontTests {
    static let key = "AKIAFRONTTEST0000001"
    static let secret = "front/test/secret/0123456789abcdefghijklm"
    static let now = 1_796_301_360.0
    static func secrets(_ id: String) -> String? { id == key || id == sessionKey ? secret : nil }
    static let sessionKey = "ASIAFRONTTEST0000001"
    static let sessionToken = "FwoGZXIvYXdzEXAMPLETOKEN"
    static func tokens(_ id: String) -> String? { id == sessionKey ? sessionToken : nil }

    /// A request signed as an SDK signs it (S3: with `x-amz-content-sha256`).
    static func signed(_ service: String, _ method: String, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                       secret: String = secret, key: String = key, at: Double = now, contentSHA: String? = nil,
                       region: String = "us-west-1", token: String? = nil) -> HTTPRequest {
        let h = AWSRequestSigning.signedHeaders(service, method, target, host: "127.0.0.1:8080", headers: headers, body: body, accessKeyID: key,
                                               secret: secret, region: region, at: at, contentSHA: contentSHA, sessionToken: token)
        return HTTPRequest(method: method, target: target, headers: h, body: body)
    }

    static func accept(_ r: HTTPRequest, at: Double = now) -> HTTPFront.Decision {
        HTTPFront.accept(r, now: at, requestID: "req", region: "us-west-1", credentials: { k in secrets(k).map { ($0, tokens(k)) } })
    }

    /// The error code of a refusal, read as its protocol writes it.
    static func refusal(_ d: HTTPFront.Decision) -> (status: Int, code: String)? {
        guard case .reject(let r) = d else { return nil }
        if let t = r.headers.first(where: { $0.name == "x-amzn-ErrorType" }) { return (r.status, t.value) }
        if let j = try? JSONParser.parse(r.body), let t = j["__type"]?.stringValue { return (r.status, t) }
        if case .success(let root) = XMLReader.parse(r.body) { return (r.status, (root.child("Error") ?? root).child("Code")?.text ?? "?") }
        return (r.status, "?")
    }

    static let glueBody = Array(#"{"Name": "ads"}"#.utf8)
    static let iamBody = Array("Action=ListUsers&Version=2010-05-08".utf8)
    static let form = [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")]
    static let glueTarget = [(name: "X-Amz-Target", value: "AWSGlue.GetDatabase"), (name: "Content-Type", value: "application/x-amz-json-1.1")]

    @Test("a request signed with the account's key is read as that key's call")
    func accepted() throws {
        guard case .call(let call, let key) = Self.accept(Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody)) else {
            Issue.record("refused")
            return
        }
        #expect(key == Self.key && call.method == "glue.GetDatabase" && call.params["Name"]?.stringValue == "ads")
    }

    @Test("a wrong secret, an unknown key, no signature, an old signature: each refused as its service says it")
    func refusals() {
        let cases: [(HTTPRequest, Double, Int, String)] = [
            (Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody, secret: "wrong"), Self.now, 403, "InvalidSignatureException"),
            (Self.signed("iam", "POST", "/", headers: Self.form, body: Self.iamBody, secret: "wrong"), Self.now, 403, "SignatureDoesNotMatch"),
            (Self.signed("s3", "GET", "/", secret: "wrong"), Self.now, 403, "SignatureDoesNotMatch"),
            (Self.signed("cleanrooms-ml", "GET", "/audience-model", secret: "wrong"), Self.now, 403, "InvalidSignatureException"),
            (Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody, key: "AKIANOSUCHKEY0000000"), Self.now, 403, "UnrecognizedClientException"),
            (Self.signed("sts", "POST", "/", headers: Self.form, body: Array("Action=GetCallerIdentity&Version=2011-06-15".utf8), key: "AKIANOSUCHKEY0000000"), Self.now, 403, "InvalidClientTokenId"),
            (Self.signed("s3", "GET", "/", key: "AKIANOSUCHKEY0000000"), Self.now, 403, "InvalidAccessKeyId"),
            (HTTPRequest(method: "POST", target: "/", headers: Self.glueTarget, body: Self.glueBody), Self.now, 403, "MissingAuthenticationTokenException"),
            (HTTPRequest(method: "POST", target: "/", headers: Self.form, body: Self.iamBody), Self.now, 403, "MissingAuthenticationToken"),
            (Self.signed("iam", "POST", "/", headers: Self.form, body: Self.iamBody), Self.now + 301, 403, "RequestExpired"),
            (Self.signed("s3", "GET", "/"), Self.now + 901, 403, "RequestTimeTooSkewed"),
            (Self.signed("dynamodb", "POST", "/", headers: Self.glueTarget, body: Self.glueBody), Self.now, 400, "UnknownServiceException"),
            (Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody, region: "eu-west-1"), Self.now, 403, "InvalidSignatureException"),
            (Self.signed("s3", "GET", "/", region: "eu-west-1"), Self.now, 400, "AuthorizationHeaderMalformed"),
            (Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody, token: "FwoGZXIvYXdzEXAMPLE"), Self.now, 403, "UnrecognizedClientException"),
        ]
        for (request, at, status, code) in cases {
            let r = Self.refusal(Self.accept(request, at: at))
            #expect(r?.status == status && r?.code == code, "\(request.method) \(request.headers.first { $0.name == "Authorization" }?.value.prefix(60) ?? "unsigned"): expected \(code), got \(String(describing: r))")
        }
        // IAM and STS are global: any region's scope is theirs.
        if case .reject = Self.accept(Self.signed("iam", "POST", "/", headers: Self.form, body: Self.iamBody, region: "us-east-1")) { Issue.record("IAM refused us-east-1") }
        // Within the skew it is taken: 5 minutes, 15 for S3.
        if case .reject = Self.accept(Self.signed("iam", "POST", "/", headers: Self.form, body: Self.iamBody), at: Self.now + 290) { Issue.record("refused within 5 minutes") }
        if case .reject = Self.accept(Self.signed("s3", "GET", "/"), at: Self.now - 890) { Issue.record("S3 refused within 15 minutes") }
        // A changed body breaks a JSON service's signature (the payload is signed).
        var tampered = Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody)
        tampered.body = Array(#"{"Name": "adz"}"#.utf8)
        #expect(Self.refusal(Self.accept(tampered))?.code == "InvalidSignatureException")
    }

    static let object = Array("user_id\nu1\nu2\n".utf8)

    @Test("S3 bodies: x-amz-content-sha256, Content-MD5 and x-amz-checksum-* are checked; UNSIGNED-PAYLOAD is taken")
    func s3Checksums() throws {
        let put = "/bucket-1/seed/seed.csv"
        var r = Self.signed("s3", "PUT", put, body: Self.object)
        r.body = Array("user_id\nu1\nu3\n".utf8)
        #expect(Self.refusal(Self.accept(r))?.code == "XAmzContentSHA256Mismatch")
        let md5 = Base64.encode(MD5.hash(Self.object))
        guard case .call(let call, _) = Self.accept(Self.signed("s3", "PUT", put, headers: [("Content-MD5", md5)], body: Self.object)) else { Issue.record("refused"); return }
        #expect(call.params["Body"]?.stringValue == Base64.encode(Self.object) && call.params["Key"]?.stringValue == "seed/seed.csv")
        #expect(Self.refusal(Self.accept(Self.signed("s3", "PUT", put, headers: [("Content-MD5", Base64.encode(MD5.hash([1])))], body: Self.object)))?.code == "BadDigest")
        #expect(Self.refusal(Self.accept(Self.signed("s3", "PUT", put, headers: [("Content-MD5", "nope")], body: Self.object)))?.code == "InvalidDigest")
        for (name, digest) in [("x-amz-checksum-crc32", CRC32.checksum(Self.object).bigEndianBytes), ("x-amz-checksum-crc32c", CRC32C.checksum(Self.object).bigEndianBytes),
                               ("x-amz-checksum-sha1", SHA1.hash(Self.object)), ("x-amz-checksum-sha256", SHA256.hash(Self.object))] {
            if case .reject = Self.accept(Self.signed("s3", "PUT", put, headers: [(name, Base64.encode(digest))], body: Self.object)) { Issue.record("\(name) refused") }
            var wrong = digest
            wrong[0] ^= 1
            #expect(Self.refusal(Self.accept(Self.signed("s3", "PUT", put, headers: [(name, Base64.encode(wrong))], body: Self.object)))?.code == "BadDigest", "\(name)")
        }
        if case .reject = Self.accept(Self.signed("s3", "PUT", put, body: Self.object, contentSHA: "UNSIGNED-PAYLOAD")) { Issue.record("UNSIGNED-PAYLOAD refused") }
        // Other services hash the body themselves: UNSIGNED-PAYLOAD is no way around it.
        #expect(Self.refusal(Self.accept(HTTPRequest(method: "PUT", target: put, headers: [("Host", "x")], body: Self.object)))?.code == "AccessDenied")
    }

    /// `aws-chunked` as SDKs send it: unsigned with a checksum trailer, or every chunk signed.
    static func chunked(_ data: [UInt8], sizes: [Int], trailer: String?, signing: AWSChunked.ChunkSigning? = nil) -> [UInt8] {
        var out: [UInt8] = []
        var previous = signing?.seedSignature ?? ""
        var i = 0
        var pieces: [[UInt8]] = []
        for s in sizes where i < data.count { pieces.append(Array(data[i..<min(data.count, i + s)])); i += s }
        if i < data.count { pieces.append(Array(data[i...])) }
        pieces.append([])
        for p in pieces {
            var header = String(p.count, radix: 16)
            if let signing {
                let toSign = ["AWS4-HMAC-SHA256-PAYLOAD", signing.amzDate, signing.scope, previous, SigV4.emptySHA256, Hex.encode(SHA256.hash(p))].joined(separator: "\n")
                previous = Hex.encode(HMACSHA256.authenticate(Array(toSign.utf8), key: signing.signingKey))
                header += ";chunk-signature=" + previous
            }
            out += Array((header + "\r\n").utf8) + p
            if !p.isEmpty { out += [0x0D, 0x0A] }
        }
        if let trailer { out += Array((trailer + "\r\n").utf8) }
        out += [0x0D, 0x0A]
        return out
    }

    @Test("aws-chunked: unsigned with a CRC32 trailer, or every chunk signed; a changed chunk, a wrong trailer, a wrong length are refused")
    func awsChunked() throws {
        let data = Array((0..<1000).map { UInt8($0 % 251) })
        let crc = Base64.encode(CRC32.checksum(data).bigEndianBytes)
        let headers: [(name: String, value: String)] = [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "1000"), ("x-amz-trailer", "x-amz-checksum-crc32")]
        let body = Self.chunked(data, sizes: [300, 300], trailer: "x-amz-checksum-crc32:\(crc)")
        let unsigned = Self.signed("s3", "PUT", "/b/k", headers: headers, body: body, contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        guard case .call(let call, _) = Self.accept(unsigned) else { Issue.record("refused: \(String(describing: Self.refusal(Self.accept(unsigned))))"); return }
        #expect(Base64.decode(call.params["Body"]?.stringValue ?? "") == data)
        #expect(call.params["ContentEncoding"] == nil && call.params["ContentLength"]?.intValue == 1000)
        let badTrailer = Self.signed("s3", "PUT", "/b/k", headers: headers, body: Self.chunked(data, sizes: [300], trailer: "x-amz-checksum-crc32:AAAAAA=="),
                                     contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        #expect(Self.refusal(Self.accept(badTrailer))?.code == "BadDigest")
        let short = Self.signed("s3", "PUT", "/b/k", headers: [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "999")],
                                body: Self.chunked(data, sizes: [500], trailer: nil), contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        #expect(Self.refusal(Self.accept(short))?.code == "IncompleteBody")
        let noTrailer = Self.signed("s3", "PUT", "/b/k", headers: headers, body: Self.chunked(data, sizes: [500], trailer: nil), contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        #expect(Self.refusal(Self.accept(noTrailer))?.code == "IncompleteBody")

        // Signed chunks: the chain starts at the request's own signature.
        var request = Self.signed("s3", "PUT", "/b/k", headers: [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "1000")], body: [],
                                  contentSHA: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        let auth = try #require(request.header("Authorization"))
        let seed = String(auth.split(separator: "=").last!)
        let amzDate = try #require(request.header("X-Amz-Date"))
        let signing = AWSChunked.ChunkSigning(signingKey: SigV4.signingKey(secret: Self.secret, date: String(amzDate.prefix(8)), region: "us-west-1", service: "s3"),
                                              amzDate: amzDate, scope: "\(amzDate.prefix(8))/us-west-1/s3/aws4_request", seedSignature: seed)
        request.body = Self.chunked(data, sizes: [400, 400], trailer: nil, signing: signing)
        guard case .call(let signedCall, _) = Self.accept(request) else { Issue.record("signed chunks refused: \(String(describing: Self.refusal(Self.accept(request))))"); return }
        #expect(Base64.decode(signedCall.params["Body"]?.stringValue ?? "") == data)
        var tampered = request
        let at = tampered.body.firstIndex(of: 0x0A)! + 10
        tampered.body[at] ^= 0x01
        #expect(Self.refusal(Self.accept(tampered))?.code == "SignatureDoesNotMatch")
    }

    @Test("2,000 mutated aws-chunked bodies are decoded or refused, never trap")
    func chunkedMutations() {
        var rng = SystemRandomNumberGenerator()
        let data = Array("0123456789abcdef".utf8)
        let body = Self.chunked(data, sizes: [5, 5], trailer: "x-amz-checksum-crc32:\(Base64.encode(CRC32.checksum(data).bigEndianBytes))")
        var refused = 0
        for _ in 0..<2000 {
            if case .failure = AWSChunked.decode(ByteMutation.mutate(body, edits: 1...3, using: &rng), signing: nil) { refused += 1 }
        }
        #expect(refused > 1000)
    }

    @Test("S3 URLs presigned the legacy way (boto3's default): taken until they expire; a changed signature, key or path is refused")
    func legacyPresigned() {
        // Generated by botocore 1.43.11 (generate_presigned_url, get_object, ExpiresIn 600) with this suite's key.
        let url = "/pre-sign/a%20b/c.csv?AWSAccessKeyId=AKIAFRONTTEST0000001&Signature=NMPsBJIfBavZ8OATDjYEIxCMgg4%3D&Expires=1796301960"
        let request = HTTPRequest(method: "GET", target: url, headers: [("Host", "127.0.0.1:8080")])
        guard case .call(let call, let key) = Self.accept(request) else { Issue.record("refused: \(String(describing: Self.refusal(Self.accept(request))))"); return }
        #expect(call.method == "s3.GetObject" && call.params["Key"]?.stringValue == "a b/c.csv" && key == Self.key)
        #expect(Self.refusal(Self.accept(request, at: 1_796_301_961))?.code == "AccessDenied")
        let changed = HTTPRequest(method: "GET", target: url.replacingOccurrences(of: "c.csv", with: "d.csv"), headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(changed))?.code == "SignatureDoesNotMatch")
        let forged = HTTPRequest(method: "GET", target: url.replacingOccurrences(of: "NMPs", with: "NMPt"), headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(forged))?.code == "SignatureDoesNotMatch")
        let unknown = HTTPRequest(method: "GET", target: url.replacingOccurrences(of: "AKIAFRONTTEST0000001", with: "AKIAFRONTTEST0000002"), headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(unknown))?.code == "InvalidAccessKeyId")
        let put = HTTPRequest(method: "PUT", target: url, headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(put))?.code == "AccessDenied")
    }

    @Test("legacy presigned URLs sign their sub-resources and a session's token: botocore's URLs are taken, changed ones refused")
    func legacyPresignedDetails() {
        // Generated by botocore 1.43.11 with this suite's keys (ResponseContentType; a session with its token).
        let typed = "/pre-sign/a%20b/c.csv?response-content-type=text%2Fcsv&AWSAccessKeyId=AKIAFRONTTEST0000001&Signature=E0FI2p8DWubBcJ0WdglNzLGodW4%3D&Expires=1796301960"
        let session = "/pre-sign/a%20b/c.csv?AWSAccessKeyId=ASIAFRONTTEST0000001&Signature=Pgrm0wYZcQ9JYL8ptwPGpOwN8Hs%3D&x-amz-security-token=FwoGZXIvYXdzEXAMPLETOKEN&Expires=1796301960"
        for url in [typed, session] {
            let r = HTTPRequest(method: "GET", target: url, headers: [("Host", "127.0.0.1:8080")])
            if case .reject = Self.accept(r) { Issue.record("\(url) refused: \(String(describing: Self.refusal(Self.accept(r))))") }
        }
        let retyped = HTTPRequest(method: "GET", target: typed.replacingOccurrences(of: "text%2Fcsv", with: "text%2Fhtml"), headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(retyped))?.code == "SignatureDoesNotMatch")
        let tokenless = HTTPRequest(method: "GET", target: session.replacingOccurrences(of: "&x-amz-security-token=FwoGZXIvYXdzEXAMPLETOKEN", with: ""), headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(tokenless)) != nil, "a session's URL without its token was taken")
        let twice = HTTPRequest(method: "GET", target: typed + "&AWSAccessKeyId=AKIAFRONTTEST0000002", headers: [("Host", "x")])
        #expect(Self.refusal(Self.accept(twice))?.code == "AuthorizationQueryParametersError")
    }

    @Test("one scope per request: a second Credential in the header, or a second X-Amz-Credential in a presigned URL, is refused")
    func oneScope() {
        var r = Self.signed("glue", "POST", "/", headers: Self.glueTarget, body: Self.glueBody)
        let i = r.headers.firstIndex { $0.name == "Authorization" }!
        r.headers[i].value = r.headers[i].value.replacingOccurrences(of: "AWS4-HMAC-SHA256 ", with: "AWS4-HMAC-SHA256 Credential=\(Self.key)/20261203/us-west-1/s3/aws4_request, ")
        #expect(Self.refusal(Self.accept(r)) != nil, "a request naming two scopes was taken")
        let presigned = SigV4.presign(method: "GET", path: "/b/k", host: "127.0.0.1:8080", accessKeyID: Self.key, secret: Self.secret, region: "us-west-1", at: Self.now, expires: 60)
        let doubled = presigned + "&X-Amz-Credential=\(SigV4.uriEncode("\(Self.key)/20261203/us-west-1/iam/aws4_request"))"
        #expect(Self.refusal(Self.accept(HTTPRequest(method: "GET", target: doubled, headers: [("Host", "127.0.0.1:8080")]))) != nil)
        if case .reject = Self.accept(HTTPRequest(method: "GET", target: presigned, headers: [("Host", "127.0.0.1:8080")])) { Issue.record("the presigned URL itself was refused") }
    }

    @Test("signed trailers need their trailer signature")
    func signedTrailers() throws {
        var request = Self.signed("s3", "PUT", "/b/k", headers: [("Content-Encoding", "aws-chunked"), ("x-amz-trailer", "x-amz-checksum-crc32")], body: [],
                                  contentSHA: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        let auth = try #require(request.header("Authorization"))
        let amzDate = try #require(request.header("X-Amz-Date"))
        let signing = AWSChunked.ChunkSigning(signingKey: SigV4.signingKey(secret: Self.secret, date: String(amzDate.prefix(8)), region: "us-west-1", service: "s3"),
                                              amzDate: amzDate, scope: "\(amzDate.prefix(8))/us-west-1/s3/aws4_request", seedSignature: String(auth.split(separator: "=").last!))
        let data = Array("abc".utf8)
        request.body = Self.chunked(data, sizes: [3], trailer: "x-amz-checksum-crc32:\(Base64.encode(CRC32.checksum(data).bigEndianBytes))", signing: signing)
        let decision = Self.accept(request)
        #expect(Self.refusal(decision)?.code == "SignatureDoesNotMatch")
        // Refused for the missing trailer signature, not for a chunk signature gone wrong.
        guard case .reject(let response) = decision else { return }
        #expect(String(decoding: response.body, as: UTF8.self).contains("need x-amz-trailer-signature"))
    }
}
