#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Synchronization
import Testing
import TestSupport
import Wire

/// SIM-1 on a full disk: a node whose data directory is a small tmpfs that fills up refuses
/// writes with a clear error, keeps serving reads, never acknowledges what it did not keep,
/// leaves no temporary files, and takes writes again by itself once space returns.
@Suite(.serialized) struct FullDiskTests {
    /// What the writers saw, shared with the test.
    final class Outcomes: Sendable {
        let acked = Mutex<Set<String>>([])
        let refused = Mutex<[String: String]>([:])
        let stop = Atomic<Bool>(false)
    }

    /// Fills the file system under `dir` to the last byte; returns the filler's path.
    func fill(_ dir: String) -> String {
        let path = dir + "/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let chunk = [UInt8](repeating: 7, count: 64 * 1024)
        var size = chunk.count
        while size > 0 {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            if n <= 0 { size /= 2 }  // the last bytes: smaller and smaller writes
        }
        close(fd)
        return path
    }

    func userNames(_ client: RPCClient) async throws -> Set<String> {
        var names: Set<String> = []
        var marker: JSON? = nil
        repeat {
            var params: JSON = ["MaxItems": 1000]
            if let marker { params["Marker"] = marker }
            let page = try await client.call("iam.ListUsers", params)
            for u in page["Users"]?.arrayValue ?? [] { if let n = u["UserName"]?.stringValue { names.insert(n) } }
            marker = page["Marker"]
        } while marker != nil
        return names
    }

    @Test("SIM-1 a full disk: writes refused clearly, reads served, nothing acknowledged lost, writes resume by themselves", .enabled(if: getuid() == 0))
    func fullDisk() async throws {
        try await withCluster(label: "enospc") { c in
            let data = try await moveOntoTmpfs(c, 0)
            defer { _ = umount2(data, Int32(MNT_DETACH)) }

            let outcomes = Outcomes()
            var writers: [Task<Void, Never>] = []
            for w in 0..<4 {
                let client = try await c.client()
                writers.append(Task.detached {
                    var i = 0
                    while !outcomes.stop.load(ordering: .relaxed) {
                        let name = "w\(w)n\(i)"
                        i += 1
                        do {
                            _ = try await client.call("iam.CreateUser", ["UserName": .string(name), "Tags": [["Key": "k", "Value": .string(String(repeating: "v", count: 200))]]])
                            outcomes.acked.withLock { _ = $0.insert(name) }
                        } catch RPCCallError.service(let e) {
                            outcomes.refused.withLock { $0[name] = "\(e.type) \(e.httpStatus): \(e.message)" }
                        } catch {
                            Issue.record("writer \(w): \(error)")
                            return
                        }
                    }
                })
            }
            let reader = try await c.client()
            #expect(try await eventually { outcomes.acked.withLock { $0.count } > 50 })

            let filler = fill(data)
            #expect(try await eventually { outcomes.refused.withLock { $0.count } > 20 }, "writes are refused once the disk is full")
            let sample = try #require(outcomes.refused.withLock { $0.values.first })
            #expect(sample.hasPrefix("ServiceFailure 500: Storage is full on account 111111111111's node"), "\(sample)")
            #expect(!sample.contains(data))
            // Reads are served while the disk stays full, audited or not.
            for _ in 0..<200 { _ = try await reader.call("iam.GetUser", ["UserName": "admin"]) }
            let listed = try await userNames(reader)
            #expect(outcomes.acked.withLock { $0 }.isSubset(of: listed), "every acknowledged write is readable")
            let status = try await reader.call("admin.Status")
            #expect(status["storage"]?["writable"] == false)
            #expect(temporaryFiles(data).isEmpty, "no temporary files left: \(temporaryFiles(data))")

            // Space returns: writes resume without anyone's help.
            let refusedBefore = outcomes.refused.withLock { $0.count }
            let ackedBefore = outcomes.acked.withLock { $0.count }
            #expect(unlink(filler) == 0)
            #expect(try await eventually(timeout: 20) { outcomes.acked.withLock { $0.count } > ackedBefore + 50 }, "writes resume")
            outcomes.stop.store(true, ordering: .relaxed)
            for t in writers { await t.value }
            #expect(outcomes.refused.withLock { $0.count } >= refusedBefore)

            // Nothing acknowledged is lost, nothing refused is there, across a crash.
            try await c.kill(0)
            try await c.restart(0)
            let after = try await userNames(try await c.client())
            let lost = outcomes.acked.withLock { $0 }.subtracting(after)
            #expect(lost.isEmpty, "acknowledged but lost: \(lost.sorted().prefix(10))")
            let resurrected = Set(outcomes.refused.withLock { $0.keys }).intersection(after)
            #expect(resurrected.isEmpty, "refused but there: \(resurrected.sorted().prefix(10))")
        }
    }

    /// Moves account `index`'s data directory onto a 16 MiB tmpfs (restarting its node);
    /// returns the mount point, for the caller to unmount.
    func moveOntoTmpfs(_ c: TestCluster, _ index: Int) async throws -> String {
        try await c.kill(index)
        let data = c.dataDir(index)
        #expect(rename(data, data + ".before") == 0)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        let mounted = try await runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", data])
        try #require(mounted.exitCode == 0, "mount: \(mounted.stderrText)")
        let copied = try await runProcess("/bin/cp", ["-a", data + ".before/.", data])
        try #require(copied.exitCode == 0)
        try await c.restart(index)
        return data
    }

    /// A run whose audience cannot be written (the disk filled while it ran) does not fail its
    /// job: the node goes into its outage, and once space returns the run happens again and
    /// both copies become ACTIVE.
    @Test("SIM-1 XA-2 a run whose output cannot be written runs again once the disk takes writes", .enabled(if: getuid() == 0))
    func workOutputOnAFullDisk() async throws {
        try await withCluster(accounts: 2, label: "enospc-work") { c in
            let data = try await moveOntoTmpfs(c, 1)
            defer { _ = umount2(data, Int32(MNT_DETACH)) }
            let scene = try await CrossAccountScene.prepare(c)
            _ = try await scene.b.call("admin.SetWorkDelay", ["seconds": 1.5])
            let arnA = try await scene.start("full")
            let arnB = scene.otherARN(arnA)
            #expect(try await eventually { (await CrossAccountScene.get(scene.b, arnB)).job?["status"] == "CREATE_IN_PROGRESS" })
            let filler = fill(data)
            #expect(try await eventually(timeout: 20) { (try? await scene.b.call("admin.Status"))?["storage"]?["writable"] == false },
                    "the audience could not be written: the node refuses writes")
            #expect((await CrossAccountScene.get(scene.b, arnB)).job?["status"] == "CREATE_IN_PROGRESS", "the job did not fail")
            _ = try await scene.b.call("admin.SetWorkDelay", ["seconds": 0])
            #expect(unlink(filler) == 0)
            #expect(try await eventually(timeout: 30) {
                let a = await CrossAccountScene.get(scene.a, arnA), b = await CrossAccountScene.get(scene.b, arnB)
                return a.job?["status"] == "ACTIVE" && b.job?["status"] == "ACTIVE"
            }, "the run happens again and both copies become ACTIVE")
        }
    }

    /// Temporary files anywhere under `dir`.
    func temporaryFiles(_ dir: String) -> [String] {
        directoryContents(dir).keys.filter { $0.hasSuffix(".tmp") }.sorted()
    }
}
