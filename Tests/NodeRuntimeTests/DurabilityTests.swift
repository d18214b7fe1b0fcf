#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Synchronization
import Testing
import TestSupport
import Wire

/// SIM-1: a node survives `kill -9` with nothing acknowledged lost and nothing half-there.
@Suite(.serialized) struct DurabilityTests {
    /// Names of users whose CreateUser was acknowledged.
    final class Acks: Sendable {
        let names = Mutex<Set<String>>([])
        let tried = Mutex<Set<String>>([])
    }

    func allUsers(_ client: RPCClient) async throws -> [String: JSON] {
        var users: [String: JSON] = [:]
        var marker: JSON? = nil
        repeat {
            var params: JSON = ["MaxItems": 1000]
            if let marker { params["Marker"] = marker }
            let page = try await client.call("iam.ListUsers", params)
            for u in page["Users"]?.arrayValue ?? [] { if let n = u["UserName"]?.stringValue { users[n] = u } }
            marker = page["Marker"]
        } while marker != nil
        return users
    }

    @Test("SIM-1 acknowledged writes survive SIGKILL at random moments, six times over; unacknowledged ones are all or nothing")
    func acknowledgedWritesSurviveKill() async throws {
        try await withCluster(label: "kill") { c in
            let acks = Acks()
            var rng = SystemRandomNumberGenerator()
            for round in 0..<6 {
                // Four writers keep several writes in flight so group commit is exercised.
                var writers: [Task<Void, Never>] = []
                for w in 0..<4 {
                    let client = try await c.client()
                    writers.append(Task.detached {
                        var i = 0
                        while true {
                            let name = "r\(round)w\(w)n\(i)"
                            i += 1
                            acks.tried.withLock { _ = $0.insert(name) }
                            let tags: JSON = [["Key": "a", "Value": .string(name)], ["Key": "b", "Value": .string(name)], ["Key": "c", "Value": .string(name)]]
                            do {
                                _ = try await client.call("iam.CreateUser", ["UserName": .string(name), "Tags": tags], timeout: 10)
                                acks.names.withLock { _ = $0.insert(name) }
                            } catch {
                                return  // the node is gone: this write's outcome is unknown
                            }
                        }
                    })
                }
                // The fault schedule: a random moment in the next 50-400 ms.
                try await Task.sleep(nanoseconds: UInt64.random(in: 50_000_000...400_000_000, using: &rng))
                let killed = try await c.crml(["cluster", "kill", c.account(0).id.rawValue])
                #expect(killed.exitCode == 0)
                for t in writers { await t.value }
                let restarted = try await c.crml(["cluster", "restart", c.account(0).id.rawValue])
                try #require(restarted.exitCode == 0, "restart failed: \(restarted.stderrText)")

                let users = try await allUsers(try await c.client())
                let acked = acks.names.withLock { $0 }
                let missing = acked.subtracting(users.keys)
                #expect(missing.isEmpty, "round \(round): acknowledged but lost: \(missing.sorted().prefix(10))")
                for (name, u) in users where name != "admin" {
                    #expect(acks.tried.withLock { $0.contains(name) }, "round \(round): \(name) was never written")
                    // All three tags or the user is not there at all: never half a write.
                    let tags = (u["Tags"]?.arrayValue ?? []).compactMap { $0["Value"]?.stringValue }
                    #expect(tags == [name, name, name], "round \(round): \(name) is half there: \(tags)")
                }
                #expect(acked.count > round, "round \(round): no write was acknowledged at all")
            }
        }
    }

    @Test("SIM-1 a clean restart after snapshots keeps everything")
    func snapshotThenRestart() async throws {
        try await withCluster(label: "snap") { c in
            let client = try await c.client()
            for i in 0..<50 { _ = try await client.call("iam.CreateUser", ["UserName": .string("u\(i)")]) }
            let snap = try await client.call("admin.Snapshot")
            #expect((snap["snapshotLSN"]?.intValue ?? 0) >= 51)
            for i in 50..<60 { _ = try await client.call("iam.CreateUser", ["UserName": .string("u\(i)")]) }
            _ = try await c.crml(["cluster", "kill", "111111111111"])
            _ = try await c.crml(["cluster", "restart", "111111111111"])
            let after = try await c.client()
            let status = try await after.call("admin.Status")
            #expect(status["recovery"]?["replayedRecords"] == 10)
            #expect(try await allUsers(after).count == 61)
        }
    }
}
