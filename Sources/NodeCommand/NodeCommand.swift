#if canImport(Glibc)
import Glibc
#endif
import AccountNode
import ClusterConfig
import CleanRoomsModel
import Digest
import Dispatch
import Foundation
import JSON
import NodeRuntime
import Wire

/// One AWS account as a process: what `crml-node` and `crml node` run (the same code, so the
/// launcher can start nodes from the `crml` executable alone).
///
///     crml-node --cluster FILE [--secrets FILE] (--account ID | --account-index N|hostname) [--host H] [--port P] [--http-port P] [--data-dir D] [--ready-file F]
///
/// Reads the cluster file (and, for deployments that keep them apart, its secrets file),
/// recovers the account's state from its data directory, listens, and announces readiness with a
/// line `READY account=… host=… port=… pid=…` on stdout and, if asked, a ready file (JSON,
/// written atomically). SIGTERM and SIGINT stop it cleanly. `--repair` instead cuts a damaged
/// write-ahead log back to its last good record (keeping what it cut) and exits; `--probe` asks
/// the running node `admin.Ping` and exits 0 when it answers (a readiness check).
public enum NodeCommand {
    public static let usage = """
        usage: crml-node --cluster FILE [--secrets FILE] ACCOUNT [--host HOST] [--port PORT] [--http-port PORT] [--data-dir DIR] [--ready-file FILE]
                         [--port-taken fail|move] [--failpoints NAME,…] [--break NAME,…]
               crml-node --cluster FILE [--secrets FILE] ACCOUNT [--data-dir DIR] --repair
               crml-node --cluster FILE [--secrets FILE] ACCOUNT [--port PORT] --probe
        ACCOUNT is --account ID, or --account-index N for the file's N-th account (from 0), or
        --account-index hostname for the number that ends the host's name (a StatefulSet pod's
        ordinal: crml-2 runs the third account).
        --port-taken move: if another process holds the port, listen on a new one (the launcher
        does, and reads the port back); the default, fail, suits fixed ports peers rely on.
        """

    static let valueOptions: Set<String> = ["cluster", "secrets", "account", "account-index", "host", "port", "http-port", "data-dir", "ready-file", "port-taken", "failpoints", "break"]

    static func fail(_ message: String, code: Int32 = 2) -> Never {
        Log.write("crml-node: \(message)")
        exit(code)
    }

