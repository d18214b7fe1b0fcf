import AccountNode
import CleanRoomsModel
import Foundation
import JSON
import NodeRuntime
import Testing
import TestSupport
import Wire

/// XA-10's audit file, on a node run in this process: it is rewritten with the newest events
/// once it holds four times the trail's capacity (the storage thread encodes them), every line
/// stays a readable event, and a restart reads the newest back.
@Suite struct AuditFileTests {
    @Test("XA-10 the audit file is compacted to the newest events, and a restart reads them back")
    func auditFileIsCompacted() throws {
        let dir = FileManagerTemp.directory("audit-compact")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let withNode = { (body: (AccountNodeRuntime, RPCClient) throws -> Void) in try Self.node(dir, auditCapacity: 8, body) }
        _ = try withNode { _, client in
            for k in 0..<100 { _ = try client.call("iam.TagUser", ["UserName": "admin", "Tags": [["Key": "k", "Value": .string("\(k)")]]]) }
        }
        let lines = try String(contentsOfFile: dir + "/audit.log", encoding: .utf8).split(separator: "\n")
        #expect(lines.count <= 8 * 4 + 1, "the file was not compacted: \(lines.count) lines")
        let events = try lines.map { try #require(AuditEvent(json: try JSONParser.parse(String($0)))) }
        #expect(events.last?.eventName == "TagUser")
        #expect(events.last?.requestParameters["Tags"]?[0]?["Value"] == "99")

        let recovery = try withNode { _, client in
            let found = try client.call("cloudtrail.LookupEvents", ["MaxResults": 50])["Events"]?.arrayValue ?? []
            #expect(found.count == 8)
            #expect(found.first?["EventName"] == "TagUser")
            let newest = try JSONParser.parse(found.first?["CloudTrailEvent"]?.stringValue ?? "")
            #expect(newest["requestParameters"]?["Tags"]?[0]?["Value"] == "99")
        }
        #expect(recovery.auditEvents == 8)
    }

    @Test("XA-10 a file left over the limit by an earlier run is compacted after the restart")
    func compactionCountsWhatTheFileAlreadyHolds() throws {
        let dir = FileManagerTemp.directory("audit-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.node(dir, auditCapacity: 1000) { _, client in
            for k in 0..<60 { _ = try client.call("iam.TagUser", ["UserName": "admin", "Tags": [["Key": "k", "Value": .string("\(k)")]]]) }
        }
        #expect(try String(contentsOfFile: dir + "/audit.log", encoding: .utf8).split(separator: "\n").count == 60)
        try Self.node(dir, auditCapacity: 8) { _, client in
            _ = try client.call("sts.GetCallerIdentity")
        }
        #expect(try String(contentsOfFile: dir + "/audit.log", encoding: .utf8).split(separator: "\n").count <= 9)
    }

    static func node(_ dir: String, auditCapacity: Int, _ body: (AccountNodeRuntime, RPCClient) throws -> Void) throws -> AccountNodeRuntime.Recovery {
        try InProcessNode.run(dir, auditCapacity: auditCapacity, body)
    }
}
