#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import Foundation
import JSON
import Testing
import TestSupport

/// SIM-6, first part: accounts on hosts of their own (a network namespace each, on a bridge),
/// with the cross-account protocol across them, and nothing left behind. Needs root and
/// iproute2 (CI has both); elsewhere the suite is skipped.
/// iproute2's ip, where Debian and others put it.
let netnsIPPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: netnsIPPath), "needs root and iproute2's ip"))
struct NetnsTests {
    static func ip(_ args: [String]) async throws -> String {
        try await runProcess(netnsIPPath, args).stdoutText
    }

    /// The cluster's namespaces and links that exist now.
    static func leftovers(_ n: ClusterFile.Netns) async throws -> [String] {
        let namespaces = try await ip(["netns", "list"]).split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("crml-\(n.id)-") }
        let links = try await ip(["-o", "link", "show"]).split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: ":")
            return parts.count > 1 ? String(parts[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first ?? "") : nil
        }.filter { $0 == n.bridge || $0.hasPrefix("cv\(n.id)") }
        return namespaces + links
    }

    @Test("SIM-6 XA-1 XA-8: each account's node runs in its own namespace with its own address; a job started across them lives in both, and a delete reaches the other side; down removes every namespace and link")
    func crossAccountAcrossNamespaces() async throws {
        var layout: ClusterFile.Netns?
        try await withCluster(accounts: 2, label: "netns", arguments: ["--hosts", "netns"]) { c in
            let n = try #require(c.cluster.netns)
            layout = n
            for k in 0..<2 {
                let a = c.account(k)
                let ns = try #require(a.namespace)
                #expect(try await Self.ip(["netns", "identify", String(a.pid ?? 0)]).trimmingCharacters(in: .whitespacesAndNewlines) == ns)
                #expect(a.host != "127.0.0.1" && a.host.hasPrefix(n.bridgeAddress.split(separator: ".").dropLast().joined(separator: ".")))
                // The address is the namespace's own: the host has only the bridge's.
                #expect(try await Self.ip(["-n", ns, "-o", "addr", "show"]).contains(a.host))
                #expect(!(try await Self.ip(["-o", "addr", "show"]).contains(a.host + "/")))
            }
            let s = try await CrossAccountScene.prepare(c)
            // Every established connection of the nodes has TCP keepalives (a vanished peer is
            // found without waiting for a reset that never comes).
            // (`ss` shows a socket's running timer: while data is unacknowledged that is the
            // retransmission timer, so poll until the connections are quiet.)
            let ns1 = try #require(c.account(1).namespace)
            var sockets = ""
            let allKeepalive = try await eventually(timeout: 10, interval: 0.1) {
                sockets = try await runProcess(netnsIPPath, ["netns", "exec", ns1, "ss", "-tno", "state", "established"]).stdoutText
                let established = sockets.split(separator: "\n").dropFirst().filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                return !established.isEmpty && established.allSatisfy { $0.contains("keepalive") }
            }
            #expect(allKeepalive, "\(sockets)")
            let arnA = try await s.start("across")
            let arnB = s.otherARN(arnA)
            try #require(try await s.waitFor(s.b, arnB)["status"] == "ACTIVE")
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            let gone = try await eventually(timeout: 30) { await CrossAccountScene.get(s.b, arnB).error == "ResourceNotFoundException" }
            #expect(gone, "B's copy is still there after A's delete")
        }
        let n = try #require(layout)
        let left = try await Self.leftovers(n)
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test("SIM-6: after the CLI and every node are killed, a later down removes the namespaces, the bridge and anything else of the cluster's")
    func cleanupAfterACrash() async throws {
        let c = try await TestCluster.start(accounts: 2, label: "netns-crash", arguments: ["--hosts", "netns"])
        do { try await crashAndClean(c) } catch {
            await c.stop()
            throw error
        }
    }

    func crashAndClean(_ c: TestCluster) async throws {
        let n = try #require(c.cluster.netns)
        for a in c.cluster.accounts { if let pid = a.pid { kill(pid, SIGKILL) } }
        // Something a crashed `up` could have left half made.
        _ = try await Self.ip(["netns", "add", "crml-\(n.id)-9"])
        #expect(try await Self.leftovers(n).count >= 3)
        let down = try await c.crml(["cluster", "down"])
        #expect(down.exitCode == 0, "\(down.stderrText)")
        let left = try await Self.leftovers(n)
        #expect(left.isEmpty, "left behind: \(left)")
        // And `up` makes it all again, nodes included.
        let up = try await c.crml(["cluster", "up"])
        #expect(up.exitCode == 0, "\(up.stderrText)")
        try c.reload()
        let client = try await c.client(1)
        #expect(try await client.call("sts.GetCallerIdentity")["Account"] == .string(c.account(1).id.rawValue))
        await c.stop()
        #expect(try await Self.leftovers(n).isEmpty)
    }

    @Test("SIM-6 SIM-3 SIM-4: a short crml check run --hosts netns --nemesis all is valid; with --break drop-outbox it is caught")
    func campaignOnNamespaces() async throws {
        let (code, output, results, dir) = try await CheckCampaignTests.campaign(["--hosts", "netns", "--time-limit", "10", "--rate", "25", "--seed", "3",
                                                                                 "--nemesis", "all", "--nemesis-interval", "2"], label: "netns-check")
        #expect(code == 0 && results["verdict"] == "valid", "\(output)")
        // Its cuts were the kernel's, and none failed to apply.
        let history = String(decoding: FileManager.default.contents(atPath: dir + "/history.jsonl") ?? Data(), as: UTF8.self)
        #expect(history.contains("\"kernel\":true") && !history.contains("fault-error"), "\(history.suffix(2000))")
        // Whether a seed's timing takes the broken path is chance (real processes): up to ten seeds.
        let (broken, last) = try await CheckCampaignTests.catches("drop-outbox", nemesis: "isolate-crash", interval: "2", seconds: "14",
                                                                  seeds: (4...13).map(String.init), extra: ["--hosts", "netns"])
        let caught = !broken.isEmpty
        #expect(caught, "never caught on namespaces:\n\(last)")
    }

    static let hasNFT = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("SIM-6 XA-8: a partition in the kernel (nftables drops, no resets) with a delete during it: the delete completes after the heal",
          .enabled(if: hasNFT, "needs nftables' nft"))
    func deleteAcrossAKernelPartition() async throws {
        try await withCluster(accounts: 2, label: "netns-cut", arguments: ["--hosts", "netns"]) { c in
            let s = try await CrossAccountScene.prepare(c)
            let arnA = try await s.start("cut")
            let arnB = s.otherARN(arnA)
            try #require(try await s.waitFor(s.b, arnB)["status"] == "ACTIVE")
            let cut = try await c.crml(["fault", "partition", s.accountA, s.accountB])
            #expect(cut.exitCode == 0 && cut.stdoutText.contains("in the kernel"), "\(cut.stdoutText)\(cut.stderrText)")
            let listed = try await c.crml(["fault", "list"])
            #expect(listed.stdoutText.contains("\(s.accountA)  \(s.accountB)  cut (kernel)") && listed.stdoutText.contains("\(s.accountB)  \(s.accountA)  cut (kernel)"),
                    "\(listed.stdoutText)")
            // A's delete is A's own: acknowledged at once, while nothing reaches B.
            _ = try await s.a.call("cleanroomsml.DeleteAudienceGenerationJob", ["audienceGenerationJobArn": .string(arnA)])
            // For 3 s (several delivery attempts dropped, each timing out: no reset) B keeps its copy.
            let wentAway = try await eventually(timeout: 3) { await CrossAccountScene.get(s.b, arnB).job == nil }
            #expect(!wentAway, "B's copy went during the partition")
            // A loss one way replaces that direction's cut; healing the pair removes both.
            let loss = try await c.crml(["fault", "loss", s.accountB, s.accountA, "0.5", "--one-way"])
            #expect(loss.exitCode == 0, "\(loss.stderrText)")
            let mixed = try await c.crml(["fault", "list"]).stdoutText
            #expect(mixed.contains("\(s.accountB)  \(s.accountA)  drop 0.5 of the packets (kernel)") && mixed.contains("\(s.accountA)  \(s.accountB)  cut (kernel)"), "\(mixed)")
            let heal = try await c.crml(["fault", "heal", s.accountA, s.accountB])
            #expect(heal.exitCode == 0, "\(heal.stderrText)")
            #expect(try await c.crml(["fault", "list"]).stdoutText.contains("no link faults"))
            let gone = try await eventually(timeout: 60) { await CrossAccountScene.get(s.b, arnB).error == "ResourceNotFoundException" }
            #expect(gone, "B's copy is still there 60 s after the heal")
        }
    }
}
