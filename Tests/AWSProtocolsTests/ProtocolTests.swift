@testable import AWSProtocols
import CleanRoomsModel
import Foundation
import HTTP
import JSON
import SigV4
import Testing

/// Requests as boto3 sends them (`scripts/gen-protocol-fixtures.py` → `requests.json`) read back
/// into the input boto3 was given, for every operation of every model; and answers to every
/// operation read back, by an SDK's rules, into the output they were written from.
@Suite struct ProtocolTests {
    static let fixtures: [JSON] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("requests.json").path
        let file = (try? JSONParser.parse([UInt8](FileManager.default.contents(atPath: path) ?? Data()))) ?? .null
        return file["fixtures"]?.arrayValue ?? []
    }()

    static func request(_ fixture: JSON) -> HTTPRequest {
        let r = fixture["request"] ?? .null
        let url = r["url"]?.stringValue ?? ""
        let target = String(url.dropFirst("http://127.0.0.1:8080".count))
        let headers = (r["headers"]?.arrayValue ?? []).map { (name: $0[0]?.stringValue ?? "", value: $0[1]?.stringValue ?? "") }
        return HTTPRequest(method: r["method"]?.stringValue ?? "", target: target.isEmpty ? "/" : target, headers: headers,
                           body: Base64.decode(r["body"]?.stringValue ?? "") ?? [])
    }

    /// Equal as JSON, numbers to a microsecond (timestamps), header-map keys in any case.
    static func same(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return abs(x - y) < 1e-6
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            let lx = Dictionary(x.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
            let ly = Dictionary(y.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
            return lx.count == ly.count && lx.allSatisfy { k, v in ly[k].map { same(v, $0) } ?? false }
        default: return a == b
        }
    }

    @Test("the fixtures cover every service and over a hundred operations")
    func coverage() {
        #expect(Self.fixtures.count >= 100)
        #expect(Set(Self.fixtures.compactMap { $0["service"]?.stringValue }) == ["cleanroomsml", "cleanrooms", "iam", "sts", "s3", "glue", "cloudtrail"])
    }

    @Test("every boto3 request is read back into the input it was given", arguments: fixtures.indices)
    func decodes(_ i: Int) throws {
        let fixture = Self.fixtures[i]
        let request = Self.request(fixture)
        let scope = try #require(HTTPFront.credentialService(request))
        let service = try #require(ProtocolService.bySigningName[scope], "no service signs as \(scope)")
        #expect(service.model.name == fixture["service"]?.stringValue)
        let call: AWSCall
        switch service.decode(request, body: request.body) {
        case .success(let c): call = c
        case .failure(let e):
            Issue.record("\(fixture["service"]!).\(fixture["operation"]!): \(e)")
            return
        }
        #expect(call.operation == fixture["operation"]?.stringValue)
        let expected = fixture["input"]?.objectValue ?? [:]
        let got = call.params.objectValue ?? [:]
        let input = service.inputShape(call.operation)
        for (k, v) in expected where k != "ContentLength" {
            #expect(got[k].map { Self.same($0, v) } == true, "\(call.method) \(k): sent \(v), read \(got[k].map { "\($0)" } ?? "nothing")")
        }
        // What the SDK adds on its own (S3's encoding-type, checksum headers) must be members it
        // may set: headers and query parameters of the input shape.
        for k in Set(got.keys).subtracting(expected.keys) where k != "ContentLength" {
            let location = service.members(input).first { $0.name == k }?.spec["location"]?.stringValue
            #expect(location == "header" || location == "querystring", "\(call.method): \(k) read, not sent")
        }
    }

    static let outputs: [(service: String, operation: String)] = ["cleanroomsml", "cleanrooms", "iam", "sts", "s3", "glue", "cloudtrail"].flatMap { name in
        let s = ProtocolService.bySigningName.values.first { $0.model.name == name }!
        return s.operations.keys.sorted().filter { s.outputShape($0) != nil }.map { (name, $0) }
    }

    @Test("every operation's answer reads back, by an SDK's rules, into the output it was written from", arguments: outputs.map { "\($0.service).\($0.operation)" })
    func answers(_ method: String) throws {
        let parts = method.split(separator: ".")
        let service = try #require(ProtocolService.bySigningName.values.first { $0.model.name == String(parts[0]) })
        let operation = String(parts[1])
        let output = service.outputShape(operation)
        var sample = try #require(SampleValues(service: service).sample(output, member: "output"))
        for isHead in service.operations[operation]?["http"]?["method"]?.stringValue == "HEAD" ? [true] : [false] {
            let call = AWSCall(service: service, operation: operation, params: .object([:]), isHead: isHead)
            let response = service.response(to: call, result: sample, requestID: "req-1")
            #expect(response.status == (service.operations[operation]?["http"]?["responseCode"]?.intValue ?? 200))
            var read = try ResponseReader(service: service, operation: operation).read(response)
            if !isHead, service.model.name == "s3" {
                // A body's length is the response's own Content-Length, not a member.
                sample["ContentLength"] = nil
                read["ContentLength"] = nil
            }
            if response.status == 204 { #expect(response.body.isEmpty) }
            #expect(Self.same(read, sample), "\(method): wrote \(sample)\nread \(read)")
            // The bytes are a well-formed HTTP answer whatever the values hold.
            let text = String(decoding: response.bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 \(response.status) "))
        }
    }

    @Test("a streamed payload travels beside the result: GetObject's bytes, HeadObject's length without them")
    func streamedPayload() throws {
        let s3 = try #require(ProtocolService.bySigningName["s3"])
        let bytes = Array("user_id\nu1\n".utf8)
        let result: JSON = ["ETag": "\"abc\"", "ContentLength": .int(bytes.count), "LastModified": 1_796_301_360, "ContentType": "text/csv"]
        let get = s3.response(to: AWSCall(service: s3, operation: "GetObject", params: [:], isHead: false), result: result, body: bytes, requestID: "r")
        #expect(get.body == bytes && get.headers.contains { $0.name == "Content-Type" && $0.value == "text/csv" })
        #expect(get.headers.contains { $0.name == "Last-Modified" && $0.value == "Thu, 03 Dec 2026 12:36:00 GMT" })
        #expect(String(decoding: get.bytes, as: UTF8.self).contains("Content-Length: \(bytes.count)\r\n"))
        let head = s3.response(to: AWSCall(service: s3, operation: "HeadObject", params: [:], isHead: true), result: result, requestID: "r")
        #expect(head.body.isEmpty && head.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value) == [String(bytes.count)])
    }

    @Test("errors in each protocol's form: rest-json header, json __type, query and rest-xml Error documents, HEAD without a body")
    func errors() throws {
        let e = AWSWireError("ResourceNotFoundException", "Job <x> & 'y' not found", status: 404)
        let restJSON = ProtocolService.errorResponse(e, wire: .restJSON, requestID: "r1")
        #expect(restJSON.status == 404)
        #expect(restJSON.headers.contains { $0.name == "x-amzn-ErrorType" && $0.value == "ResourceNotFoundException" })
        #expect(try JSONParser.parse(restJSON.body)["message"]?.stringValue == "Job <x> & 'y' not found")
        let json = ProtocolService.errorResponse(e, wire: .json, requestID: "r1")
        #expect(try JSONParser.parse(json.body)["__type"]?.stringValue == "ResourceNotFoundException")
        for wire in [WireProtocol.query, .restXML] {
            let r = ProtocolService.errorResponse(AWSWireError("NoSuchEntity", "The user with name <b> cannot be found.", status: 404), wire: wire, requestID: "r2")
            guard case .success(let root) = XMLReader.parse(r.body) else { Issue.record("\(wire) error is not XML"); continue }
            let error = wire == .query ? root.child("Error") : root
            #expect(error?.child("Code")?.text == "NoSuchEntity")
            #expect(error?.child("Message")?.text == "The user with name <b> cannot be found.")
            if wire == .query { #expect(error?.child("Type")?.text == "Sender") }
        }
        let head = ProtocolService.errorResponse(AWSWireError("NoSuchKey", "gone", status: 404), wire: .restXML, requestID: "r3", isHead: true)
        #expect(head.body.isEmpty && head.status == 404)
    }

    @Test("routing: labels decode per segment, greedy keys keep their slashes, literal query constraints pick the operation, wrong methods and paths are named")
    func routing() throws {
        let s3 = try #require(ProtocolService.bySigningName["s3"])
        let get = HTTPRequest(method: "GET", target: "/bucket-1/a%2Fb/c%20d/%C3%A9", headers: [("Host", "x")])
        let call = try s3.decode(get, body: []).get()
        #expect(call.operation == "GetObject" && call.params["Key"]?.stringValue == "a/b/c d/é" && call.params["Bucket"]?.stringValue == "bucket-1")
        #expect(try s3.decode(HTTPRequest(method: "GET", target: "/bucket-1?list-type=2&prefix=a%2F", headers: []), body: []).get().operation == "ListObjectsV2")
        #expect(try s3.decode(HTTPRequest(method: "GET", target: "/", headers: []), body: []).get().operation == "ListBuckets")
        // A key's trailing slash is part of it; a bucket's is not.
        let folder = try s3.decode(HTTPRequest(method: "PUT", target: "/bucket-1/folder/", headers: []), body: []).get()
        #expect(folder.operation == "PutObject" && folder.params["Key"]?.stringValue == "folder/")
        #expect(try s3.decode(HTTPRequest(method: "PUT", target: "/bucket-1/", headers: []), body: []).get().operation == "CreateBucket")
        if case .failure(let e) = s3.decode(HTTPRequest(method: "POST", target: "/bucket-1/key", headers: []), body: []) { #expect(e.code == "MethodNotAllowed" && e.status == 405) } else { Issue.record("POST on an object routed") }
        let ml = try #require(ProtocolService.bySigningName["cleanrooms-ml"])
        let arn = "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/abc"
        let job = try ml.decode(HTTPRequest(method: "GET", target: "/audience-generation-job/" + SigV4.uriEncode(arn), headers: []), body: []).get()
        #expect(job.operation == "GetAudienceGenerationJob" && job.params["audienceGenerationJobArn"]?.stringValue == arn)
        #expect(try ml.decode(HTTPRequest(method: "GET", target: "/audience-generation-job/", headers: []), body: []).get().operation == "ListAudienceGenerationJobs")
        // Timestamps outside years 1 to 9999, and numbers that are not finite, are refused.
        if case .success = ml.decode(HTTPRequest(method: "GET", target: "/audience-generation-job?maxResults=1e400", headers: []), body: []) { Issue.record("1e400 read") }
        if case .failure(let e) = ml.decode(HTTPRequest(method: "GET", target: "/no-such-thing", headers: []), body: []) { #expect(e.code == "UnknownOperationException" && e.status == 404) } else { Issue.record("routed nowhere") }
        if case .failure(let e) = ml.decode(HTTPRequest(method: "GET", target: "/audience-generation-job?maxResults=ten", headers: []), body: []) {
            #expect(e.code == "ValidationException" && e.message.contains("maxResults"))
        } else { Issue.record("a non-number maxResults was read") }
        if case .failure(let e) = ml.decode(HTTPRequest(method: "POST", target: "/audience-generation-job", headers: []), body: Array("[1,2]".utf8)) {
            #expect(e.code == "SerializationException")
        } else { Issue.record("a JSON array body was read") }
        let glue = try #require(ProtocolService.bySigningName["glue"])
        if case .failure(let e) = glue.decode(HTTPRequest(method: "POST", target: "/", headers: [("X-Amz-Target", "AWSGlue.DropEverything")]), body: []) {
            #expect(e.code == "UnknownOperationException")
        } else { Issue.record("an unknown target was read") }
        let iam = try #require(ProtocolService.bySigningName["iam"])
        if case .failure(let e) = iam.decode(HTTPRequest(method: "POST", target: "/", headers: [("Content-Type", "application/x-www-form-urlencoded")]), body: Array("Action=Explode&Version=2010-05-08".utf8)) {
            #expect(e.code == "InvalidAction")
        } else { Issue.record("an unknown action was read") }
        if case .failure(let e) = iam.decode(HTTPRequest(method: "POST", target: "/", headers: [("Content-Type", "application/x-www-form-urlencoded")]), body: Array("Action=ListUsers&MaxItems=%ZZ".utf8)) {
            #expect(e.code == "MalformedInput")
        } else { Issue.record("a broken escape was read") }
    }

    @Test("hostile bodies and paths never trap: 3,000 mutated requests of every protocol are read or refused")
    func mutated() {
        var rng = SystemRandomNumberGenerator()
        let seeds = Self.fixtures.filter { ["CreateUser", "StartAudienceGenerationJob", "CreateTable", "CreateBucket", "LookupEvents", "ListObjectsV2"].contains($0["operation"]?.stringValue ?? "") }
        var refused = 0
        for n in 0..<3000 {
            let fixture = seeds[n % seeds.count]
            var request = Self.request(fixture)
            let service = ProtocolService.bySigningName[HTTPFront.credentialService(request) ?? ""]!
            if Bool.random(using: &rng), !request.body.isEmpty {
                request.body = mutate(request.body, &rng)
            } else {
                request = HTTPRequest(method: request.method, target: String(decoding: mutate(Array(request.target.utf8), &rng), as: UTF8.self), headers: request.headers, body: request.body)
            }
            if case .failure = service.decode(request, body: request.body) { refused += 1 }
        }
        #expect(refused > 0)
    }

    func mutate(_ bytes: [UInt8], _ rng: inout SystemRandomNumberGenerator) -> [UInt8] {
        var b = bytes.isEmpty ? [0x41] : bytes
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: b[i] = [0x25, 0x26, 0x3D, 0x2E, 0x22, 0x7B, 0x3C, 0x2F, 0x00, 0xFF, UInt8.random(in: 0...255, using: &rng)].randomElement(using: &rng)!
            case 1: b.remove(at: i)
            default: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
            }
            if b.isEmpty { b = [0x41] }
        }
        return b
    }

    @Test("XML: entities beyond XML's own and DOCTYPEs refused, nesting bounded, references read, malformed documents named")
    func xmlReader() {
        #expect(XMLReader.parse(Array("<a><b>x &amp; &#233; &#x41;</b></a>".utf8)) == .success(XMLElement(name: "a", children: [XMLElement(name: "b", text: "x & é A")])))
        if case .success = XMLReader.parse(Array("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>".utf8)) { Issue.record("a DOCTYPE was read") }
        if case .success = XMLReader.parse(Array("<a>&x;</a>".utf8)) { Issue.record("an unknown entity was read") }
        if case .success = XMLReader.parse(Array((String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)).utf8)) { Issue.record("100 levels were read") }
        for bad in ["", "<a>", "<a></b>", "<a x=1></a>", "<a>x</a><b/>", "text", "<a><![CDATA[x</a>"] {
            if case .success = XMLReader.parse(Array(bad.utf8)) { Issue.record("'\(bad)' was read") }
        }
        #expect((try? XMLReader.parse(Array("<?xml version=\"1.0\"?><!-- c --><CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>us-west-1</LocationConstraint></CreateBucketConfiguration>".utf8)).get().child("LocationConstraint")?.text) == "us-west-1")
    }
}
