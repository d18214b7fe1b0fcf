import ClusterConfig
import Foundation
import Processes

/// Link faults applied by the kernel, for clusters on network namespaces: an nftables rule in
/// the sending account's namespace drops all (a partition) or a random fraction (loss) of the
/// packets it sends to one peer's address. The rules are the record: `list` reads them back
/// from the kernel. (Delay, duplication and reordering would need `tc netem`, which kernels
/// without the sch_netem module lack; those stay inside the nodes.)
enum KernelFaults {
    static var nftCommand: String? { ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) } }

    /// A fault on one direction of one link, as the kernel holds it.
    struct Drop: Equatable {
        var peer: String
        var fraction: Double
    }

    /// Runs `nft ARGS` inside `namespace`.
    @discardableResult
    static func nft(_ namespace: String, _ args: [String], tolerate: Bool = false) throws -> String {
        guard let nft = nftCommand else {
            throw CommandFailure(code: .failed, message: "kernel faults need nftables' nft (Debian's nftables package); it is not installed")
        }
        let r = try Spawn.run(NetnsHosts.ipCommand, ["netns", "exec", namespace, nft] + args, timeout: 20)
        if r.exitCode != 0 && !tolerate {
            throw CommandFailure(code: .failed, message: "nft \(args.joined(separator: " ")) in \(namespace) failed: \(String(decoding: r.stderr, as: UTF8.self))")
        }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    static func comment(_ peer: String) -> String { "crml drop \(peer)" }

    /// Drops `fraction` (0 to 1) of what `namespace` sends to `address` (account `peer`),
    /// replacing any drop already set for that peer; 0 removes it.
    static func setDrop(in namespace: String, to address: String, peer: String, fraction: Double) throws {
        try nft(namespace, ["add", "table", "inet", "crml"])
        try nft(namespace, ["add", "chain", "inet", "crml", "out", "{ type filter hook output priority 0 ; }"])
        try remove(in: namespace, peer: peer)
        guard fraction > 0 else { return }
        var rule = ["add", "rule", "inet", "crml", "out", "ip", "daddr", address]
        if fraction < 1 { rule += ["numgen", "random", "mod", "10000", "<", String(Int((fraction * 10000).rounded()))] }
        rule += ["drop", "comment", "\"\(comment(peer))\""]
        try nft(namespace, rule)
    }

    /// Removes the drop for `peer` (every drop when nil).
    static func remove(in namespace: String, peer: String?) throws {
        guard let peer else {
            try nft(namespace, ["delete", "table", "inet", "crml"], tolerate: true)
            return
        }
        let listing = try nft(namespace, ["-a", "list", "chain", "inet", "crml", "out"], tolerate: true)
        for line in listing.split(separator: "\n") where line.contains("\"\(comment(peer))\"") {
            guard let handle = line.components(separatedBy: "# handle ").last.map({ $0.trimmingCharacters(in: .whitespaces) }), Int(handle) != nil else { continue }
            try nft(namespace, ["delete", "rule", "inet", "crml", "out", "handle", handle], tolerate: true)
        }
    }

    /// The drops `namespace` applies now, read from the kernel.
    static func list(in namespace: String) throws -> [Drop] {
        let listing = try nft(namespace, ["list", "chain", "inet", "crml", "out"], tolerate: true)
        return listing.split(separator: "\n").compactMap { line -> Drop? in
            guard let c = line.range(of: "comment \"crml drop ") else { return nil }
            let peer = String(line[c.upperBound...].prefix { $0 != "\"" })
            var fraction = 1.0
            if let n = line.range(of: "mod 10000 < ") {
                fraction = Double(Int(line[n.upperBound...].prefix { $0.isNumber }) ?? 0) / 10000
            }
            return Drop(peer: peer, fraction: fraction)
        }
    }
}
