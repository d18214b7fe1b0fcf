import ClusterConfig
import Digest
import CleanRoomsModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JSON
import Wire

/// A real cluster of `crml-node` processes for one test, started with the real launcher
/// (`crml cluster up`) in a temporary directory.
///
/// Guarantees: every node it starts is stopped when the test ends, however it ends: `withCluster`
/// runs `crml cluster down` on every path, and each node also watches the test process
/// (`CRML_EXIT_WITH_PID`) and exits if it disappears. Node logs are printed only when the test
/// body throws (use `try #require` for the checks that matter).
public final class TestCluster: @unchecked Sendable {
    public let dir: String
    public private(set) var cluster: ClusterFile

    init(dir: String, cluster: ClusterFile) {
        self.dir = dir
        self.cluster = cluster
    }

    public static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["CRML_EXIT_WITH_PID"] = String(getpid())
        env["AWS_PROFILE"] = nil
        return env
    }

    /// `environment`: variables the nodes start with, besides the test's own.
    /// `arguments`: more options for `crml cluster up` (`--hosts netns`).
    public static func start(accounts: Int = 1, label: String = "cluster", environment extra: [String: String] = [:], arguments: [String] = []) async throws -> TestCluster {
        let dir = FileManagerTemp.directory(label)
        let up = try await TestSupport.crml(["cluster", "up", "--dir", dir, "--accounts", String(accounts)] + arguments, environment: environment.merging(extra) { $1 }, timeout: 90)
        guard up.exitCode == 0 else {
            _ = try? await TestSupport.crml(["cluster", "down", "--dir", dir], environment: environment)
            throw ClusterStartFailure(output: up.stdoutText + up.stderrText)
        }
        let c = TestCluster(dir: dir, cluster: try ClusterFile.load([UInt8](FileManager.default.contents(atPath: dir + "/cluster.json") ?? Data())))
        return c
    }

    public struct ClusterStartFailure: Error, CustomStringConvertible {
        public var output: String
        public var description: String { "crml cluster up failed:\n\(output)" }
    }

    public func account(_ index: Int) -> ClusterFile.Account { cluster.accounts[index] }

    public func reload() throws {
        cluster = try ClusterFile.load([UInt8](FileManager.default.contents(atPath: dir + "/cluster.json") ?? Data()))
    }

    /// A client of account `index`'s node, authenticated as its bootstrap admin (or `credentials`).
    public func client(_ index: Int = 0, credentials: ClientCredentials? = nil, timeout: Double = 10) async throws -> RPCClient {
        let a = account(index)
        let client = try await RPCClient.connectAsync(host: a.host, port: UInt16(a.port),
                                                      credentials: credentials ?? .accessKey(a.admin.accessKeyId, secret: a.admin.secretAccessKey), timeout: timeout)
        client.resultObserver = OutputShapes.check
        return client
    }

    /// A bare connection to account `index`'s node, authenticated as its bootstrap admin.
    public func rawClient(_ index: Int = 0) throws -> RawConnection {
        let a = account(index)
        let conn = try RawConnection(host: a.host, port: a.port)
        let auth = try conn.authenticate(accessKey: a.admin.accessKeyId, secret: a.admin.secretAccessKey)
        guard auth?["result"] != nil else { throw RPCCallError.connection("could not authenticate: \(String(describing: auth))") }
        return conn
    }

    /// Runs `crml ARGS --dir DIR`.
    public func crml(_ args: [String], stdin: String? = nil, environment: [String: String]? = nil) async throws -> ProcessResult {
        try await TestSupport.crml(args + ["--dir", dir], stdin: stdin, environment: environment ?? TestCluster.environment)
    }

    /// SIGKILLs account `index`'s node (a crash).
    public func kill(_ index: Int) async throws {
        let r = try await crml(["cluster", "kill", account(index).id.rawValue])
        guard r.exitCode == 0 else { throw ClusterStartFailure(output: r.stdoutText + r.stderrText) }
        try reload()
    }

    /// Starts account `index`'s node again on the same data and port (stopping it first if it
    /// runs) and waits until it is ready.
    /// Changes the cluster file (which a node reads when it starts) and restarts node `index`,
    /// so it runs under the change (an organization and its SCPs, say).
    public func changeClusterFile(restarting index: Int, _ change: (inout ClusterFile) -> Void) async throws {
        var file = try ClusterFile.load([UInt8](FileManager.default.contents(atPath: dir + "/cluster.json") ?? Data()))
        change(&file)
        try Data(try file.encoded()).write(to: URL(fileURLWithPath: dir + "/cluster.json"))
        try await restart(index)
    }

    public func restart(_ index: Int) async throws {
        let r = try await crml(["cluster", "restart", account(index).id.rawValue])
        guard r.exitCode == 0 else { throw ClusterStartFailure(output: r.stdoutText + r.stderrText) }
        try reload()
    }

    /// Account `index`'s data directory.
    public func dataDir(_ index: Int) -> String {
        account(index).dataDir ?? "\(dir)/nodes/\(account(index).id)/data"
    }

    /// The files in a subdirectory of account `index`'s data directory.
    public func files(_ index: Int, _ subdirectory: String) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: dataDir(index) + "/" + subdirectory)) ?? []).filter { !$0.hasSuffix(".tmp") })
    }

    /// A connection to account `to`'s node that authenticates as account `from`'s node (with
    /// its node secret), to send peer messages as that node would.
    public func peerClient(from: Int, to: Int) async throws -> RPCClient {
        let me = account(from), target = account(to)
        return try await RPCClient.connectAsync(host: target.host, port: UInt16(target.port),
                                                credentials: ClientCredentials(identity: .peer(account: me.id.rawValue), secret: Hex.decode(me.nodeSecret) ?? []))
    }

    public func stop() async {
        _ = try? await crml(["cluster", "down"])
        for a in (try? ClusterFile.load([UInt8](FileManager.default.contents(atPath: dir + "/cluster.json") ?? Data())))?.accounts ?? [] {
            if let pid = a.pid { Glibc.kill(pid, SIGKILL) }
        }
    }

    /// Every node's log.
    public func logs() -> String {
        cluster.accounts.map { a in
            let log = (try? String(contentsOfFile: a.logFile ?? "", encoding: .utf8)) ?? "(no log)"
            return "---- log of \(a.id) ----\n\(log)"
        }.joined(separator: "\n")
    }
}

/// Runs `body` against a fresh cluster and always tears it down; prints the nodes' logs when the
/// body throws.
public func withCluster<T>(accounts: Int = 1, label: String = "cluster", environment: [String: String] = [:], arguments: [String] = [],
                           _ body: (TestCluster) async throws -> T) async throws -> T {
    let c = try await TestCluster.start(accounts: accounts, label: label, environment: environment, arguments: arguments)
    do {
        let r = try await body(c)
        await c.stop()
        return r
    } catch {
        print("test failed with \(error); node logs follow\n\(c.logs())")
        await c.stop()
        throw error
    }
}

/// Polls `condition` until it holds or `timeout` passes (never a bare sleep as synchronisation).
public func eventually(timeout: Double = 10, interval: Double = 0.02, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
    }
    return try await condition()
}
