#if canImport(Glibc)
import Glibc
#endif
import ClusterConfig
import CleanRoomsModel
import Digest
import Foundation
import Processes

/// Accounts on hosts of their own: one Linux network namespace per account, each with an
/// address on a bridge the cluster owns (`crml cluster up --hosts netns`, root only).
///
/// Guarantees: every name derives from the cluster's id (from its directory), and the cluster
/// file records the id before anything is made, so `remove` finds and deletes everything a
/// crashed command left; `create` removes such leftovers first. Addresses exist only inside the
/// namespaces and on the bridge.
enum NetnsHosts {
    static var ipCommand: String { ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip" }

    /// The layout of the cluster in `dir`: names and a /24 chosen from the directory's hash.
    static func layout(for dir: ClusterDirectory) -> ClusterFile.Netns {
        let path = URL(fileURLWithPath: dir.path).standardizedFileURL.path
        let digest = SHA256.hash(Array(path.utf8))
        let id = Hex.encode(digest.prefix(3))
        return ClusterFile.Netns(id: id, bridge: "crmlbr-\(id)", bridgeAddress: "10.\(100 + Int(digest[3]) % 100).\(Int(digest[4])).1")
    }

    static func namespace(_ n: ClusterFile.Netns, _ k: Int) -> String { "crml-\(n.id)-\(k)" }
    static func address(_ n: ClusterFile.Netns, _ k: Int) -> String {
        n.bridgeAddress.split(separator: ".").dropLast().joined(separator: ".") + ".\(10 + k)"
    }

    /// Runs `ip ARGS`; throws with its message when it fails (unless `tolerate`).
    @discardableResult
    static func ip(_ args: [String], tolerate: Bool = false) throws -> String {
        let r: Spawn.Result
        do { r = try Spawn.run(ipCommand, args, timeout: 20) } catch {
            throw CommandFailure(code: .failed, message: "--hosts netns needs iproute2's ip (\(ipCommand)): \(error)")
        }
        let err = String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if r.exitCode != 0 && !tolerate {
            throw CommandFailure(code: .failed, message: "ip \(args.joined(separator: " ")) failed: \(err)\(getuid() != 0 ? " (--hosts netns needs root)" : "")")
        }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    /// Makes the bridge and one namespace per account (removing leftovers of the same cluster first).
    static func create(_ n: ClusterFile.Netns, accounts: Int) throws {
        try remove(n)
        do {
            try ip(["link", "add", n.bridge, "type", "bridge"])
            try ip(["addr", "add", "\(n.bridgeAddress)/\(n.prefixLength)", "dev", n.bridge])
            try ip(["link", "set", n.bridge, "up"])
            for k in 0..<accounts {
                let ns = namespace(n, k), outside = "cv\(n.id)\(k)h", inside = "cv\(n.id)\(k)n"
                try ip(["netns", "add", ns])
                try ip(["link", "add", outside, "type", "veth", "peer", "name", inside])
                try ip(["link", "set", inside, "netns", ns])
                try ip(["link", "set", outside, "master", n.bridge, "up"])
                try ip(["-n", ns, "addr", "add", "\(address(n, k))/\(n.prefixLength)", "dev", inside])
                try ip(["-n", ns, "link", "set", inside, "up"])
                try ip(["-n", ns, "link", "set", "lo", "up"])
            }
        } catch {
            try? remove(n)
            throw error
        }
    }

    /// Deletes every namespace and link of the cluster, whatever made them; idempotent.
    static func remove(_ n: ClusterFile.Netns) throws {
        let namespaces = try ip(["netns", "list"], tolerate: true).split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        for ns in namespaces where ns.hasPrefix("crml-\(n.id)-") { try ip(["netns", "del", ns], tolerate: true) }
        let links = try ip(["-o", "link", "show"], tolerate: true).split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: ":")
            guard parts.count > 1 else { return nil }
            return String(parts[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first ?? "")
        }
        for l in links where l == n.bridge || l.hasPrefix("cv\(n.id)") { try ip(["link", "del", l], tolerate: true) }
    }

    /// Whether the cluster's bridge is there.
    static func exists(_ n: ClusterFile.Netns) -> Bool {
        ((try? ip(["link", "show", n.bridge], tolerate: true)) ?? "").contains(n.bridge)
    }
}
