#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
@testable import NodeRuntime
import Testing
import TestSupport
import Wire

/// SIM-1 on real processes: a node refuses to start on a damaged or incomplete data directory,
/// says where, and changes nothing; `crml node --repair` mends what can be mended on purpose;
/// a missing blob is reported, not papered over.
@Suite(.serialized) struct StorageDamageTests {

    func createUsers(_ client: RPCClient, _ range: Range<Int>) async throws {
        for i in range { _ = try await client.call("iam.CreateUser", ["UserName": .string("u\(i)")]) }
    }

    func userNames(_ client: RPCClient) async throws -> Set<String> {
        let page = try await client.call("iam.ListUsers", ["MaxItems": 1000])
        return Set((page["Users"]?.arrayValue ?? []).compactMap { $0["UserName"]?.stringValue })
    }

    func putObject(_ client: RPCClient) async throws {
        _ = try await client.call("s3.CreateBucket", ["Bucket": "kept"])
        _ = try await client.call("s3.PutObject", ["Bucket": "kept", "Key": "k", "Body": .string(Base64.encode(Array("hello".utf8)))])
    }

    @Test("SIM-1 damage in the middle of the log stops the node, naming file and offset, and changes nothing; --repair cuts it with a copy")
    func damageInTheMiddle() async throws {
        try await withCluster(label: "damage") { c in
            let client = try await c.client()
            try await putObject(client)
            try await createUsers(client, 0..<30)
            try await c.kill(0)
            let wal = c.dataDir(0) + "/wal"
            let scan = try WriteAheadLog.scan(wal)
            let segment = try #require(scan.segments.last).path
            // The record of user u15, and where it starts.
            let k = try #require(scan.records.firstIndex { String(decoding: $0.payload, as: UTF8.self).contains("\"u15\"") })
            let offset = scan.records[..<k].reduce(0) { $0 + 16 + $1.payload.count }
            var bytes = try FileIO.read(segment)
            bytes[offset + 20] ^= 0x20
            try FileIO.writeDurably(segment, bytes)
            let before = directoryContents(c.dataDir(0), excluding: ["LOCK"])

            let refused = try await c.crml(["cluster", "restart", c.account(0).id.rawValue])
            #expect(refused.exitCode != 0)
            #expect(refused.stderrText.contains("write-ahead log \(segment) is damaged at byte \(offset)"), "\(refused.stderrText)")
            #expect(refused.stderrText.contains("--repair"))
            #expect(directoryContents(c.dataDir(0), excluding: ["LOCK"]) == before, "a node that refuses to start changes nothing on disk")

            let repaired = try await TestSupport.crml(["node", "--repair", "--cluster", c.dir + "/cluster.json", "--account", c.account(0).id.rawValue])
            #expect(repaired.exitCode == 0, "\(repaired.stderrText)")
            #expect(repaired.stdoutText.contains("cut \(segment) at byte \(offset)"))
            let kept = try #require(FileIO.list(c.dataDir(0)).first { $0.hasPrefix("repair-") })
            #expect(try FileIO.read(c.dataDir(0) + "/" + kept + "/" + URL(fileURLWithPath: segment).lastPathComponent + ".from-\(offset)") == Array(bytes[offset...]))

            try await c.restart(0)
            let after = try await c.client()
            let names = try await userNames(after)
            #expect(names == Set((0..<15).map { "u\($0)" } + ["admin"]), "the records before the damage, and only those")
            let object = try await after.call("s3.GetObject", ["Bucket": "kept", "Key": "k"])
            #expect(object["Body"]?.stringValue == Base64.encode(Array("hello".utf8)), "a blob whose record survived is kept")
        }
    }

    @Test("SIM-1 without snapshot.json the node refuses to start and deletes no blob")
    func missingSnapshot() async throws {
        try await withCluster(label: "nosnap") { c in
            let client = try await c.client()
            try await putObject(client)
            try await createUsers(client, 0..<5)
            _ = try await client.call("admin.Snapshot")
            try await createUsers(client, 5..<10)
            try await c.kill(0)
            FileIO.remove(c.dataDir(0) + "/snapshot.json")
            let before = directoryContents(c.dataDir(0), excluding: ["LOCK"])
            #expect(before.keys.contains { $0.hasPrefix("blobs/") })
            let refused = try await c.crml(["cluster", "restart", c.account(0).id.rawValue])
            #expect(refused.exitCode != 0)
            #expect(refused.stderrText.contains("there is no snapshot.json to hold LSNs 1…"), "\(refused.stderrText)")
            #expect(directoryContents(c.dataDir(0), excluding: ["LOCK"]) == before)
        }
    }

    @Test("SIM-1 a missing blob is reported at start and answers a 500 that shows no host path")
    func missingBlob() async throws {
        try await withCluster(label: "noblob") { c in
            let client = try await c.client()
            try await putObject(client)
            try await c.kill(0)
            let blob = try #require(FileIO.list(c.dataDir(0) + "/blobs").first)
            FileIO.remove(c.dataDir(0) + "/blobs/" + blob)
            try await c.restart(0)
            #expect(c.logs().contains("WARNING: 1 blobs the state needs are missing (\(blob))"))
            let after = try await c.client()
            let status = try await after.call("admin.Status")
            #expect(status["recovery"]?["missingBlobs"] == [.string(blob)])
            do {
                _ = try await after.call("s3.GetObject", ["Bucket": "kept", "Key": "k"])
                Issue.record("GetObject of a missing blob answered")
            } catch RPCCallError.service(let e) {
                #expect(e.type == "InternalError" && e.httpStatus == 500)
                #expect(!e.message.contains(c.dir) && !e.message.contains("/"), "\(e.message)")
            }
            let listed = try await after.call("s3.ListObjectsV2", ["Bucket": "kept"])
            #expect(listed["KeyCount"] == 1, "the object's record is kept: its bytes may yet be restored")
        }
    }
}
