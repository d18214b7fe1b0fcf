import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Wire

/// A local cluster's directory (`--dir`, `CRML_DIR`, default `./.crml`): `cluster.json`,
/// `credentials`, and per account `nodes/ID/{data,ready.json}` and `logs/ID.log`.
struct ClusterDirectory {
    let path: String

    static func resolve(_ args: ParsedArguments) -> ClusterDirectory {
        let raw = args.value("dir") ?? ProcessInfo.processInfo.environment["CRML_DIR"] ?? "./.crml"
        let absolute = raw.hasPrefix("/") ? raw : FileManager.default.currentDirectoryPath + "/" + raw
        return ClusterDirectory(path: URL(fileURLWithPath: absolute).standardizedFileURL.path)
    }

    var clusterFile: String { path + "/cluster.json" }
    var credentialsFile: String { path + "/credentials" }
    func dataDir(_ id: AccountID) -> String { "\(path)/nodes/\(id)/data" }
    func readyFile(_ id: AccountID) -> String { "\(path)/nodes/\(id)/ready.json" }
    func logFile(_ id: AccountID) -> String { "\(path)/logs/\(id).log" }

    var exists: Bool { FileManager.default.fileExists(atPath: clusterFile) }

    func load() throws -> ClusterFile {
        guard let data = FileManager.default.contents(atPath: clusterFile) else {
            throw CommandFailure(code: .usage, message: "no cluster at \(path) (no cluster.json); start one with `crml cluster up --dir \(path)`")
        }
        // A directory `crml cluster config` wrote keeps the secrets in a file of their own.
        let secrets = FileManager.default.contents(atPath: path + "/secrets.json").map { [UInt8]($0) }
        do { return try ClusterSecrets.load(cluster: [UInt8](data), secrets: secrets) } catch {
            throw CommandFailure(code: .failed, message: "\(clusterFile) is not a valid cluster file: \(error)")
        }
    }

    func save(_ cluster: ClusterFile) throws {
        try writeAtomically(clusterFile, Data(try cluster.encoded()))
    }

    func writeAtomically(_ file: String, _ data: Data, mode: Int = 0o600) throws {
        let tmp = file + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: mode]) else {
            throw CommandFailure(code: .failed, message: "cannot write \(tmp)")
        }
        _ = rename(tmp, file)
    }

    /// The credentials file: one profile per account, named by its id, with its admin key.
    func writeCredentials(_ cluster: ClusterFile) throws {
        var f = CredentialsFile()
        for a in cluster.accounts {
            f.profiles[a.id.rawValue] = ["aws_access_key_id": a.admin.accessKeyId, "aws_secret_access_key": a.admin.secretAccessKey,
                                         "aws_account_id": a.id.rawValue, "region": cluster.region]
        }
        try writeAtomically(credentialsFile, Data(f.text.utf8))
    }

    /// An admin client of an account's node.
    func adminClient(_ cluster: ClusterFile, _ account: ClusterFile.Account, timeout: Double = 5, readerThread: Bool = true) throws(RPCCallError) -> RPCClient {
        try RPCClient.connect(host: account.host, port: UInt16(clamping: account.port),
                              credentials: .accessKey(account.admin.accessKeyId, secret: account.admin.secretAccessKey), timeout: timeout,
                              readerThread: readerThread)
    }
}