    /// Runs a node with `arguments` (the program name left out) until it is stopped; never returns.
    public static func main(_ arguments: [String]) -> Never {
        // The process is called crml-node whichever executable runs it (`pgrep -x crml-node`).
        let comm = open("/proc/self/comm", O_WRONLY | O_CLOEXEC)
        if comm >= 0 { _ = write(comm, "crml-node", 9); close(comm) }
        var options: [String: String] = [:]
        var repair = false
        var probe = false
        var args = arguments
        while let a = args.first {
            args.removeFirst()
            if a == "--help" || a == "-h" { print(usage); exit(0) }
            if a == "--repair" { repair = true; continue }
            if a == "--probe" { probe = true; continue }
            guard a.hasPrefix("--"), let v = args.first else { fail("\(a): expected --option VALUE\n\(usage)") }
            args.removeFirst()
            options[String(a.dropFirst(2))] = v
        }
        for k in options.keys where !valueOptions.contains(k) { fail("unknown option --\(k)\n\(usage)") }
        guard let clusterPath = options["cluster"] else { fail(usage) }
        guard let clusterBytes = FileManager.default.contents(atPath: clusterPath) else { fail("cannot read cluster file \(clusterPath)") }
        let secretBytes: [UInt8]? = options["secrets"].map { path in
            guard let bytes = FileManager.default.contents(atPath: path) else { fail("cannot read secrets file \(path)") }
            return [UInt8](bytes)
        }
        let cluster: ClusterFile
        do { cluster = try ClusterSecrets.load(cluster: [UInt8](clusterBytes), secrets: secretBytes) } catch { fail("cluster file \(clusterPath) is not valid: \(error)") }
        let me = chooseAccount(options, cluster, clusterPath)
        let account = me.id
        let clusterDir = URL(fileURLWithPath: clusterPath).deletingLastPathComponent().path
        let dataDir = options["data-dir"] ?? me.dataDir ?? "\(clusterDir)/nodes/\(account)/data"

        if repair { runRepair(dataDir: dataDir, account: account) }
        if probe { runProbe(me, host: options["host"], port: options["port"]) }

        let org = cluster.organization(of: account)
        var config = NodeConfig(account: account, region: cluster.region, partition: cluster.partition,
                                admin: .init(userName: me.admin.userName, accessKeyID: me.admin.accessKeyId, secretAccessKey: me.admin.secretAccessKey),
                                organizationID: org?.id, serviceControlPolicies: org?.scps)
        // Deliberately broken modes, for showing that the checker catches them (never in normal use).
        let breaks = cluster.breaks + (options["break"] ?? ProcessInfo.processInfo.environment["CRML_BREAK"] ?? "").split(separator: ",").map(String.init)
        for name in breaks where !NodeConfig.breakNames.contains(name) { fail("unknown --break \(name); known: \(NodeConfig.breakNames.joined(separator: ", "))") }
        config.breaks = Set(breaks)
        if let t = cluster.peerTimeout {
            guard t >= 0.1, t <= 600 else { fail("peerTimeout \(t) in \(clusterPath) must be between 0.1 and 600 seconds") }
            config.crossAccount.callTimeout = t
        }
        if !breaks.isEmpty { Log.write("crml-node \(account): DELIBERATELY BROKEN: \(breaks.joined(separator: ", "))") }
        config.peers = Set(cluster.accounts.map(\.id.rawValue).filter { $0 != account.rawValue })
        for a in cluster.accounts { if let o = cluster.organization(of: a.id) { config.organizations[a.id.rawValue] = o.id } }
        var runtimeOptions = AccountNodeRuntime.Options(dataDir: dataDir)
        runtimeOptions.host = options["host"] ?? me.host
        if let p = options["port"] {
            guard let port = UInt16(p) else { fail("--port \(p) is not a port number") }
            runtimeOptions.port = port
        } else {
            runtimeOptions.port = UInt16(clamping: me.port)
        }
        if let p = options["http-port"] {
            guard let port = UInt16(p) else { fail("--http-port \(p) is not a port number") }
            runtimeOptions.httpPort = port
        } else if let p = me.httpPort {
            runtimeOptions.httpPort = UInt16(clamping: p)
        }
        switch options["port-taken"] ?? "fail" {
        case "fail": runtimeOptions.movePortIfTaken = false
        case "move": runtimeOptions.movePortIfTaken = true
        case let other: fail("--port-taken takes fail or move, not \(other)")
        }
        for a in cluster.accounts where a.id != account {
            if let secret = Hex.decode(a.nodeSecret) { runtimeOptions.peerSecrets[a.id.rawValue] = secret }
        }
        guard let mySecret = Hex.decode(me.nodeSecret) else { fail("the nodeSecret of account \(account) is not hex: a placeholder? `crml cluster config` writes real secrets") }
        runtimeOptions.nodeSecret = mySecret
        // Peers' ports are written to the cluster file when they start (possibly after this node),
        // so the file is read again, once it has changed, whenever a link to a peer opens.
        let endpoints = PeerEndpoints(path: clusterPath)
        runtimeOptions.peerEndpoint = { peer in endpoints.endpoint(peer).map { ($0.host, $0.port) } }

        // Failpoints armed from the start (fault-injection runs): --failpoints or CRML_FAILPOINTS.
        let armed = (options["failpoints"] ?? ProcessInfo.processInfo.environment["CRML_FAILPOINTS"] ?? "").split(separator: ",").map(String.init)
        for name in armed where !Faults.failpointNames.contains(name) { fail("unknown failpoint \(name); known: \(Faults.failpointNames.joined(separator: ", "))") }
        runtimeOptions.faults = Faults(failpoints: Set(armed))

        // Test harnesses set CRML_EXIT_WITH_PID so a node never outlives the process that started
        // it, even when that process crashes.
        runtimeOptions.exitWithPID = ProcessInfo.processInfo.environment["CRML_EXIT_WITH_PID"].flatMap { Int32($0) }
        // How long the HTTP front waits for a request that has begun, and on an idle connection;
        // how long a link to a peer may stay idle before it is closed.
        let timeouts: [(String, WritableKeyPath<AccountNodeRuntime.Options, Double>, Double)] = [
            ("CRML_HTTP_REQUEST_TIMEOUT", \.httpRequestTimeout, 3600), ("CRML_HTTP_IDLE_TIMEOUT", \.httpIdleTimeout, 3600),
            ("CRML_PEER_IDLE_TIMEOUT", \.peerIdleTimeout, 86400),
        ]
        for (name, path, most) in timeouts {
            guard let text = ProcessInfo.processInfo.environment[name] else { continue }
            guard let seconds = Double(text), seconds >= 0.1, seconds <= most else { fail("\(name)=\(text): give seconds from 0.1 to \(Int(most))") }
            runtimeOptions[keyPath: path] = seconds
        }

        Socket.raiseFileLimit()
        signal(SIGPIPE, SIG_IGN)
        let runtime: AccountNodeRuntime
        do {
            runtime = try AccountNodeRuntime(config: config, options: runtimeOptions)
        } catch {
            fail("cannot start account \(account): \(error)", code: 1)
        }

        // SIGTERM/SIGINT stop the loop; `run` then returns once pending writes are durable.
        runtime.stopOnTerminationSignals()

        Log.write("crml-node \(account): \(runtime.recovery.summary); randomness seed \(runtime.seed)")
        if let readyFile = options["ready-file"] ?? me.readyFile {
            var ready: JSON = ["account": .string(account.rawValue), "host": .string(runtimeOptions.host), "port": .int(Int(runtime.port)), "pid": .int(Int(getpid()))]
            if let h = runtime.httpPort { ready["httpPort"] = .int(Int(h)) }
            do { try FileIO.writeDurably(readyFile, JSONWriter.bytes(ready) + [0x0A]) } catch { fail("cannot write ready file: \(error)", code: 1) }
        }
        Log.stdout("READY account=\(account) host=\(runtimeOptions.host) port=\(runtime.port)\(runtime.httpPort.map { " http-port=\($0)" } ?? "") pid=\(getpid())")
        runtime.run()
        Log.write("crml-node \(account): stopped")
        exit(0)
    }

