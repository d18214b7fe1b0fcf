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
        let withNode = { (body: (AccountNodeRuntime, RPCClient) throws -> Void) in try InProcessNode.run(dir, auditCapacity: 8, body) }
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
        try InProcessNode.run(dir, auditCapacity: 1000) { _, client in
            for k in 0..<60 { _ = try client.call("iam.TagUser", ["UserName": "admin", "Tags": [["Key": "k", "Value": .string("\(k)")]]]) }
        }
        #expect(try String(contentsOfFile: dir + "/audit.log", encoding: .utf8).split(separator: "\n").count == 60)
        try InProcessNode.run(dir, auditCapacity: 8) { _, client in
            _ = try client.call("sts.GetCallerIdentity")
        }
        #expect(try String(contentsOfFile: dir + "/audit.log", encoding: .utf8).split(separator: "\n").count <= 9)
    }

    @Test("XA-10 a restart reads only the file's tail: the newest events come back whole, and the lines before are counted from their size")
    func loadReadsTheTail() throws {
        let dir = FileManagerTemp.directory("audit-tail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sample = AuditEvent(eventID: "", eventName: "TagUser", eventSource: "iam.amazonaws.com", eventTime: 0, readOnly: false, accessKeyID: "AKIAADMIN00000000001",
                                username: "admin", resources: [.init(type: "AWS::IAM::User", name: "arn:aws:iam::111111111111:user/admin")],
                                identity: .init(principalID: "AIDAADMIN", arn: "arn:aws:iam::111111111111:user/admin", accountID: "111111111111", userName: "admin"),
                                region: "us-west-1", sourceIP: "127.0.0.1", requestParameters: ["UserName": "admin", "Tags": [["Key": "k", "Value": "v"]]],
                                errorCode: nil, errorMessage: nil)
        var text: [UInt8] = []
        let total = 30_000
        for n in 0..<total {
            var e = sample
            e.eventID = String(format: "event-%06d", n)
            e.eventTime = Double(n)
            text += e.line + [0x0A]
        }
        text += Array(#"{"eventID":"torn"#.utf8)  // a torn last line
        try Data(text).write(to: URL(fileURLWithPath: dir + "/audit.log"))
        #expect(text.count > 3 << 20, "the file must be larger than the first chunk read")
        let (events, lines) = try AuditLog(dataDir: dir, capacity: 100).load()
        #expect(events.map(\.eventID) == (total - 100..<total).map { String(format: "event-%06d", $0) })
        #expect(events.last?.requestParameters["Tags"]?[0]?["Value"] == "v")
        #expect(abs(lines - total) < total / 50, "estimated \(lines) lines, the file holds \(total)")
        // A capacity larger than the file: every line, counted exactly.
        let all = try AuditLog(dataDir: dir, capacity: 50_000).load()
        #expect(all.events.count == total && all.lines == total)
    }
}
