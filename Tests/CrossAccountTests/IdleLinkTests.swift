import Foundation
import JSON
import Testing
import TestSupport

/// Links between account nodes open on demand and close when idle (CRML_PEER_IDLE_TIMEOUT,
/// 60 s by default), so a node of many accounts keeps open only the links in use; a closed
/// link reopens for the next message.
@Suite struct IdleLinkTests {
    static func connected(_ c: TestCluster, _ k: Int) async throws -> [String] {
        let client = try await c.client(k)
        defer { client.close() }
        return try #require(try await client.call("admin.Status")["peersConnected"]?.arrayValue).compactMap(\.stringValue)
    }

    @Test("XA-1 XA-8: idle links between nodes close after the idle time-out, and the next cross-account message reopens them")
    func idleLinksClose() async throws {
        try await withCluster(accounts: 2, label: "idle-links", environment: ["CRML_PEER_IDLE_TIMEOUT": "1"]) { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("idle")
            #expect(try await s.waitFor(s.b, s.otherARN(arnA))["status"] == "ACTIVE")
            // Open first (the start used it; the 5-second sync reopens it if it closed already).
            #expect(try await eventually(timeout: 10, interval: 0.05) { !(try await Self.connected(c, 0)).isEmpty })
            var open: [[String]] = []
            let closed = try await eventually(timeout: 15, interval: 0.2) {
                open = [try await Self.connected(c, 0), try await Self.connected(c, 1)]
                return open.allSatisfy(\.isEmpty)
            }
            #expect(closed, "links still open (A's, B's): \(open)")
            // The next message opens a new link: A's delete reaches B.
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            #expect(try await s.waitGone(s.b, s.otherARN(arnA)))
        }
    }
}
