import ClusterConfig
import Foundation
import JSON
import Testing
import TestSupport
import Wire

/// SIM-1: one process per account, a local cluster from one command, process faults from the
/// launcher; and `crml call` as aws-cli users expect it.
@Suite(.serialized) struct LauncherTests {
    @Test("SIM-1 crml cluster up starts three accounts with credentials; status, pause, resume, kill, restart and down work")
    func clusterLifecycle() async throws {
        try await withCluster(accounts: 3, label: "launch") { c in
            #expect(c.cluster.accounts.map(\.id.rawValue) == ["111111111111", "222222222222", "333333333333"])
            let creds = try String(contentsOfFile: c.dir + "/credentials", encoding: .utf8)
            for a in c.cluster.accounts {
                #expect(creds.contains("[\(a.id)]"))
                #expect(a.port > 0 && a.pid != nil)
                let who = try await c.crml(["call", "sts.GetCallerIdentity", "--profile", a.id.rawValue])
                #expect(who.exitCode == 0)
                #expect(try JSONParser.parse(who.stdoutText)["Account"] == .string(a.id.rawValue))
            }
            let status = try await c.crml(["cluster", "status"])
            #expect(status.stdoutText.split(separator: "\n").filter { $0.contains("running") }.count == 3)

            // A user in B, then pause B: B stops answering, A and C do not.
            _ = try await c.crml(["call", "iam.CreateUser", "--profile", "222222222222", "--params", #"{"UserName":"kept"}"#])
            let b = try await c.client(1)
            #expect(try await c.crml(["cluster", "pause", "222222222222"]).exitCode == 0)
            await #expect(throws: RPCCallError.self) { _ = try await b.call("sts.GetCallerIdentity", timeout: 0.5) }
            #expect(try await c.crml(["cluster", "status"]).stdoutText.contains("paused"))
            #expect(try await c.crml(["call", "sts.GetCallerIdentity", "--profile", "333333333333"]).exitCode == 0)
            #expect(try await c.crml(["cluster", "resume", "222222222222"]).exitCode == 0)
            #expect(try await b.call("sts.GetCallerIdentity", timeout: 5)["Account"] == "222222222222")

            // Kill B: calls fail with aws-cli's connection exit code; restart on the same data and port.
            let portBefore = c.account(1).port
            #expect(try await c.crml(["cluster", "kill", "222222222222"]).exitCode == 0)
            let down = try await c.crml(["call", "sts.GetCallerIdentity", "--profile", "222222222222"])
            #expect(down.exitCode == 255)
            #expect(down.stderrText.contains("Could not connect to the endpoint"))
            #expect(try await c.crml(["cluster", "restart", "222222222222"]).exitCode == 0)
            try c.reload()
            #expect(c.account(1).port == portBefore)
            let kept = try await c.crml(["call", "iam.GetUser", "--profile", "222222222222", "--params", #"{"UserName":"kept"}"#])
            #expect(kept.exitCode == 0, "\(kept.stderrText)")

            // Down stops every process.
            let pids = c.cluster.accounts.compactMap(\.pid)
            #expect(try await c.crml(["cluster", "down"]).exitCode == 0)
            #expect(try await eventually(timeout: 15) { pids.allSatisfy { kill($0, 0) != 0 } })
            // SIGTERM is a clean stop: each node says so last, and nothing trapped on the way.
            for a in c.cluster.accounts {
                let log = (try? String(contentsOfFile: a.logFile ?? "", encoding: .utf8)) ?? ""
                #expect(log.hasSuffix("crml-node \(a.id): stopped\n"), "\(a.id)'s log ends:\n\(log.suffix(2000))")
                #expect(!log.contains("crashed"))
            }
            #expect(try await c.crml(["cluster", "status"]).stdoutText.split(separator: "\n").filter { $0.contains("down") }.count == 3)
        }
    }

    @Test("SIM-1: crml cluster up --accounts 100 starts a hundred nodes, each its own account, each answering; the first node takes the last as an authenticated peer")
    func hundredAccounts() async throws {
        try await withCluster(accounts: 100, label: "hundred") { c in
            #expect(Set(c.cluster.accounts.map(\.id)).count == 100)
            for k in 0..<100 {
                let client = try await c.client(k)
                #expect(try await client.call("sts.GetCallerIdentity")["Account"] == .string(c.account(k).id.rawValue))
                client.close()
            }
            // Peers know each other across the whole cluster: the first node authenticates the last.
            let last = try await c.peerClient(from: 99, to: 0)
            #expect(try await last.call("peer.Ping")["account"] == .string(c.account(0).id.rawValue))
        }
    }

    @Test("SIM-1: a node restarted while another process holds its port listens on a new one, which the launcher records")
    func restartOnATakenPort() async throws {
        try await withCluster(accounts: 1, label: "port-taken") { c in
            let old = c.account(0).port
            try await c.kill(0)
            // Someone else takes the port while the node is down.
            let squatter = try Socket.listen(host: "127.0.0.1", port: UInt16(old))
            defer { Socket.close(squatter.fd) }
            try await c.restart(0)
            #expect(c.account(0).port != old && c.account(0).port > 0)
            let client = try await c.client(0)
            #expect(try await client.call("sts.GetCallerIdentity")["Account"] == .string(c.account(0).id.rawValue))
            #expect(c.logs().contains("port \(old) is taken by another process"))
        }
    }

    @Test("crml call: aws-cli messages and exit codes (254 service error, 252 usage, 255 connection)")
    func callExitCodes() async throws {
        try await withCluster(label: "call") { c in
            let dup = try await c.crml(["call", "iam.CreateUser", "--profile", "111111111111", "--params", #"{"UserName":"admin"}"#])
            #expect(dup.exitCode == 254)
            #expect(dup.stderrText.hasPrefix("An error occurred (EntityAlreadyExists) when calling the CreateUser operation: User with name admin already exists."))
            #expect(try await c.crml(["call", "iam.CreateUser", "--profile", "111111111111", "--params", "{bad"]).exitCode == 252)
            #expect(try await c.crml(["call", "notamethod", "--profile", "111111111111"]).exitCode == 252)
            #expect(try await c.crml(["call", "sts.GetCallerIdentity", "--profile", "999999999999"]).exitCode == 252)
            #expect(try await c.crml(["call", "sts.GetCallerIdentity", "--profile", "111111111111", "--endpoint", "127.0.0.1:1"]).exitCode == 255)
            // Environment credentials with --account; options in any order.
            var env = TestCluster.environment
            env["AWS_ACCESS_KEY_ID"] = c.account(0).admin.accessKeyId
            env["AWS_SECRET_ACCESS_KEY"] = c.account(0).admin.secretAccessKey
            let viaEnv = try await c.crml(["call", "--account", "111111111111", "sts.GetCallerIdentity"], environment: env)
            #expect(viaEnv.exitCode == 0, "\(viaEnv.stderrText)")
            env["AWS_PROFILE"] = "111111111111"
            env["AWS_ACCESS_KEY_ID"] = nil
            let viaProfileEnv = try await c.crml(["call", "sts.GetCallerIdentity"], environment: env)
            #expect(viaProfileEnv.exitCode == 0, "\(viaProfileEnv.stderrText)")
            // --params @FILE
            let file = FileManagerTemp.write(#"{"UserName":"fromfile"}"#)
            #expect(try await c.crml(["call", "iam.CreateUser", "--params", "@\(file)", "--profile", "111111111111"]).exitCode == 0)
        }
    }
}
