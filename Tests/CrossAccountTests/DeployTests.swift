#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import Foundation
import JSON
import Processes
import Testing
import TestSupport
import Wire

/// SIM-6, deployment: the files in deploy/ and what they run. `crml cluster config` writes the
/// cluster in two files; the Kubernetes manifests render offline and the command they give a pod
/// runs that pod's account and answers the readiness probe; the systemd unit verifies and its
/// command line runs. Nodes of the rendered commands run in namespaces of their own (root), so
/// the manifests' fixed ports are free.
@Suite struct DeployTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static func tool(_ names: [String]) -> String? { names.first { FileManager.default.isExecutableFile(atPath: $0) } }
    static let kubectl = tool(["/usr/bin/kubectl", "/usr/local/bin/kubectl"])
    static let unshare = tool(["/usr/bin/unshare", "/bin/unshare"])
    static let nsenter = tool(["/usr/bin/nsenter", "/bin/nsenter"])
    static let systemdAnalyze = tool(["/usr/bin/systemd-analyze", "/bin/systemd-analyze"])
    static var namespacesAvailable: Bool { getuid() == 0 && unshare != nil && nsenter != nil && FileManager.default.isExecutableFile(atPath: netnsIPPath) }

    static func read(_ path: String) throws -> String {
        String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test("SIM-6: crml cluster config writes a public cluster file, a secrets file and credentials, apart and with their modes; it never overwrites them")
    func clusterConfigSplitsTheSecrets() async throws {
        let out = FileManagerTemp.directory("config") + "/c"
        let r = try await crml(["cluster", "config", "--out", out, "--accounts", "4", "--host-names", "node{i}.example", "--port", "7200", "--http-port", "0"])
        #expect(r.exitCode == 0, "\(r.stderrText)")
        let publicText = try Self.read(out + "/cluster.json"), secretsText = try Self.read(out + "/secrets.json")
        #expect(!publicText.contains("nodeSecret") && !publicText.contains("secretAccessKey") && !publicText.contains("httpPort"))
        #expect(try Self.mode(out + "/cluster.json") == 0o644)
        #expect(try Self.mode(out + "/secrets.json") == 0o600)
        #expect(try Self.mode(out + "/credentials") == 0o600)
        let cluster = try ClusterSecrets.load(cluster: Array(publicText.utf8), secrets: Array(secretsText.utf8))
        #expect(cluster.accounts.map(\.host) == (0..<4).map { "node\($0).example" })
        #expect(cluster.accounts.allSatisfy { $0.port == 7200 && $0.httpPort == nil && $0.nodeSecret.count == 64 })
        #expect(Set(cluster.accounts.map(\.nodeSecret)).count == 4)
        #expect(try Self.read(out + "/credentials").contains(cluster.accounts[3].admin.secretAccessKey))

        let again = try await crml(["cluster", "config", "--out", out, "--accounts", "2"])
        #expect(again.exitCode == 1 && again.stderrText.contains("never overwrites"), "\(again.stderrText)")
        #expect(try Self.read(out + "/secrets.json") == secretsText)
        let wrongCount = try await crml(["cluster", "config", "--out", out + "2", "--accounts", "3", "--host-names", "a,b"])
        #expect(wrongCount.exitCode == 252 && wrongCount.stderrText.contains("2 names for 3 accounts"))
    }

    /// The `- item` lines of the block list under `key:` in rendered YAML (kubectl writes lists
    /// of strings one item a line).
    static func blockList(_ yaml: String, after key: String, from marker: String? = nil) -> [String] {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let marker, let m = lines.firstIndex(where: { $0.contains(marker) }) { lines = Array(lines[m...]) }
        guard let k = lines.firstIndex(where: { [key + ":", "- " + key + ":"].contains($0.trimmingCharacters(in: .whitespaces)) }) else { return [] }
        var items: [String] = []
        for line in lines[(k + 1)...] {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("- ") else { break }
            var item = String(t.dropFirst(2))
            if item.hasPrefix("\""), item.hasSuffix("\""), item.count >= 2 { item = String(item.dropFirst().dropLast()) }
            items.append(item)
        }
        return items
    }

    /// The base64 lines of a rendered Secret's `secrets.json`, decoded.
    static func renderedSecret(_ yaml: String) -> String? {
        let lines = yaml.split(separator: "\n").map(String.init)
        guard let k = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "secrets.json: |" }) else { return nil }
        let encoded = lines[(k + 1)...].prefix { $0.hasPrefix("    ") }.map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("SIM-6: the Kubernetes manifests render offline (kubectl kustomize): a StatefulSet of one pod per account behind a headless Service, a volume claim per pod, the cluster file as a ConfigMap, its secrets as a Secret, readiness from the node's own probe; an overlay from crml cluster config carries its files and pod count",
          .enabled(if: DeployTests.kubectl != nil, "needs kubectl"))
    func kubernetesManifestsRender() async throws {
        let kubectl = try #require(Self.kubectl)
        let base = try await runProcess(kubectl, ["kustomize", Self.repository + "/deploy/kubernetes"])
        #expect(base.exitCode == 0, "\(base.stderrText)")
        let yaml = base.stdoutText
        for needle in ["kind: StatefulSet", "kind: Service", "clusterIP: None", "publishNotReadyAddresses: true", "podManagementPolicy: Parallel",
                       "kind: ConfigMap", "kind: Secret", "volumeClaimTemplates:", "readinessProbe:", "serviceName: crml", "replicas: 3", "readOnlyRootFilesystem: true"] {
            #expect(yaml.contains(needle), "rendered manifests lack \(needle)")
        }
        let args = Self.blockList(yaml, after: "args")
        #expect(args.contains("--account-index") && args.contains("hostname") && args.contains("--secrets"), "\(args)")
        #expect(Self.blockList(yaml, after: "command", from: "readinessProbe").contains("--probe"))

        let out = FileManagerTemp.directory("kustomize") + "/overlay"
        let made = try await crml(["cluster", "config", "--out", out, "--accounts", "4", "--kustomize", Self.repository + "/deploy/kubernetes"])
        #expect(made.exitCode == 0, "\(made.stderrText)")
        let overlay = try await runProcess(kubectl, ["kustomize", out])
        #expect(overlay.exitCode == 0, "\(overlay.stderrText)")
        #expect(overlay.stdoutText.contains("replicas: 4") && overlay.stdoutText.contains("crml-3.crml") && overlay.stdoutText.contains("444444444444"))
        #expect(Self.renderedSecret(overlay.stdoutText) == (try Self.read(out + "/secrets.json")))
    }

    @Test("SIM-6: a node refuses the base's placeholder secrets, saying where real ones come from")
    func placeholderSecretsAreRefused() async throws {
        let dir = Self.repository + "/deploy/kubernetes"
        let r = try await runProcess(Products.path("crml-node"), ["--cluster", dir + "/cluster.json", "--secrets", dir + "/secrets.json", "--account-index", "0",
                                                                  "--data-dir", FileManagerTemp.directory("placeholder")], timeout: 20)
        #expect(r.exitCode != 0 && r.stderrText.contains("crml cluster config"), "\(r.stderrText)")
    }

    @Test("SIM-6: a node given a fixed port that another process holds refuses to start (peers know only that port), unless told --port-taken move")
    func aTakenFixedPortIsAnError() async throws {
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { Socket.close(fd) }
        let out = FileManagerTemp.directory("taken") + "/c"
        _ = try await crml(["cluster", "config", "--out", out, "--accounts", "1", "--host-names", "127.0.0.1", "--port", String(port), "--http-port", "0"])
        let args = ["--cluster", out + "/cluster.json", "--secrets", out + "/secrets.json", "--account", "111111111111", "--data-dir", out + "/data"]
        let r = try await runProcess(Products.path("crml-node"), args, timeout: 20)
        #expect(r.exitCode != 0 && r.stderrText.contains("bind 127.0.0.1:\(port)"), "\(r.stderrText)")
        // Moved, it starts on another port (and says so).
        let ready = out + "/ready.json"
        var env = ProcessInfo.processInfo.environment
        env["CRML_EXIT_WITH_PID"] = String(getpid())
        let pid = try Spawn.detached(Products.path("crml-node"), args + ["--port-taken", "move", "--ready-file", ready], logFile: out + "/node.log", environment: env)
        defer { Self.killIfRunning(pid) }
        let started = try await eventually(timeout: 20, interval: 0.05) { FileManager.default.fileExists(atPath: ready) || Self.exited(pid) }
        let readyPort = FileManager.default.contents(atPath: ready).flatMap { try? JSONParser.parse([UInt8]($0)) }?["port"]?.intValue
        let log = try Self.read(out + "/node.log")
        #expect(started && readyPort != nil && readyPort != Int(port) && log.contains("is taken by another process"), "\(log)")
        #expect(try await Self.stop(pid))
    }

    /// Runs `arguments` (a rendered node command) in new UTS and network namespaces with host
    /// name `hostName`; the pid is the node's. Polls `probe` inside them until it exits 0.
    static func runInNamespaces(_ arguments: [String], hostName: String, probe: [String], log: String) async throws -> (pid: pid_t, probe: ProcessResult?) {
        let script = "\(netnsIPPath) link set lo up && hostname \(hostName) && exec \"$0\" \"$@\""
        var env = ProcessInfo.processInfo.environment
        env["CRML_EXIT_WITH_PID"] = String(getpid())
        let pid = try Spawn.detached(try #require(unshare), ["--uts", "--net", "/bin/sh", "-c", script, Products.path("crml-node")] + arguments, logFile: log, environment: env)
        var answered: ProcessResult?
        do {
            _ = try await eventually(timeout: 30, interval: 0.2) {
                let r = try await runProcess(try #require(nsenter), ["-t", String(pid), "-n", "-u", Products.path("crml-node")] + probe, timeout: 10)
                if r.exitCode == 0 { answered = r }
                return r.exitCode == 0 || exited(pid)
            }
        } catch {
            kill(pid, SIGKILL)
            throw error
        }
        return (pid, answered)
    }

    /// Kills our child `pid` if it still runs: the tests' `defer`, so a failing check leaves no node.
    static func killIfRunning(_ pid: pid_t) {
        if !exited(pid) { kill(pid, SIGKILL); _ = waitpid(pid, nil, 0) }
    }

    /// Whether our child `pid` has ended (reaping it).
    static func exited(_ pid: pid_t) -> Bool {
        let w = waitpid(pid, nil, WNOHANG)
        return w == pid || (w == -1 && kill(pid, 0) != 0)
    }

    static func stop(_ pid: pid_t) async throws -> Bool {
        kill(pid, SIGTERM)
        let stopped = try await eventually(timeout: 20, interval: 0.05) { exited(pid) }
        if !stopped { kill(pid, SIGKILL) }
        return stopped
    }

    static func rewrite(_ items: [String], _ paths: [String: String]) -> [String] {
        items.map { item in paths.reduce(item) { $0.replacingOccurrences(of: $1.key, with: $1.value) } }
    }

    @Test("SIM-6: the command the StatefulSet gives pod crml-1 runs the cluster's second account, and the readiness probe answers from inside the pod",
          .enabled(if: DeployTests.kubectl != nil && DeployTests.namespacesAvailable, "needs kubectl, root, unshare and nsenter"))
    func aRenderedPodRunsItsAccount() async throws {
        let work = FileManagerTemp.directory("pod")
        let made = try await crml(["cluster", "config", "--out", work + "/overlay", "--accounts", "3", "--kustomize", Self.repository + "/deploy/kubernetes"])
        #expect(made.exitCode == 0, "\(made.stderrText)")
        let yaml = try await runProcess(try #require(Self.kubectl), ["kustomize", work + "/overlay"]).stdoutText
        // The pod's mounts, as local folders.
        let paths = ["/etc/crml/cluster/": work + "/overlay/", "/etc/crml/secrets/": work + "/overlay/", "/var/lib/crml": work + "/volume"]
        let args = Self.rewrite(Self.blockList(yaml, after: "args"), paths)
        let probe = Self.rewrite(Array(Self.blockList(yaml, after: "command", from: "readinessProbe").dropFirst()), paths)
        try #require(args.count > 4 && probe.contains("--probe"))
        let (pid, answered) = try await Self.runInNamespaces(args, hostName: "crml-1", probe: probe, log: work + "/node.log")
        defer { Self.killIfRunning(pid) }
        let log = try Self.read(work + "/node.log")
        #expect(answered?.stdoutText.contains("crml-node 222222222222: ready") == true, "\(log)")
        // The same probe asked as another account's administrator fails: it tells accounts apart.
        var wrongProbe = probe
        if let k = wrongProbe.firstIndex(of: "--account-index") { wrongProbe[k...k + 1] = ["--account", "111111111111"] }
        let wrong = try await runProcess(try #require(Self.nsenter), ["-t", String(pid), "-n", "-u", Products.path("crml-node")] + wrongProbe, timeout: 10)
        #expect(wrong.exitCode != 0 && wrongProbe.contains("111111111111"), "\(wrong.stdoutText)")
        #expect(log.contains("READY account=222222222222 host=0.0.0.0 port=7100 http-port=8080"), "\(log)")
        #expect(try await Self.stop(pid), "\(log)")
        #expect(FileManager.default.fileExists(atPath: work + "/volume/LOCK"))
    }

    /// The unit with its program and folders moved to where this test keeps them.
    static func localUnit(_ work: String) throws -> String {
        try read(repository + "/deploy/systemd/crml-node@.service")
            .replacingOccurrences(of: "/usr/local/bin/crml-node", with: Products.path("crml-node"))
            .replacingOccurrences(of: "/etc/crml/", with: work + "/etc/")
            .replacingOccurrences(of: "/var/lib/crml/", with: work + "/state/")
    }

    @Test("SIM-6: systemd-analyze verifies the unit template crml-node@.service with no complaint",
          .enabled(if: DeployTests.systemdAnalyze != nil, "needs systemd-analyze"))
    func systemdUnitVerifies() async throws {
        let work = FileManagerTemp.directory("unit")
        let unit = work + "/crml-node@111111111111.service"
        try Self.localUnit(work).write(toFile: unit, atomically: true, encoding: .utf8)
        let r = try await runProcess(try #require(Self.systemdAnalyze), ["verify", "--man=no", unit])
        #expect(r.exitCode == 0 && r.stdoutText.isEmpty && r.stderrText.isEmpty, "\(r.stdoutText)\(r.stderrText)")
        // The check can fail: a misspelt option is reported.
        try (Self.localUnit(work).replacingOccurrences(of: "NoNewPrivileges=yes", with: "NoNewPrivilege=yes")).write(toFile: unit, atomically: true, encoding: .utf8)
        let bad = try await runProcess(try #require(Self.systemdAnalyze), ["verify", "--man=no", unit])
        #expect(bad.stderrText.contains("NoNewPrivilege"))
    }

    @Test("SIM-6: the unit's command line, for instance 222222222222, runs that account from the cluster and secrets files",
          .enabled(if: DeployTests.namespacesAvailable, "needs root, unshare and nsenter"))
    func systemdCommandRuns() async throws {
        let work = FileManagerTemp.directory("unit-run")
        let made = try await crml(["cluster", "config", "--out", work + "/etc", "--accounts", "2", "--host-names", "127.0.0.1,127.0.0.1"])
        #expect(made.exitCode == 0, "\(made.stderrText)")
        let unit = try Self.localUnit(work)
        try FileManager.default.createDirectory(atPath: work + "/state", withIntermediateDirectories: true)
        let exec = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let words = exec.dropFirst("ExecStart=".count).split(separator: " ").map { $0.replacingOccurrences(of: "%i", with: "222222222222") }
        #expect(words.first == Products.path("crml-node"))
        let (pid, answered) = try await Self.runInNamespaces(Array(words.dropFirst()), hostName: "host-b",
                                                             probe: ["--cluster", work + "/etc/cluster.json", "--secrets", work + "/etc/secrets.json", "--account", "222222222222", "--probe"],
                                                             log: work + "/node.log")
        defer { Self.killIfRunning(pid) }
        let log = try Self.read(work + "/node.log")
        #expect(answered != nil, "\(log)")
        #expect(log.contains("READY account=222222222222 host=0.0.0.0 port=7100"), "\(log)")
        // crml cluster status asks nodes started elsewhere whether they answer.
        let status = try await runProcess(try #require(Self.nsenter), ["-t", String(pid), "-n", Products.path("crml"), "cluster", "status", "--dir", work + "/etc"])
        let rows = status.stdoutText.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.contains { $0.first == "222222222222" && $0.contains("answering") } && rows.contains { $0.first == "111111111111" && $0.contains("unreachable") }, "\(status.stdoutText)")
        #expect(try await Self.stop(pid), "\(log)")
        #expect(FileManager.default.fileExists(atPath: work + "/state/222222222222/LOCK"))
    }

    @Test("SIM-6 XA-1: a node reaches peers by host name (looked up off its loop, as a StatefulSet's pod names are); a name that does not resolve makes that peer unreachable, and the node goes on answering")
    func peersByHostName() async throws {
        try await withCluster(accounts: 3, label: "names") { c in
            var file = try ClusterFile.load([UInt8](try #require(FileManager.default.contents(atPath: c.dir + "/cluster.json"))))
            file.accounts[1].host = "localhost"
            file.accounts[2].host = "no-such-host.invalid"
            try Data(try file.encoded()).write(to: URL(fileURLWithPath: c.dir + "/cluster.json"))
            let s = try await CrossAccountScene.prepare(c)
            let arn = try await s.start("by-name")
            #expect(try await s.waitFor(s.b, s.otherARN(arn))["status"]?.stringValue == "ACTIVE")

            var params = s.startParams(name: "to-nowhere")
            params["configuredAudienceModelArn"] = .string(s.camArn.replacingOccurrences(of: s.accountB, with: c.account(2).id.rawValue))
            var message = ""
            do { _ = try await s.a.call("cleanroomsml.StartAudienceGenerationJob", params) } catch { message = "\(error)" }
            #expect(message.contains("no-such-host.invalid"), "\(message)")
            #expect(try await s.a.call("admin.Ping")["account"]?.stringValue == s.accountA)
        }
    }
}
