import ClusterConfig
import CleanRoomsModel
import Foundation

/// `crml cluster config`: the files a cluster deployed by hand needs (systemd units on several
/// machines, containers, a Kubernetes StatefulSet): a public cluster file with fixed hosts and
/// ports, a secrets file kept apart, and a credentials file for clients.
extension ClusterCommand {
    static let configSpec = CommandSpec(
        command: "crml cluster config",
        summary: "Writes OUT/cluster.json (accounts, host names, fixed ports: no secrets), OUT/secrets.json (each account's node secret and admin key, mode 0600) and OUT/credentials (one profile per account), for nodes started with crml-node --cluster OUT/cluster.json --secrets OUT/secrets.json. Refuses to overwrite.",
        options: [("out", "the directory to write the three files in"),
                  ("accounts", "how many accounts (default 3; ids 111111111111, 222222222222, …)"),
                  ("ids", "comma-separated account ids instead of the defaults"),
                  ("host-names", "where each account's node is reached: one name per account, comma-separated, or one pattern in which {i} is the account's index from 0 (default crml-{i}.crml, the pods of deploy/kubernetes)"),
                  ("port", "every node's JSON-RPC port (default 7100)"),
                  ("http-port", "every node's HTTP port for AWS SDKs and aws-cli (default 8080; 0 for none)"),
                  ("region", "the cluster's region (default us-west-1)"),
                  ("kustomize", "also write OUT/kustomization.yaml, an overlay of the Kubernetes manifests in this directory (deploy/kubernetes) with the new files and one pod per account: then kubectl apply -k OUT")],
        required: ["out"])

    static func config(_ args: [String]) throws -> ExitCode {
        guard let parsed = try configSpec.parse(args) else { return .ok }
        guard let out = parsed.value("out") else { throw CommandFailure.usage("crml cluster config needs --out DIR") }
        let ids = try accountIDs(parsed) ?? defaultIDs(3)
        let hosts = try hostNames(parsed.value("host-names") ?? "crml-{i}.crml", count: ids.count)
        let port = try parsed.int("port", default: 7100)
        let httpPort = try parsed.int("http-port", default: 8080)
        guard (1...65535).contains(port) else { throw CommandFailure.usage("--port takes 1 to 65535") }
        guard (0...65535).contains(httpPort), httpPort != port else { throw CommandFailure.usage("--http-port takes 0 to 65535, not the JSON-RPC port") }

        var cluster = ClusterFile(region: parsed.value("region") ?? "us-west-1", accounts: ids.map { newAccount($0) })
        for k in cluster.accounts.indices {
            cluster.accounts[k].host = hosts[k]
            cluster.accounts[k].port = port
            cluster.accounts[k].httpPort = httpPort == 0 ? nil : httpPort
        }
        let dir = ClusterDirectory(path: out)
        let secretsFile = out + "/secrets.json"
        for f in [dir.clusterFile, secretsFile, dir.credentialsFile] where FileManager.default.fileExists(atPath: f) {
            throw CommandFailure(code: .failed, message: "\(f) exists; crml cluster config writes new secrets and never overwrites (remove the files, or choose another --out)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let (publicPart, secrets) = try ClusterSecrets.split(cluster)
        try dir.writeAtomically(secretsFile, Data(secrets))
        try dir.writeCredentials(cluster)
        try dir.writeAtomically(dir.clusterFile, Data(publicPart), mode: 0o644)
        Console.out("wrote \(dir.clusterFile) (\(ids.count) accounts), \(secretsFile) and \(dir.credentialsFile)\n")
        if let base = parsed.value("kustomize") {
            let file = out + "/kustomization.yaml"
            try dir.writeAtomically(file, Data(overlay(base: relativePath(from: out, to: base), accounts: ids.count).utf8), mode: 0o644)
            Console.out("wrote \(file): kubectl apply -k \(out)\n")
        }
        return .ok
    }

    /// A kustomize overlay of `base` that swaps in this directory's cluster and secrets files.
    static func overlay(base: String, accounts: Int) -> String {
        """
        # Written by crml cluster config: the manifests of \(base) with this cluster's files.
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - \(base)
        configMapGenerator:
          - name: crml-cluster
            behavior: replace
            files:
              - cluster.json
        secretGenerator:
          - name: crml-secrets
            behavior: replace
            files:
              - secrets.json
        replicas:
          - name: crml
            count: \(accounts)

        """
    }

    /// `to` as a path relative to the directory `from` (both taken from the working directory).
    static func relativePath(from: String, to: String) -> String {
        func parts(_ p: String) -> [String] {
            let absolute = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
            return URL(fileURLWithPath: absolute).standardizedFileURL.path.split(separator: "/").map(String.init)
        }
        let a = parts(from), b = parts(to)
        var common = 0
        while common < a.count, common < b.count, a[common] == b[common] { common += 1 }
        let up = Array(repeating: "..", count: a.count - common)
        let path = (up + b[common...]).joined(separator: "/")
        return path.isEmpty ? "." : path
    }

    /// One host name per account, from a list or a `{i}` pattern.
    static func hostNames(_ text: String, count: Int) throws -> [String] {
        let names = text.contains("{i}")
            ? (0..<count).map { text.replacingOccurrences(of: "{i}", with: String($0)) }
            : text.split(separator: ",").map(String.init)
        guard names.count == count else {
            throw CommandFailure.usage("--host-names lists \(names.count) names for \(count) accounts (or give a pattern with {i})")
        }
        for n in names where n.isEmpty || n.contains(where: { $0 == " " || $0 == "/" || $0 == ":" }) {
            throw CommandFailure.usage("--host-names: \"\(n)\" is not a host name or address")
        }
        return names
    }
}