    /// The account this process runs: `--account ID`, or `--account-index N|hostname`.
    static func chooseAccount(_ options: [String: String], _ cluster: ClusterFile, _ clusterPath: String) -> ClusterFile.Account {
        switch (options["account"], options["account-index"]) {
        case (let text?, nil):
            guard let id = AccountID(text) else { fail("--account \(text) is not a 12-digit account id") }
            guard let me = cluster.account(id) else { fail("account \(id) is not in \(clusterPath)") }
            return me
        case (nil, let text?):
            var index = Int(text)
            if text == "hostname" {
                let name = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
                guard let digits = name.split(separator: "-").last, let n = Int(digits) else {
                    fail("--account-index hostname: the host name \(name) does not end in -NUMBER (as a StatefulSet pod's does)")
                }
                index = n
            }
            guard let k = index, k >= 0 else { fail("--account-index takes a number from 0 or hostname, not \(text)") }
            guard k < cluster.accounts.count else {
                fail("--account-index \(k): \(clusterPath) has \(cluster.accounts.count) accounts (0 to \(cluster.accounts.count - 1)); run as many nodes as it has accounts")
            }
            return cluster.accounts[k]
        case (nil, nil): fail("give --account ID or --account-index N\n\(usage)")
        case (_?, _?): fail("give --account or --account-index, not both")
        }
    }

    /// `--probe`: exits 0 when the account's node answers `admin.Ping` within 3 s, 1 otherwise.
    static func runProbe(_ me: ClusterFile.Account, host: String?, port: String?) -> Never {
        // A node listening on every address is asked on loopback.
        let target = host.map { $0 == "0.0.0.0" ? "127.0.0.1" : $0 } ?? me.host
        guard let p = UInt16(port ?? String(me.port)), p != 0 else { fail("--probe needs the node's port (--port, or a port in the cluster file)") }
        do {
            let client = try RPCClient.connect(host: target, port: p, credentials: .accessKey(me.admin.accessKeyId, secret: me.admin.secretAccessKey),
                                               timeout: 3, readerThread: false)
            defer { client.close() }
            _ = try client.call("admin.Ping", timeout: 3)
            Log.stdout("crml-node \(me.id): ready at \(target):\(p)")
            exit(0)
        } catch {
            fail("\(me.id) at \(target):\(p) is not ready: \(error)", code: 1)
        }
    }

    /// `--repair`: cuts the log back to its last good record, keeping the cut bytes beside it.
    static func runRepair(dataDir: String, account: AccountID) -> Never {
        do {
            let report = try StorageRepair.repair(dataDir: dataDir, account: account.rawValue)
            Log.stdout("crml-node \(account): \(report)")
            exit(0)
        } catch {
            fail("cannot repair \(dataDir): \(error)", code: 1)
        }
    }
}
