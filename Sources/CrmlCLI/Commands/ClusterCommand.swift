#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import CleanRoomsModel
import Digest
import Foundation
import JSON
import Wire

/// `crml cluster up|status|config|env|down|kill|pause|resume|restart`: a local cluster of account
/// nodes, and the files that describe a cluster deployed elsewhere.
enum ClusterCommand {
    static var group: CommandGroup {
        CommandGroup(command: "crml cluster", summary: "Every subcommand takes --dir DIR, the cluster's directory.", subcommands: [
            ("up", upSpec, "start the accounts as background processes and wait until all are ready; an existing cluster's stopped nodes restart"),
            ("status", statusSpec, "each account's endpoint, pid and state"),
            ("config", configSpec, "write a cluster file and its secrets file for nodes started elsewhere (systemd, containers, Kubernetes)"),
            ("env", envSpec, "the environment (or an aws-cli config and credentials pair) that points AWS SDKs and aws-cli at an account"),
            ("down", downSpec, "stop every node (SIGTERM, then SIGKILL after 10 s)"),
            ("kill", signalSpec("kill"), "SIGKILL the node (a crash)"),
            ("pause", signalSpec("pause"), "SIGSTOP the node"),
            ("resume", signalSpec("resume"), "SIGCONT the node"),
            ("restart", signalSpec("restart"), "start the node again on the same data and port"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        try group.run(args) { sub, rest in
            switch sub {
            case "up": return try up(rest)
            case "status": return try status(rest)
            case "down": return try down(rest)
            case "env": return try env(rest)
            case "config": return try config(rest)
            default: return try signal(sub, rest)
            }
        }
    }

    static let statusSpec = CommandSpec(command: "crml cluster status", summary: "Shows each account's endpoint, pid and state.", options: [dirOption])
    static let downSpec = CommandSpec(command: "crml cluster down", summary: "Stops every node: SIGTERM, then SIGKILL after 10 s.", options: [dirOption])
    static func signalSpec(_ what: String) -> CommandSpec {
        CommandSpec(command: "crml cluster \(what)", arguments: "ACCOUNT", summary: "Sends a process fault to one account's node.", options: [dirOption])
    }

    static let dirOption = ("dir", "the cluster's directory (default: $CRML_DIR or ./.crml)")

    // MARK: up

    static let upSpec = CommandSpec(
        command: "crml cluster up",
        summary: "Starts a local cluster, one crml-node process per account, and waits until every node is ready.",
        options: [("accounts", "how many accounts (default 3; ids 111111111111, 222222222222, …)"),
                  ("ids", "comma-separated account ids instead of the defaults"),
                  ("region", "the cluster's region (default us-west-1)"),
                  ("hosts", "local (the default: every node on loopback) or netns (each account in a network namespace of its own, with its own address on a bridge the command makes; root only)"),
                  dirOption])

    /// The accounts `--ids` or `--accounts` name; nil when neither is given.
    static func accountIDs(_ parsed: ParsedArguments) throws -> [AccountID]? {
        if let list = parsed.value("ids") {
            let ids = try list.split(separator: ",").map { s in
                guard let a = AccountID(String(s)) else { throw CommandFailure.usage("--ids: \(s) is not a 12-digit account id") }
                return a
            }
            guard Set(ids).count == ids.count else { throw CommandFailure.usage("--ids lists an account twice") }
            return ids
        }
        guard parsed.value("accounts") != nil else { return nil }
        let n = try parsed.int("accounts", default: 3)
        guard (1...200).contains(n) else { throw CommandFailure.usage("--accounts takes 1 to 200") }
        return defaultIDs(n)
    }

    static func defaultIDs(_ n: Int) -> [AccountID] {
        (1...n).map { k in k <= 9 ? AccountID(String(repeating: String(k), count: 12))! : AccountID(String(100_000_000_000 + k))! }
    }

    static func up(_ args: [String]) throws -> ExitCode {
        guard let parsed = try upSpec.parse(args) else { return .ok }
        let dir = ClusterDirectory.resolve(parsed)
        let ids = try accountIDs(parsed)
        if dir.exists, ids != nil || parsed.value("hosts") != nil {
            Console.err("crml: a cluster already exists in \(dir.path); starting its stopped nodes (--accounts/--ids/--hosts ignored)")
        }
        let hosts = parsed.value("hosts") ?? "local"
        guard hosts == "local" || hosts == "netns" else { throw CommandFailure.usage("--hosts takes local or netns; got \(hosts)") }
        let cluster = try launch(dir, ids: ids ?? defaultIDs(3), region: parsed.value("region") ?? "us-west-1", hosts: hosts)
        printTable(cluster, dir: dir)
        Console.out("\ncredentials: \(dir.credentialsFile) (one profile per account id); try:\n  crml call sts.GetCallerIdentity --dir \(dir.path) --profile \(cluster.accounts[0].id)\n")
        return .ok
    }

    /// Creates the cluster in `dir` if it does not exist (accounts `ids`), then starts every
    /// node that is not running and waits until all are ready. Returns the cluster file.
    static func launch(_ dir: ClusterDirectory, ids: [AccountID], region: String = "us-west-1", hosts: String = "local") throws -> ClusterFile {
        var cluster: ClusterFile
        if dir.exists {
            cluster = try dir.load()
            // Files for nodes started elsewhere (`crml cluster config`, or written by hand) have
            // no local data directories: this command does not start those.
            guard cluster.accounts.allSatisfy({ $0.dataDir != nil }) else {
                throw CommandFailure(code: .usage, message: "\(dir.clusterFile) describes nodes started elsewhere (it names no local data directories): start each with crml-node, as deploy/README.md shows")
            }
            // Namespaces do not outlive a reboot or a `down`: make them again when no node runs.
            // With nodes running, remaking them would cut those nodes off: refuse instead.
            if let n = cluster.netns {
                let running = cluster.accounts.filter { ProcessControl.isAlive($0.pid ?? 0) }
                if running.isEmpty {
                    try NetnsHosts.create(n, accounts: cluster.accounts.count)
                } else if !NetnsHosts.exists(n) {
                    throw CommandFailure(code: .failed, message: "the cluster's bridge \(n.bridge) is gone while \(running.count) of its nodes run: `crml cluster down --dir \(dir.path)` first, then `up`")
                }
            }
        } else {
            cluster = ClusterFile(region: region, accounts: ids.map { newAccount($0) })
            for k in cluster.accounts.indices {
                let id = cluster.accounts[k].id
                cluster.accounts[k].dataDir = dir.dataDir(id)
                cluster.accounts[k].logFile = dir.logFile(id)
                cluster.accounts[k].readyFile = dir.readyFile(id)
                cluster.accounts[k].httpPort = 0
            }
            if hosts == "netns" { try placeOnNamespaces(&cluster, dir) }
            try FileManager.default.createDirectory(atPath: dir.path + "/logs", withIntermediateDirectories: true)
            // Recorded before anything is made, so a later `down` finds what a crash leaves.
            try dir.save(cluster)
            try dir.writeCredentials(cluster)
            if let n = cluster.netns { try NetnsHosts.create(n, accounts: cluster.accounts.count) }
        }
        let stopped = cluster.accounts.filter { !ProcessControl.isAlive($0.pid ?? 0) }
        if !stopped.isEmpty {
            Console.err("starting \(stopped.count) account node\(stopped.count == 1 ? "" : "s") in \(dir.path) …")
            try start(stopped.map(\.id), in: dir, cluster: &cluster)
        }
        return cluster
    }

    /// Gives each account of a new cluster a network namespace and an address of its own
    /// (`--hosts netns`); `launch` makes them.
    static func placeOnNamespaces(_ cluster: inout ClusterFile, _ dir: ClusterDirectory) throws {
        try NetnsHosts.checkCanCreate()
        let n = try NetnsHosts.layout(for: dir)
        cluster.netns = n
        for k in cluster.accounts.indices {
            cluster.accounts[k].host = NetnsHosts.address(n, k)
            cluster.accounts[k].namespace = NetnsHosts.namespace(n, k)
        }
    }

    /// Stops every node of the cluster in `dir` (SIGTERM, then SIGKILL after `grace`).
    static func stopAll(_ dir: ClusterDirectory, grace: Double = 10) throws {
        var cluster = try dir.load()
        for k in cluster.accounts.indices {
            if let pid = cluster.accounts[k].pid, ProcessControl.isAlive(pid) {
                let killed = ProcessControl.terminate(pid, grace: grace)
                Console.err("  \(cluster.accounts[k].id) stopped\(killed ? " (killed after \(Int(grace)) s)" : "")")
            }
            cluster.accounts[k].pid = nil
        }
        try dir.save(cluster)
        if let n = cluster.netns {
            let left = try NetnsHosts.remove(n)
            guard left.isEmpty else { throw CommandFailure(code: .failed, message: "could not remove \(left.joined(separator: ", ")) (remove them with ip netns del / ip link del)") }
            Console.err("  namespaces, bridge \(n.bridge) and kernel faults removed")
        }
    }

    static func newAccount(_ id: AccountID) -> ClusterFile.Account {
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let keyID = "AKIA" + String((0..<16).map { _ in alphabet[Int(g.next() % 32)] })
        let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let secret = String((0..<40).map { _ in secretAlphabet[Int(g.next() % 64)] })
        let nodeSecret = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })
        return ClusterFile.Account(id: id, nodeSecret: nodeSecret, admin: .init(accessKeyId: keyID, secretAccessKey: secret))
    }

    /// Starts the nodes of `ids`, waits for their ready files, and records ports and pids.
    static func start(_ ids: [AccountID], in dir: ClusterDirectory, cluster: inout ClusterFile) throws {
        let node = ProcessControl.nodeCommand()
        var pids: [AccountID: pid_t] = [:]
        for id in ids {
            guard let a = cluster.account(id) else { continue }
            let ready = a.readyFile ?? dir.readyFile(id)
            try? FileManager.default.removeItem(atPath: ready)
            try FileManager.default.createDirectory(atPath: FileIOPaths.parent(ready), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: FileIOPaths.parent(a.logFile ?? dir.logFile(id)), withIntermediateDirectories: true)
            var args = node.leadingArguments + ["--cluster", dir.clusterFile, "--account", id.rawValue, "--ready-file", ready, "--port-taken", "move"]
            if a.port != 0 { args += ["--port", String(a.port)] }
            if let h = a.httpPort { args += ["--http-port", String(h)] }
            if let ns = a.namespace {
                // `ip netns exec` enters the namespace and execs the node: the pid is the node's.
                pids[id] = try ProcessControl.spawnDetached(NetnsHosts.ipCommand, ["netns", "exec", ns, node.path] + args, logFile: a.logFile ?? dir.logFile(id))
            } else {
                pids[id] = try ProcessControl.spawnDetached(node.path, args, logFile: a.logFile ?? dir.logFile(id))
            }
        }
        let deadline = Date().addingTimeInterval(60)
        var pending = Set(ids)
        while !pending.isEmpty {
            for id in pending.sorted() {
                guard let a = cluster.account(id), let pid = pids[id] else { pending.remove(id); continue }
                let readyPath = a.readyFile ?? dir.readyFile(id)
                if let data = FileManager.default.contents(atPath: readyPath), let ready = try? JSONParser.parse([UInt8](data)),
                   let port = ready["port"]?.intValue {
                    let k = cluster.accounts.firstIndex { $0.id == id }!
                    cluster.accounts[k].port = port
                    cluster.accounts[k].pid = pid
                    if let h = ready["httpPort"]?.intValue { cluster.accounts[k].httpPort = h }
                    pending.remove(id)
                    Console.err("  \(id) ready on \(a.host):\(port)\(cluster.accounts[k].httpPort.map { ", HTTP http://\(a.host):\($0)" } ?? "") (pid \(pid))")
                    continue
                }
                ProcessControl.reap(pid)
                if !ProcessControl.isAlive(pid) {
                    try? dir.save(cluster)
                    throw CommandFailure(code: .failed, message: "the node of account \(id) exited during start-up; its log (\(a.logFile ?? dir.logFile(id))) ends with:\n\(tail(a.logFile ?? dir.logFile(id)))")
                }
            }
            if pending.isEmpty { break }
            if Date() > deadline {
                try? dir.save(cluster)
                throw CommandFailure(code: .failed, message: "nodes not ready within 60 s: \(pending.sorted().map(\.rawValue).joined(separator: ", ")); see \(dir.path)/logs")
            }
            usleep(10_000)  // polling the ready files, with the deadline above
        }
        try dir.save(cluster)
    }

    static func tail(_ file: String, lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    // MARK: status

    static func state(_ a: ClusterFile.Account) -> String {
        guard let pid = a.pid, ProcessControl.isAlive(pid) else { return "down" }
        if ProcessControl.state(pid) == "T" { return "paused" }
        return "running"
    }

    /// A node started elsewhere (`crml cluster config`): `answering` if its admin.Ping answers
    /// within 2 s, else `unreachable`.
    static func remoteState(_ cluster: ClusterFile, _ a: ClusterFile.Account, dir: ClusterDirectory) -> String {
        guard let c = try? dir.adminClient(cluster, a, timeout: 2, readerThread: false) else { return "unreachable" }
        defer { c.close() }
        return (try? c.call("admin.Ping", timeout: 2)) != nil ? "answering" : "unreachable"
    }

    static func printTable(_ cluster: ClusterFile, dir: ClusterDirectory) {
        var rows = [["ACCOUNT", "ENDPOINT", "HTTP ENDPOINT", "PID", "STATE", "LOG"]]
        for a in cluster.accounts {
            let http = a.httpPort.map { $0 > 0 ? "http://\(a.host):\($0)" : "-" } ?? "-"
            if a.dataDir == nil {
                rows.append([a.id.rawValue, "\(a.host):\(a.port)", http, "-", remoteState(cluster, a, dir: dir), "-"])
                continue
            }
            rows.append([a.id.rawValue, "\(a.host):\(a.port)", http, a.pid.map(String.init) ?? "-", state(a), a.logFile ?? dir.logFile(a.id)])
        }
        Console.table(rows)
    }

    static func status(_ args: [String]) throws -> ExitCode {
        guard let parsed = try statusSpec.parse(args) else { return .ok }
        let dir = ClusterDirectory.resolve(parsed)
        let cluster = try dir.load()
        printTable(cluster, dir: dir)
        return .ok
    }

    // MARK: env

    static let envSpec = CommandSpec(
        command: "crml cluster env", arguments: "[ACCOUNT]",
        summary: """
        Prints the exports that point AWS SDKs and aws-cli at ACCOUNT's HTTP endpoint with its admin key
        (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION): eval "$(crml cluster env 111111111111)".
        With --write, adds a profile for ACCOUNT (every account if none is named) to DIR/aws/config and
        DIR/aws/credentials and prints the two exports that make aws-cli and boto3 read them, so
        `aws --profile ACCOUNT …` and boto3.Session(profile_name=ACCOUNT) reach that account's node.
        """,
        options: [("profile-name", "the profile's name (default: the account id; one account only)"), dirOption],
        flags: [("write", "write DIR/aws/config and DIR/aws/credentials instead of printing the keys")])

    static func env(_ args: [String]) throws -> ExitCode {
        guard let parsed = try envSpec.parse(args) else { return .ok }
        let dir = ClusterDirectory.resolve(parsed)
        let cluster = try dir.load()
        var chosen = cluster.accounts
        if let idText = parsed.positional.first {
            guard let id = AccountID(idText), let a = cluster.account(id) else {
                throw CommandFailure.usage("account \(idText) is not in \(dir.clusterFile); it has \(cluster.accounts.map(\.id.rawValue).joined(separator: ", "))")
            }
            chosen = [a]
        } else if !parsed.has("write") {
            throw CommandFailure.usage("crml cluster env needs an ACCOUNT (or --write, for every account)\n\n\(envSpec.helpText)")
        }
        if parsed.value("profile-name") != nil && chosen.count != 1 { throw CommandFailure.usage("--profile-name names the profile of one ACCOUNT") }
        func endpoint(_ a: ClusterFile.Account) throws -> String {
            guard let port = a.httpPort, port > 0 else {
                throw CommandFailure(code: .failed, message: "account \(a.id) has no HTTP endpoint yet: start the cluster (crml cluster up --dir \(dir.path)); clusters made before HTTP fronts existed have none")
            }
            return "http://\(a.host):\(port)"
        }
        guard parsed.has("write") else {
            let a = chosen[0]
            Console.out("""
            export AWS_ENDPOINT_URL=\(try endpoint(a))
            export AWS_ACCESS_KEY_ID=\(a.admin.accessKeyId)
            export AWS_SECRET_ACCESS_KEY=\(a.admin.secretAccessKey)
            export AWS_REGION=\(cluster.region)
            export AWS_DEFAULT_REGION=\(cluster.region)
            """)
            return .ok
        }
        let awsDir = dir.path + "/aws"
        try FileManager.default.createDirectory(atPath: awsDir, withIntermediateDirectories: true)
        var config = CredentialsFile.parse((try? String(contentsOfFile: awsDir + "/config", encoding: .utf8)) ?? "")
        var credentials = CredentialsFile.parse((try? String(contentsOfFile: awsDir + "/credentials", encoding: .utf8)) ?? "")
        for a in chosen {
            let name = parsed.value("profile-name") ?? a.id.rawValue
            config.profiles[name] = ["region": cluster.region, "endpoint_url": try endpoint(a), "output": "json"]
            credentials.profiles[name] = ["aws_access_key_id": a.admin.accessKeyId, "aws_secret_access_key": a.admin.secretAccessKey]
        }
        // In aws-cli's config file every profile but `default` is written `[profile NAME]`.
        let configText = config.profiles.keys.sorted().map { name in
            "[\(name == "default" ? name : "profile " + name)]\n" + config.profiles[name]!.keys.sorted().map { "\($0) = \(config.profiles[name]![$0]!)" }.joined(separator: "\n") + "\n"
        }.joined(separator: "\n")
        try dir.writeAtomically(awsDir + "/config", Data(configText.utf8))
        try dir.writeAtomically(awsDir + "/credentials", Data(credentials.text.utf8))
        Console.out("""
        export AWS_CONFIG_FILE=\(awsDir)/config
        export AWS_SHARED_CREDENTIALS_FILE=\(awsDir)/credentials
        """)
        Console.err("profiles \(chosen.map { parsed.value("profile-name") ?? $0.id.rawValue }.joined(separator: ", ")) written; then: aws --profile \(parsed.value("profile-name") ?? chosen[0].id.rawValue) sts get-caller-identity")
        return .ok
    }

    // MARK: down and signals

    static func down(_ args: [String]) throws -> ExitCode {
        guard let parsed = try downSpec.parse(args) else { return .ok }
        try stopAll(ClusterDirectory.resolve(parsed))
        return .ok
    }

    static func signal(_ what: String, _ args: [String]) throws -> ExitCode {
        let spec = signalSpec(what)
        guard let parsed = try spec.parse(args) else { return .ok }
        guard let idText = parsed.positional.first, let id = AccountID(idText) else {
            throw CommandFailure.usage("crml cluster \(what) needs an ACCOUNT id\n\n\(spec.helpText)")
        }
        let dir = ClusterDirectory.resolve(parsed)
        var cluster = try dir.load()
        guard let k = cluster.accounts.firstIndex(where: { $0.id == id }) else {
            throw CommandFailure.usage("account \(id) is not in \(dir.clusterFile)")
        }
        let pid = cluster.accounts[k].pid ?? 0
        let alive = ProcessControl.isAlive(pid)
        switch what {
        case "kill":
            if alive { kill(pid, SIGKILL); ProcessControl.reap(pid) }
            cluster.accounts[k].pid = nil
            try dir.save(cluster)
            Console.err(alive ? "  \(id) killed (SIGKILL)" : "  \(id) was not running")
        case "pause":
            guard alive else { throw CommandFailure(code: .failed, message: "account \(id)'s node is not running") }
            kill(pid, SIGSTOP)
            Console.err("  \(id) paused (SIGSTOP)")
        case "resume":
            guard alive else { throw CommandFailure(code: .failed, message: "account \(id)'s node is not running") }
            kill(pid, SIGCONT)
            Console.err("  \(id) resumed (SIGCONT)")
        default:  // restart
            if alive { ProcessControl.terminate(pid) }
            cluster.accounts[k].pid = nil
            try start([id], in: dir, cluster: &cluster)
        }
        return .ok
    }
}

enum FileIOPaths {
    static func parent(_ path: String) -> String { URL(fileURLWithPath: path).deletingLastPathComponent().path }
}
