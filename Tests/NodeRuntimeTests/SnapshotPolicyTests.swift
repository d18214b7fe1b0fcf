import Foundation
import JSON
import NodeRuntime
import Testing
import TestSupport
import Wire

/// When a node snapshots its state (docs/storage.md): once the log since the last snapshot holds
/// as many bytes as that snapshot (and at least a minimum), or once the last snapshot is old and
/// commits came since. Either way a restart replays a bounded log.
@Suite struct SnapshotPolicyTests {
    static func tag(_ client: RPCClient, _ k: Int) throws {
        _ = try client.call("iam.TagUser", ["UserName": "admin", "Tags": [["Key": .string("k\(k % 40)"), "Value": .string(String(repeating: "v", count: 200))]]])
    }

    @Test("Storage: with a 4 KiB minimum, 400 writes leave a snapshot and a log shorter than the snapshot behind it")
    func bySize() throws {
        let dir = FileManagerTemp.directory("snap-size")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try InProcessNode.run(dir, configure: { $0.snapshotMinimumBytes = 4096 }) { _, c in
            for k in 0..<400 { try Self.tag(c, k) }
        }
        let recovery = try InProcessNode.run(dir) { _, _ in }
        #expect(recovery.snapshotLSN > 300, "\(recovery.summary)")
        #expect(recovery.replayedRecords < 100, "\(recovery.summary)")
        // Without the rule (the minimum above everything written) nothing is snapshotted.
        let other = FileManagerTemp.directory("snap-none")
        defer { try? FileManager.default.removeItem(atPath: other) }
        try InProcessNode.run(other, configure: { $0.snapshotMinimumBytes = 1 << 30 }) { _, c in
            for k in 0..<400 { try Self.tag(c, k) }
        }
        let none = try InProcessNode.run(other, configure: { $0.snapshotMinimumBytes = 1 << 30 }) { _, _ in }
        #expect(none.snapshotLSN == 0 && none.replayedRecords >= 400, "\(none.summary)")
    }

    @Test("Storage: a snapshot older than the maximum age is renewed at the next commit")
    func byAge() throws {
        let dir = FileManagerTemp.directory("snap-age")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try InProcessNode.run(dir, configure: { $0.snapshotMaximumAge = 0 }) { _, c in
            for k in 0..<20 { try Self.tag(c, k) }
        }
        let recovery = try InProcessNode.run(dir) { _, _ in }
        #expect(recovery.snapshotLSN >= 19 && recovery.replayedRecords <= 1, "\(recovery.summary)")
    }
}
