import CleanRoomsModel
import JSON

/// A cluster file kept in two parts for deployments (systemd, containers, Kubernetes): the
/// public part (accounts, hosts, ports, organizations) that may sit in a ConfigMap or be copied
/// to every host, and the secrets file (each account's `nodeSecret` and `admin` key) kept apart,
/// readable by the node's user only.
///
/// The secrets file has the cluster file's shape, cut to the secret members:
///
///     {"accounts": [{"id": "111111111111", "nodeSecret": "…", "admin": {"accessKeyId": "…", "secretAccessKey": "…"}}]}
///
/// Guarantees: merging never invents an account (a secrets entry whose id is not in the public
/// part is refused, so a typo cannot go unnoticed) and an account left without its secrets is
/// refused with the account's id, not a decoding path.
public enum ClusterSecrets {
    /// The members of an account that are secret.
    static let secretMembers = ["nodeSecret", "admin"]

    /// The cluster described by `cluster` (public part, or a whole file) with `secrets` merged in.
    public static func load(cluster: [UInt8], secrets: [UInt8]?) throws -> ClusterFile {
        var whole = try JSONParser.parse(cluster)
        if let secrets {
            let parsed: JSON
            do { parsed = try JSONParser.parse(secrets) } catch { throw ClusterFileError("the secrets file is not JSON: \(error)") }
            whole = try merge(whole, parsed)
        }
        for account in whole["accounts"]?.arrayValue ?? [] {
            let id = account["id"]?.stringValue ?? "?"
            for member in secretMembers where account[member] == nil {
                throw ClusterFileError("account \(id) has no \(member): the cluster file keeps its secrets apart; give the secrets file (crml-node --secrets FILE)")
            }
        }
        return try whole.decode(ClusterFile.self)
    }

    static func merge(_ cluster: JSON, _ secrets: JSON) throws -> JSON {
        guard let entries = secrets["accounts"]?.arrayValue else { throw ClusterFileError("the secrets file has no \"accounts\" array") }
        guard var accounts = cluster["accounts"]?.arrayValue else { throw ClusterFileError("the cluster file has no \"accounts\" array") }
        for entry in entries {
            guard let id = entry["id"]?.stringValue else { throw ClusterFileError("an entry of the secrets file has no \"id\"") }
            guard let k = accounts.firstIndex(where: { $0["id"]?.stringValue == id }) else {
                throw ClusterFileError("the secrets file names account \(id), which is not in the cluster file")
            }
            for member in secretMembers { if let v = entry[member] { accounts[k][member] = v } }
        }
        var merged = cluster
        merged["accounts"] = .array(accounts)
        return merged
    }

    /// `cluster` cut in two: the public part and the secrets file, each ready to write.
    public static func split(_ cluster: ClusterFile) throws -> (cluster: [UInt8], secrets: [UInt8]) {
        let whole = try JSON(encoding: cluster)
        var publicPart = whole
        var secretEntries: [JSON] = []
        publicPart["accounts"] = .array((whole["accounts"]?.arrayValue ?? []).map { account in
            var entry: JSON = ["id": account["id"] ?? .null]
            var rest = account
            for member in secretMembers {
                entry[member] = account[member]
                rest[member] = nil
            }
            secretEntries.append(entry)
            return rest
        })
        return (JSONWriter.bytes(publicPart, pretty: true) + [0x0A],
                JSONWriter.bytes(["accounts": .array(secretEntries)], pretty: true) + [0x0A])
    }
}

/// A cluster file (or its secrets file) that cannot be used, and why.
public struct ClusterFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
