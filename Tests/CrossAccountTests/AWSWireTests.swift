import CleanRoomsModel
import Digest
import Foundation
import JSON
import SigV4
import Testing
import TestSupport
import Wire

/// AW-1 against real nodes: each service in its own protocol on the node's HTTP port, signed
/// with SigV4 by the account's keys, and the seed's cross-account story told over it.
@Suite struct AWSWireTests {
    static func json(_ a: HTTPAnswer) throws -> JSON { try JSONParser.parse(a.body) }

    /// Percent-encodes a URI label as SDKs do (everything but unreserved characters).
    static func label(_ s: String) -> String { SigV4.uriEncode(s) }

    @Test("AW-1 XA-1 XA-8: A starts a job on B's CAM over rest-json, both read their own ARN (the same as over JSON-RPC), A deletes, B's copy goes")
    func crossAccountStory() async throws {
        try await withCluster(accounts: 2, label: "aw1-story") { c in
            let s = try await CrossAccountScene.prepare(c)
            let a = try c.httpClient(0), b = try c.httpClient(1)
            let start = try a.call("cleanrooms-ml", "POST", "/audience-generation-job", headers: [("Content-Type", "application/json")],
                                   body: JSONWriter.bytes(s.startParams(name: "over-http")))
            try #require(start.status == 200, "\(start)")
            let arnA = try #require(try Self.json(start)["audienceGenerationJobArn"]?.stringValue)
            let arnB = s.otherARN(arnA)
            try await s.waitFor(s.b, arnB)
            try await s.waitFor(s.a, arnA)
            for (client, rpc, arn) in [(a, s.a, arnA), (b, s.b, arnB)] {
                let got = try client.call("cleanrooms-ml", "GET", "/audience-generation-job/" + Self.label(arn))
                try #require(got.status == 200, "\(got)")
                #expect(got.header("Content-Type") == "application/json" && got.header("x-amzn-RequestId") != nil)
                let http = try Self.json(got)
                let viaRPC = try await rpc.call("cleanroomsml.GetAudienceGenerationJob", ["audienceGenerationJobArn": .string(arn)])
                // The same answer: timestamps as ISO 8601 text (the model's format) instead of numbers.
                for (k, v) in viaRPC.objectValue ?? [:] {
                    if k == "createTime" || k == "updateTime" {
                        let t = try #require(http[k]?.stringValue.flatMap(ISO8601.parse), "\(k) is \(String(describing: http[k]))")
                        #expect(abs(t - (v.numberValue ?? 0)) < 0.001, "\(k)")
                    } else {
                        #expect(http[k] == v, "\(k): HTTP \(String(describing: http[k])), JSON-RPC \(v)")
                    }
                }
            }
            #expect(try Self.json(b.call("cleanrooms-ml", "GET", "/audience-generation-job/" + Self.label(arnB)))["startedBy"]?.stringValue == s.accountA)
            let denied = try a.call("cleanrooms-ml", "GET", "/audience-generation-job/" + Self.label(arnB))
            #expect(denied.status == 403 && denied.header("x-amzn-ErrorType") == "AccessDeniedException")

            let delete = try a.call("cleanrooms-ml", "DELETE", "/audience-generation-job/" + Self.label(arnA))
            #expect(delete.status == 200, "\(delete)")
            let gone = try await eventually(timeout: 20) {
                try b.call("cleanrooms-ml", "GET", "/audience-generation-job/" + Self.label(arnB)).status == 404
            }
            #expect(gone, "B's copy is still there after A's delete")
            let last = try b.call("cleanrooms-ml", "GET", "/audience-generation-job/" + Self.label(arnB))
            #expect(last.header("x-amzn-ErrorType") == "ResourceNotFoundException")
            let list = try Self.json(b.call("cleanrooms-ml", "GET", "/audience-generation-job?maxResults=10"))
            #expect(list["audienceGenerationJobs"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("AW-1: query (IAM, STS), json 1.1 (Glue, CloudTrail) and rest-xml (S3) on a real node; a user's key works over HTTP until it is deleted")
    func everyProtocol() async throws {
        try await withCluster(accounts: 1, label: "aw1-protocols") { c in
            let h = try c.httpClient(0)
            let form = [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")]
            // Query: IAM and STS answer XML.
            let created = try h.call("iam", "POST", "/", headers: form, body: Array("Action=CreateUser&Version=2010-05-08&UserName=ana&Tags.member.1.Key=team&Tags.member.1.Value=ads".utf8))
            try #require(created.status == 200, "\(created)")
            #expect(created.text.contains("<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User>"))
            #expect(created.text.contains("<UserName>ana</UserName>") && created.text.contains("<Tags><member><Key>team</Key><Value>ads</Value></member></Tags>"))
            let missing = try h.call("iam", "POST", "/", headers: form, body: Array("Action=GetUser&Version=2010-05-08&UserName=nobody".utf8))
            #expect(missing.status == 404 && missing.text.contains("<Code>NoSuchEntity</Code>") && missing.text.contains("<Type>Sender</Type>"))
            let invalid = try h.call("iam", "POST", "/", headers: form, body: Array("Action=CreateUser&Version=2010-05-08&UserName=a%20b%2Fc".utf8))
            #expect(invalid.status == 400 && invalid.text.contains("<Code>ValidationError</Code>"), "\(invalid)")
            let key = try h.call("iam", "POST", "/", headers: form, body: Array("Action=CreateAccessKey&Version=2010-05-08&UserName=ana".utf8))
            let keyID = try #require(key.text.components(separatedBy: "<AccessKeyId>").dropFirst().first?.components(separatedBy: "<").first)
            let secret = try #require(key.text.components(separatedBy: "<SecretAccessKey>").dropFirst().first?.components(separatedBy: "<").first)
            let ana = try c.httpClient(0, accessKeyID: keyID, secret: secret)
            let who = try ana.call("sts", "POST", "/", headers: form, body: Array("Action=GetCallerIdentity&Version=2011-06-15".utf8))
            #expect(who.text.contains("<Arn>arn:aws:iam::\(c.account(0).id):user/ana</Arn>"), "\(who)")
            let denied = try ana.call("iam", "POST", "/", headers: form, body: Array("Action=ListUsers&Version=2010-05-08".utf8))
            #expect(denied.status == 403 && denied.text.contains("<Code>AccessDenied</Code>"), "\(denied)")
            _ = try h.call("iam", "POST", "/", headers: form, body: Array("Action=DeleteAccessKey&Version=2010-05-08&UserName=ana&AccessKeyId=\(keyID)".utf8))
            let revoked = try ana.call("sts", "POST", "/", headers: form, body: Array("Action=GetCallerIdentity&Version=2011-06-15".utf8))
            #expect(revoked.status == 403 && revoked.text.contains("<Code>InvalidClientTokenId</Code>"), "\(revoked)")

            // json 1.1: Glue and CloudTrail.
            let glue = [(name: "Content-Type", value: "application/x-amz-json-1.1"), (name: "X-Amz-Target", value: "AWSGlue.CreateDatabase")]
            #expect(try h.call("glue", "POST", "/", headers: glue, body: Array(#"{"DatabaseInput": {"Name": "ads"}}"#.utf8)).status == 200)
            let db = try Self.json(h.call("glue", "POST", "/", headers: [("X-Amz-Target", "AWSGlue.GetDatabase")], body: Array(#"{"Name": "ads"}"#.utf8)))
            #expect(db["Database"]?["Name"] == "ads" && db["Database"]?["CreateTime"]?.numberValue != nil)
            let noDB = try h.call("glue", "POST", "/", headers: [("X-Amz-Target", "AWSGlue.GetDatabase")], body: Array(#"{"Name": "nope"}"#.utf8))
            let noDBType = try Self.json(noDB)["__type"]
            #expect(noDB.status == 400 && noDBType == "EntityNotFoundException")
            let events = try Self.json(h.call("cloudtrail", "POST", "/", headers: [("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")],
                                              body: Array(#"{"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]}"#.utf8)))
            #expect(events["Events"]?.arrayValue?.first?["EventName"] == "CreateUser", "\(events)")

            // rest-xml: S3, plain and aws-chunked bodies.
            #expect(try h.call("s3", "PUT", "/seeds").status == 200)
            let body = Array("user_id\nu1\nu2\n".utf8)
            let put = try h.call("s3", "PUT", "/seeds/in/seed%201.csv", headers: [("Content-MD5", Base64.encode(MD5.hash(body))), ("Content-Type", "text/csv")], body: body)
            #expect(put.status == 200 && put.header("ETag") != nil, "\(put)")
            let big = Array((0..<100_000).map { UInt8($0 % 253) })
            var chunked: [UInt8] = []
            for start in stride(from: 0, to: big.count, by: 65536) {
                let piece = big[start..<min(big.count, start + 65536)]
                chunked += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + [13, 10]
            }
            chunked += Array("0\r\nx-amz-checksum-crc32:\(Base64.encode(CRC32.checksum(big).bigEndianBytes))\r\n\r\n".utf8)
            let streamed = try h.call("s3", "PUT", "/seeds/big.bin", headers: [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(big.count)),
                                                                             ("x-amz-trailer", "x-amz-checksum-crc32")], body: chunked, contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            #expect(streamed.status == 200, "\(streamed)")
            #expect(try h.call("s3", "GET", "/seeds/big.bin").body == big)
            let get = try h.call("s3", "GET", "/seeds/in/seed%201.csv")
            #expect(get.body == body && get.header("Content-Type") == "text/csv" && get.header("Last-Modified")?.hasSuffix(" GMT") == true, "\(get)")
            let head = try h.call("s3", "HEAD", "/seeds/in/seed%201.csv")
            #expect(head.status == 200 && head.header("Content-Length") == String(body.count) && head.body.isEmpty)
            let list = try h.call("s3", "GET", "/seeds?list-type=2&prefix=in%2F")
            #expect(list.text.contains("<ListBucketResult") && list.text.contains("<Key>in/seed 1.csv</Key>") && !list.text.contains("big.bin"), "\(list)")
            let wrongMD5 = try h.call("s3", "PUT", "/seeds/x", headers: [("Content-MD5", Base64.encode(MD5.hash([1, 2])))], body: body)
            #expect(wrongMD5.status == 400 && wrongMD5.text.contains("<Code>BadDigest</Code>"))
            #expect(try h.call("s3", "GET", "/seeds/x").status == 404, "a refused put stored nothing")
            #expect(try h.call("s3", "DELETE", "/seeds/in/seed%201.csv").status == 204)
            let noKey = try h.call("s3", "GET", "/seeds/in/seed%201.csv")
            #expect(noKey.status == 404 && noKey.text.contains("<Code>NoSuchKey</Code>"))
            let headMissing = try h.call("s3", "HEAD", "/seeds/in/seed%201.csv")
            #expect(headMissing.status == 404 && headMissing.body.isEmpty)
            // The same objects over JSON-RPC.
            let rpc = try await c.client(0)
            #expect(try await rpc.call("s3.GetObject", ["Bucket": "seeds", "Key": "big.bin"])["Body"]?.stringValue == Base64.encode(big))
        }
    }

    @Test("AW-1 HTTP: keep-alive, pipelined requests answered in order, Expect: 100-continue, chunked bodies; a bad signature keeps the connection, bad framing closes it")
    func connections() async throws {
        try await withCluster(accounts: 1, label: "aw1-http") { c in
            let h = try c.httpClient(0)
            let form = [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")]
            for name in ["u1", "u2", "u3"] {
                #expect(try h.call("iam", "POST", "/", headers: form, body: Array("Action=CreateUser&Version=2010-05-08&UserName=\(name)".utf8)).status == 200)
            }
            // Three requests in one write: three answers, in order.
            var pipelined: [UInt8] = []
            for name in ["u3", "u1", "u2"] { pipelined += h.signedBytes("iam", "POST", "/", headers: form, body: Array("Action=GetUser&Version=2010-05-08&UserName=\(name)".utf8)) }
            try h.send(pipelined)
            for name in ["u3", "u1", "u2"] {
                let a = try #require(try h.readAnswer())
                #expect(a.text.contains("<UserName>\(name)</UserName>"), "\(a)")
            }
            // Expect: 100-continue: the node says go on before the body is sent.
            let body = Array("Action=GetUser&Version=2010-05-08&UserName=u2".utf8)
            let whole = h.signedBytes("iam", "POST", "/", headers: form + [("Expect", "100-continue")], body: body)
            try h.send(Array(whole.dropLast(body.count)))
            let proceed = try #require(try h.readAnswer(timeout: 5))
            #expect(proceed.status == 100)
            try h.send(body)
            #expect(try #require(try h.readAnswer()).text.contains("<UserName>u2</UserName>"))
            // A chunked request body.
            let json = Array(#"{"DatabaseInput": {"Name": "chunky"}}"#.utf8)
            var signed = h.signedBytes("glue", "POST", "/", headers: [("X-Amz-Target", "AWSGlue.CreateDatabase"), ("Content-Type", "application/x-amz-json-1.1")], body: json)
            let text = String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "Content-Length: \(json.count)\r\n", with: "Transfer-Encoding: chunked\r\n")
            var framed: [UInt8] = Array(text.utf8.dropLast(json.count))
            framed += Array("5\r\n".utf8)
            framed += json[0..<5]
            framed += Array("\r\n\(String(json.count - 5, radix: 16))\r\n".utf8)
            framed += json[5...]
            framed += Array("\r\n0\r\n\r\n".utf8)
            signed = framed
            try h.send(signed)
            #expect(try #require(try h.readAnswer()).status == 200)
            // A wrong signature is answered, and the connection serves the next request.
            let wrong = try c.httpClient(0, secret: "wrong")
            let refused = try wrong.call("glue", "POST", "/", headers: [("X-Amz-Target", "AWSGlue.GetDatabase")], body: Array(#"{"Name": "chunky"}"#.utf8))
            let refusedType = try Self.json(refused)["__type"]
            #expect(refused.status == 403 && refusedType == "InvalidSignatureException")
            wrong.accessKeyID = c.account(0).admin.accessKeyId
            wrong.secret = c.account(0).admin.secretAccessKey
            #expect(try wrong.call("glue", "POST", "/", headers: [("X-Amz-Target", "AWSGlue.GetDatabase")], body: Array(#"{"Name": "chunky"}"#.utf8)).status == 200)
            // Framing the node cannot trust is answered and the connection closed.
            for bad in ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n",
                        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"] {
                let conn = try c.httpClient(0)
                try conn.send(Array(bad.utf8))
                let answer = try #require(try conn.readAnswer(timeout: 5))
                #expect(answer.status == 400 || answer.status == 431, "\(answer)")
                #expect(answer.header("Connection") == "close")
                #expect(conn.waitForClose(timeout: 5))
            }
            // Unsigned: refused in the protocol the request looks like.
            let anonymous = try c.httpClient(0)
            try anonymous.send(Array("GET /seeds/x HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let anon = try #require(try anonymous.readAnswer())
            #expect(anon.status == 403 && anon.text.contains("<Code>AccessDenied</Code>"), "\(anon)")
        }
    }

    @Test("AW-1 HTTP: a client that stalls mid-request gets 408 and is closed; an idle connection is closed; a busy one is not")
    func slowClients() async throws {
        try await withCluster(accounts: 1, label: "aw1-slow", environment: ["CRML_HTTP_REQUEST_TIMEOUT": "0.5", "CRML_HTTP_IDLE_TIMEOUT": "1.5"]) { c in
            let stalled = try c.httpClient(0)
            try stalled.send(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it".utf8))
            let answer = try #require(try stalled.readAnswer(timeout: 10))
            #expect(answer.status == 408 && answer.header("Connection") == "close", "\(answer)")
            #expect(stalled.waitForClose(timeout: 5))
            // A byte every 0.2 s makes progress, but the request must be whole within the timeout.
            let trickle = try c.httpClient(0)
            for b in Array("GET /audience-model HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n".utf8) {
                if trickle.closedByPeer { break }
                try? trickle.send([b])
                _ = trickle.waitForClose(timeout: 0.2)
            }
            #expect(trickle.closedByPeer, "a trickling client kept its connection")
            #expect(try trickle.readAnswer(timeout: 1)?.status == 408)
            let idle = try c.httpClient(0)
            let busy = try c.httpClient(0)
            let form = [(name: "Content-Type", value: "application/x-www-form-urlencoded")]
            let call = Array("Action=ListUsers&Version=2010-05-08".utf8)
            #expect(try idle.call("iam", "POST", "/", headers: form, body: call).status == 200)
            let start = Date()
            // The busy connection calls every 0.3 s for 3 s: longer than the idle timeout in all,
            // never idle that long at once.
            while Date().timeIntervalSince(start) < 3 {
                #expect(try busy.call("iam", "POST", "/", headers: form, body: call).status == 200)
                _ = busy.waitForClose(timeout: 0.3)
                #expect(!busy.closedByPeer)
            }
            #expect(idle.waitForClose(timeout: 5), "an idle connection stayed open")
        }
    }

    /// `a=1&b=2` with every value percent-encoded, as a query form body is sent.
    static func form(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { "\($0.0)=\(SigV4.uriEncode($0.1))" }.joined(separator: "&").utf8)
    }

    /// The text of the first `<name>` element.
    static func element(_ name: String, _ text: String) -> String? {
        text.components(separatedBy: "<\(name)>").dropFirst().first?.components(separatedBy: "</\(name)>").first
    }

    @Test("AW-1: sts.AssumeRole credentials sign HTTP requests as the role (with their token, not without); S3 URLs presigned with SigV4 or the legacy scheme fetch the object until they expire")
    func temporaryCredentialsAndPresignedURLs() async throws {
        try await withCluster(accounts: 1, label: "aw1-sts") { c in
            let h = try c.httpClient(0)
            let formType = [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")]
            let account = c.account(0).id.rawValue
            let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::\#(account):root"},"Action":"sts:AssumeRole"}]}"#
            let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListAllMyBuckets"],"Resource":"*"}]}"#
            try #require(try h.call("iam", "POST", "/", headers: formType, body: Self.form([("Action", "CreateRole"), ("Version", "2010-05-08"), ("RoleName", "reader"), ("AssumeRolePolicyDocument", trust)])).status == 200)
            try #require(try h.call("iam", "POST", "/", headers: formType, body: Self.form([("Action", "PutRolePolicy"), ("Version", "2010-05-08"), ("RoleName", "reader"), ("PolicyName", "read"), ("PolicyDocument", policy)])).status == 200)
            let assumed = try h.call("sts", "POST", "/", headers: formType, body: Self.form([("Action", "AssumeRole"), ("Version", "2011-06-15"),
                                                                                               ("RoleArn", "arn:aws:iam::\(account):role/reader"), ("RoleSessionName", "s1"), ("DurationSeconds", "900")]))
            try #require(assumed.status == 200, "\(assumed)")
            #expect(assumed.text.contains("<AssumedRoleUser><Arn>arn:aws:sts::\(account):assumed-role/reader/s1</Arn>") && assumed.text.contains("<Expiration>"))
            let key = try #require(Self.element("AccessKeyId", assumed.text)), secret = try #require(Self.element("SecretAccessKey", assumed.text))
            let token = try #require(Self.element("SessionToken", assumed.text))
            let session = try c.httpClient(0, accessKeyID: key, secret: secret)
            session.sessionToken = token
            let who = try session.call("sts", "POST", "/", headers: formType, body: Self.form([("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]))
            #expect(who.text.contains("<Arn>arn:aws:sts::\(account):assumed-role/reader/s1</Arn>"), "\(who)")
            let denied = try session.call("iam", "POST", "/", headers: formType, body: Self.form([("Action", "ListUsers"), ("Version", "2010-05-08")]))
            #expect(denied.status == 403 && denied.text.contains("<Code>AccessDenied</Code>"), "\(denied)")
            #expect(try h.call("s3", "PUT", "/shared").status == 200)
            let object = Array("user_id\nu9\n".utf8)
            #expect(try h.call("s3", "PUT", "/shared/seed.csv", body: object).status == 200)
            #expect(try session.call("s3", "GET", "/shared/seed.csv").body == object)
            session.sessionToken = nil
            let untokened = try session.call("sts", "POST", "/", headers: formType, body: Self.form([("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]))
            #expect(untokened.status == 403 && untokened.text.contains("<Code>InvalidClientTokenId</Code>"), "\(untokened)")
            session.sessionToken = token + "x"
            #expect(try session.call("s3", "GET", "/shared/seed.csv").status == 403)
            // JSON-RPC takes long-term keys only.
            await #expect(throws: (any Error).self) { _ = try await c.client(0, credentials: .accessKey(key, secret: secret)) }

            // Presigned URLs: no headers of the signer's, just the URL.
            let admin = c.account(0).admin
            let port = try #require(c.account(0).httpPort)
            let now = Date().timeIntervalSince1970
            let v4 = SigV4.presign(method: "GET", path: "/shared/seed.csv", host: "127.0.0.1:\(port)", accessKeyID: admin.accessKeyId, secret: admin.secretAccessKey,
                                   region: "us-west-1", at: now, expires: 60)
            let expires = String(Int(now) + 60)
            let legacySignature = Base64.encode(HMACSHA1.authenticate(Array("GET\n\n\n\(expires)\n/shared/seed.csv".utf8), key: Array(admin.secretAccessKey.utf8)))
            let legacy = "/shared/seed.csv?AWSAccessKeyId=\(admin.accessKeyId)&Expires=\(expires)&Signature=\(SigV4.uriEncode(legacySignature))"
            let stale = "/shared/seed.csv?AWSAccessKeyId=\(admin.accessKeyId)&Expires=\(Int(now) - 1)&Signature=\(SigV4.uriEncode(Base64.encode(HMACSHA1.authenticate(Array("GET\n\n\n\(Int(now) - 1)\n/shared/seed.csv".utf8), key: Array(admin.secretAccessKey.utf8)))))"
            for (target, status) in [(v4, 200), (legacy, 200), (stale, 403), (v4.replacingOccurrences(of: "seed.csv", with: "seed.csv2"), 403)] {
                let raw = try c.httpClient(0)
                try raw.send(Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
                let answer = try #require(try raw.readAnswer())
                #expect(answer.status == status, "\(target): \(answer)")
                if status == 200 { #expect(answer.body == object) }
            }
        }
    }
}
