import Digest
import Foundation
import JSON
@testable import SigV4
import Testing
import TestSupport

/// SigV4 against what botocore (the AWS SDK for Python) computed for the same requests
/// (`scripts/gen-sigv4-vectors.py` → `vectors.json`), and every way a signature is refused.
@Suite struct SigV4Tests {
    struct Vector {
        var name: String
        var kind: String
        var request: SigV4.Request
        var service: String
        var region: String
        var json: JSON
    }

    static let file: JSON = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("vectors.json").path
        return (try? JSONParser.parse([UInt8](FileManager.default.contents(atPath: path) ?? Data()))) ?? .null
    }()
    static var secret: String { file["secretAccessKey"]?.stringValue ?? "" }
    static var keyID: String { file["accessKeyId"]?.stringValue ?? "" }
    static var time: Double { SigV4.parseAmzDate(file["time"]?.stringValue ?? "") ?? 0 }

    /// The request a vector describes, as a server receives it (without the headers the SDK
    /// computed from the body only when the server must compute them itself).
    static func vector(_ j: JSON) -> Vector {
        let url = j["url"]?.stringValue ?? ""
        let afterHost = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        let target = afterHost.count > 3 ? "/" + afterHost[3] : "/"
        let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (String(target), "")
        var headers: [(name: String, value: String)] = [("Host", "127.0.0.1:8080")]
        for (k, v) in (j["headers"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) { headers.append((k, v.stringValue ?? "")) }
        let body = Array((j["body"]?.stringValue ?? "").utf8)
        let service = j["service"]?.stringValue ?? ""
        let hash = headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value ?? Hex.encode(SHA256.hash(body))
        return Vector(name: j["name"]?.stringValue ?? "", kind: j["kind"]?.stringValue ?? "",
                      request: SigV4.Request(method: j["method"]?.stringValue ?? "", path: path, query: query, headers: headers, payloadHash: hash),
                      service: service, region: j["region"]?.stringValue ?? "", json: j)
    }

    static var vectors: [Vector] { (file["cases"]?.arrayValue ?? []).map(vector) }
    static var headerVectors: [Vector] { vectors.filter { $0.kind == "header" } }

    @Test("the vectors are there")
    func vectorsLoaded() {
        #expect(Self.headerVectors.count >= 13 && Self.vectors.count > Self.headerVectors.count)
    }

    @Test("canonical request, string to sign and signature equal botocore's", arguments: headerVectors.map(\.name))
    func matchesBotocore(_ name: String) throws {
        let v = try #require(Self.vectors.first { $0.name == name })
        let auth = try SigV4.Authorization.parse(try #require(v.request.header("Authorization"))).get()
        let canonical = SigV4.canonicalRequest(v.request, signedHeaders: auth.signedHeaders, service: v.service)
        #expect(canonical == v.json["canonicalRequest"]?.stringValue)
        let sts = SigV4.stringToSign(amzDate: v.request.header("X-Amz-Date") ?? "", scope: auth.credential.scope, canonicalRequest: canonical ?? "")
        #expect(sts == v.json["stringToSign"]?.stringValue)
        let sig = SigV4.signature(signingKey: SigV4.signingKey(secret: Self.secret, date: auth.credential.date, region: v.region, service: v.service), stringToSign: sts)
        #expect(sig == v.json["signature"]?.stringValue)
        // The verifier accepts it, at the time it was signed and up to the allowed skew.
        let verified = SigV4.verify(v.request, now: Self.time, secret: { $0 == Self.keyID ? Self.secret : nil })
        #expect(verified.map(\.credential.service) == .success(v.service), "\(verified)")
        let skew = v.service == "s3" ? 900.0 : 300.0
        #expect((try? SigV4.verify(v.request, now: Self.time + skew - 1, secret: { _ in Self.secret }).get()) != nil)
        guard case .failure(.requestExpired)? = Optional(SigV4.verify(v.request, now: Self.time + skew + 1, secret: { _ in Self.secret })) else {
            Issue.record("a request signed \(skew + 1) s ago was accepted")
            return
        }
    }

    @Test("the Swift signer signs as botocore does", arguments: headerVectors.map(\.name))
    func signerMatches(_ name: String) throws {
        let v = try #require(Self.vectors.first { $0.name == name })
        let auth = try SigV4.Authorization.parse(try #require(v.request.header("Authorization"))).get()
        // What the SDK started from: the headers it signed, without those the signing adds.
        var r = v.request
        r.headers = r.headers.filter { h in
            let n = h.name.lowercased()
            return auth.signedHeaders.contains(n) && !["x-amz-date", "x-amz-security-token"].contains(n)
        }
        SigV4.sign(&r, accessKeyID: Self.keyID, secret: Self.secret, region: v.region, service: v.service, at: Self.time,
                   securityToken: v.request.header("X-Amz-Security-Token"))
        #expect(r.header("Authorization") == v.json["authorization"]?.stringValue)
    }

    @Test("presigned URLs verify, and expire", arguments: vectors.filter { $0.kind == "query" }.map(\.name))
    func presigned(_ name: String) throws {
        var v = try #require(Self.vectors.first { $0.name == name })
        v.request.payloadHash = SigV4.unsignedPayload
        let expires = Double(v.json["expires"]?.intValue ?? 0)
        #expect(SigV4.canonicalRequest(v.request, signedHeaders: ["host"], service: "s3", excludingQuery: "X-Amz-Signature") == v.json["canonicalRequest"]?.stringValue)
        let ok = SigV4.verify(v.request, now: Self.time + expires - 1, secret: { _ in Self.secret })
        #expect((try? ok.get())?.presigned == true, "\(ok)")
        #expect(SigV4.verify(v.request, now: Self.time + expires + 1, secret: { _ in Self.secret }).failure == .presignedRequestExpired)
        var tampered = v.request
        tampered.path += "x"
        #expect(SigV4.verify(tampered, now: Self.time, secret: { _ in Self.secret }).failure == .signatureDoesNotMatch)
        // The Swift presigner writes the URL botocore wrote.
        let url = try #require(v.json["url"]?.stringValue)
        let target = String(url.dropFirst("http://127.0.0.1:8080".count))
        let query = v.request.query.split(separator: "&").filter { !$0.hasPrefix("X-Amz-") }.joined(separator: "&")
        #expect(SigV4.presign(method: "GET", path: v.request.path, query: query, host: "127.0.0.1:8080", accessKeyID: Self.keyID, secret: Self.secret,
                              region: v.region, at: Self.time, expires: Int(expires)) == target)
    }

    @Test("refusals: wrong secret, unknown key, changed method, path, query, header or body, missing or malformed parts")
    func refusals() throws {
        let v = try #require(Self.headerVectors.first { $0.name == "rest-json-query" })
        let ok: (String) -> String? = { _ in Self.secret }
        #expect(SigV4.verify(v.request, now: Self.time, secret: { _ in "the-wrong-secret" }).failure == .signatureDoesNotMatch)
        #expect(SigV4.verify(v.request, now: Self.time, secret: { _ in nil }).failure == .unknownAccessKey(Self.keyID))
        #expect(SigV4.Failure.unknownAccessKey("x").code == "InvalidClientTokenId" && SigV4.Failure.unknownAccessKey("x").jsonCode == "UnrecognizedClientException")
        func changed(_ f: (inout SigV4.Request) -> Void) -> SigV4.Failure? {
            var r = v.request
            f(&r)
            return SigV4.verify(r, now: Self.time, secret: ok).failure
        }
        #expect(changed { $0.method = "DELETE" } == .signatureDoesNotMatch)
        #expect(changed { $0.path = "/audience-generation-jobs" } == .signatureDoesNotMatch)
        #expect(changed { $0.query = "maxResults=11&nextToken=a%2Bb%3D%3D&collaborationId=c-1" } == .signatureDoesNotMatch)
        #expect(changed { $0.payloadHash = SigV4.emptySHA256.replacingOccurrences(of: "e3", with: "e4") } == .signatureDoesNotMatch)
        #expect(changed { $0.headers = $0.headers.map { $0.name == "Host" ? ($0.name, "evil.example") : $0 } } == .signatureDoesNotMatch)
        // The query may come in another order or encoding and still verify (the canonical form sorts and re-encodes).
        #expect(changed { $0.query = "collaborationId=c-1&nextToken=a%2bb%3d%3d&maxResults=10" } == nil)
        #expect(changed { $0.headers.removeAll { $0.name == "Authorization" } } == .missingAuthentication)
        #expect(changed { $0.headers.removeAll { $0.name == "X-Amz-Date" } }.map { if case .incompleteSignature = $0 { true } else { false } } == true)
        #expect(changed { $0.query = "a=%zz" }.map { if case .incompleteSignature = $0 { true } else { false } } == true)
        for bad in ["", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00",
                    "AWS4-HMAC-SHA256 Credential=AKID/2026/us/svc/aws4_request, SignedHeaders=host, Signature=" + String(repeating: "0", count: 64),
                    "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-west-1/svc/aws4_request, SignedHeaders=Host, Signature=" + String(repeating: "0", count: 64),
                    "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-west-1/svc/aws4_request, Signature=" + String(repeating: "0", count: 64),
                    "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-west-1/svc/aws4_request, SignedHeaders=host, Signature=xyz"] {
            let f = changed { r in r.headers = r.headers.map { $0.name == "Authorization" ? ($0.name, bad) : $0 } }
            guard case .incompleteSignature? = f else {
                Issue.record("'\(bad)' gave \(String(describing: f))")
                continue
            }
        }
    }

    @Test("hostile headers never trap: random mutations of a valid Authorization header are refused or accepted, never crash")
    func fuzzedHeaders() throws {
        let v = try #require(Self.headerVectors.first)
        let original = Array(try #require(v.request.header("Authorization")).utf8)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let bytes = ByteMutation.mutate(original, edits: 1...4, insertable: 32...126, using: &rng)
            var r = v.request
            r.headers = r.headers.map { $0.name == "Authorization" ? ($0.name, String(decoding: bytes, as: UTF8.self)) : $0 }
            _ = SigV4.verify(r, now: Self.time, secret: { _ in Self.secret })
        }
    }

    @Test("dates: parsing and formatting agree, and reject what is not a date")
    func dates() {
        #expect(SigV4.parseAmzDate("19700101T000000Z") == 0)
        #expect(SigV4.parseAmzDate("20261203T123600Z") == 1_796_301_360)
        #expect(SigV4.formatAmzDate(1_796_301_360) == "20261203T123600Z")
        for t in stride(from: 0.0, to: 4_000_000_000, by: 86_399 * 37) { #expect(SigV4.parseAmzDate(SigV4.formatAmzDate(t)) == t) }
        for bad in ["", "20261203T123600", "20261303T123600Z", "2026120XT123600Z", "20261203 123600Z", "20261203T250000Z"] { #expect(SigV4.parseAmzDate(bad) == nil, "\(bad)") }
    }

    @Test("URI encoding: RFC 3986 unreserved kept, everything else %XX upper-case over UTF-8; decoding refuses broken escapes")
    func encoding() {
        #expect(SigV4.uriEncode("aZ09-_.~") == "aZ09-_.~")
        #expect(SigV4.uriEncode("a b/c+d=é") == "a%20b%2Fc%2Bd%3D%C3%A9")
        #expect(SigV4.uriEncode("a/b", keepSlash: true) == "a/b")
        #expect(SigV4.percentDecode("a%2Bb%3d") == "a+b=")
        #expect(SigV4.percentDecode("a+b") == "a+b")
        #expect(SigV4.percentDecode("%") == nil && SigV4.percentDecode("%4") == nil && SigV4.percentDecode("%zz") == nil && SigV4.percentDecode("%C3") == nil)
        #expect(SigV4.canonicalURI(path: "/a/./b/../c//d/", service: "iam") == "/a/c/d/")
        #expect(SigV4.canonicalURI(path: "", service: "iam") == "/")
        #expect(SigV4.canonicalURI(path: "/a//b", service: "s3") == "/a//b")
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { return f } else { return nil } }
}

/// AWS's published Signature Version 4 test suite (the `aws-sig-v4-test-suite` cases with
/// credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service `service`): the signatures
/// AWS publishes for them are facts our signer and verifier must reproduce.
@Suite struct AWSTestSuiteVectors {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let amzDate = "20150830T123600Z"

    @Test("the published signing key for 20150830/us-east-1/service")
    func signingKey() {
        #expect(Hex.encode(SigV4.signingKey(secret: Self.secret, date: "20150830", region: "us-east-1", service: "service"))
            == "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75")
    }

    @Test("get-vanilla, get-vanilla-query-order-key-case, get-utf8, post-vanilla", arguments: [
        ("GET", "/", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("GET", "/", "Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("GET", "/\u{1234}", "", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),  // the request line has the character raw
        ("POST", "/", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ])
    func published(method: String, path: String, query: String, signature: String) throws {
        let headers = [(name: "Host", value: "example.amazonaws.com"), (name: "X-Amz-Date", value: Self.amzDate)]
        let request = SigV4.Request(method: method, path: path, query: query, headers: headers, payloadHash: SigV4.emptySHA256)
        let canonical = try #require(SigV4.canonicalRequest(request, signedHeaders: ["host", "x-amz-date"], service: "service"))
        let scope = "20150830/us-east-1/service/aws4_request"
        let computed = SigV4.signature(signingKey: SigV4.signingKey(secret: Self.secret, date: "20150830", region: "us-east-1", service: "service"),
                                       stringToSign: SigV4.stringToSign(amzDate: Self.amzDate, scope: scope, canonicalRequest: canonical))
        #expect(computed == signature)
        // The verifier takes the published Authorization header at that moment, and refuses it
        // when one bit of the signature differs.
        var signed = request
        signed.headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(scope), SignedHeaders=host;x-amz-date, Signature=\(signature)"))
        let at = try #require(SigV4.parseAmzDate(Self.amzDate))
        #expect(SigV4.verify(signed, now: at + 60, secret: { $0 == "AKIDEXAMPLE" ? Self.secret : nil }).failure == nil)
        var flipped = request
        let bad = String(signature.dropLast()) + (signature.hasSuffix("0") ? "1" : "0")
        flipped.headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(scope), SignedHeaders=host;x-amz-date, Signature=\(bad)"))
        #expect(SigV4.verify(flipped, now: at + 60, secret: { $0 == "AKIDEXAMPLE" ? Self.secret : nil }).failure == .signatureDoesNotMatch)
    }
}
