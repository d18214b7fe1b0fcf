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
    /// iproute2's `ip`, where Debian and others put it (nil: not installed).
    static let installedIP: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var ipCommand: String { installedIP ?? "ip" }

    /// The layout of a new cluster in `dir`: names from the directory's hash (32 bits, so two
    /// clusters do not share them), and the first /24 from the hash on that no address or route
    /// of this host touches yet.
    static func layout(for dir: ClusterDirectory) throws -> ClusterFile.Netns {
        let path = URL(fileURLWithPath: dir.path).standardizedFileURL.path
        let digest = SHA256.hash(Array(path.utf8))
        let id = Hex.encode(digest.prefix(4))
        let inUse = try ip(["-4", "route", "show", "table", "all"], tolerate: true) + (try ip(["-4", "-o", "addr", "show"], tolerate: true))
        let start = Int(digest[4]) << 8 | Int(digest[5])
        for k in 0..<(100 * 256) {
            let slot = (start + k) % (100 * 256)
            let prefix = "10.\(100 + slot / 256).\(slot % 256)."
            if !inUse.contains(prefix) && !inUse.contains(" 10.\(100 + slot / 256).0.0/16") && !inUse.contains(" 10.0.0.0/8") {
                return ClusterFile.Netns(id: id, bridge: "crmlbr-\(id)", bridgeAddress: prefix + "1")
            }
        }
        throw CommandFailure(code: .failed, message: "no free /24 in 10.100.0.0–10.199.255.0 for the cluster's bridge")
    }

    /// Refuses unless this process can make namespaces (root, with iproute2's ip).
    static func checkCanCreate() throws {
        guard getuid() == 0 else { throw CommandFailure.usage("--hosts netns makes network namespaces and a bridge: run as root") }
        guard installedIP != nil else {
            throw CommandFailure.usage("--hosts netns needs iproute2's ip (Debian's iproute2 package)")
        }
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
            _ = try? remove(n)
            throw error
        }
    }

    /// Deletes every namespace and link of the cluster, whatever made them, and its kernel
    /// faults; idempotent. Returns what could not be removed.
    @discardableResult
    static func remove(_ n: ClusterFile.Netns) throws -> [String] {
        try KernelFaults.heal(n, between: nil)
        for thing in try leftovers(n) {
            if thing.hasPrefix("crml-\(n.id)-") { try ip(["netns", "del", thing], tolerate: true) } else { try ip(["link", "del", thing], tolerate: true) }
        }
        return try leftovers(n)
    }

    /// The cluster's namespaces and links that exist now.
    static func leftovers(_ n: ClusterFile.Netns) throws -> [String] {
        let namespaces = try ip(["netns", "list"], tolerate: true).split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("crml-\(n.id)-") }
        let links = try ip(["-o", "link", "show"], tolerate: true).split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: ":")
            return parts.count > 1 ? String(parts[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first ?? "") : nil
        }.filter { $0 == n.bridge || $0.hasPrefix("cv\(n.id)") }
        return namespaces + links
    }

    /// Whether the cluster's bridge is there.
    static func exists(_ n: ClusterFile.Netns) -> Bool {
        ((try? ip(["link", "show", n.bridge], tolerate: true)) ?? "").contains(n.bridge)
    }
}
