import ClusterConfig
import Foundation
import Processes

/// Link faults applied by the kernel, for clusters on network namespaces: nftables rules on
/// the host, in the bridge's forward path, drop all (a partition) or a random fraction (loss)
/// of the packets one account's address sends to another's. Dropped packets vanish: no reset,
/// no error to the sender (a connect just goes unanswered). The rules are the record: `list`
/// reads them back from the kernel. Delay, duplication and reordering would need `tc netem`,
/// which kernels without the sch_netem module lack; those stay inside the nodes.
///
/// What the kernel drops are packets, not messages: a cut A → B also stops the acknowledgements
/// of B → A's connections, and a loss makes TCP resend, so it shows as delay.
enum KernelFaults {
    static let nftCommand: String? = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// nftables' `nft`, or a failure saying it is missing.
    static func requireNFT() throws -> String {
        guard let nft = nftCommand else {
            throw CommandFailure(code: .failed, message: "kernel faults need nftables' nft (Debian's nftables package); it is not installed")
        }
        return nft
    }

    /// A fault on one direction of one link, as the kernel holds it.
    struct Drop: Equatable {
        var from: String
        var to: String
        var fraction: Double
    }

    static func table(_ n: ClusterFile.Netns) -> String { "crml-\(n.id)" }

    /// Runs `nft ARGS` on the host.
    @discardableResult
    static func nft(_ args: [String], tolerate: Bool = false) throws -> String {
        let r = try Spawn.run(try requireNFT(), args, timeout: 20)
        if r.exitCode != 0 && !tolerate {
            throw CommandFailure(code: .failed, message: "nft \(args.joined(separator: " ")) failed: \(String(decoding: r.stderr, as: UTF8.self))")
        }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    static func comment(_ from: String, _ to: String) -> String { "crml drop \(from) \(to)" }

    /// Drops `fraction` (0 to 1) of the packets from `from` (address `fromAddress`) to `to`,
    /// replacing what was set for that direction, in one transaction; 0 removes it.
    static func setDrop(_ n: ClusterFile.Netns, from: String, fromAddress: String, to: String, toAddress: String, fraction: Double) throws {
        let t = table(n)
        var script = "add table bridge \(t)\nadd chain bridge \(t) forward { type filter hook forward priority 0 ; }\n"
        script += handles(n, from: from, to: to).map { "delete rule bridge \(t) forward handle \($0)\n" }.joined()
        let tenThousandths = Int((fraction * 10000).rounded())
        if tenThousandths > 0 {
            script += "add rule bridge \(t) forward ip saddr \(fromAddress) ip daddr \(toAddress)"
            if tenThousandths < 10000 { script += " numgen random mod 10000 < \(tenThousandths)" }
            script += " drop comment \"\(comment(from, to))\"\n"
        }
        try apply(script)
    }

    /// Feeds `script` to `nft -f -`: all of it happens, or none.
    static func apply(_ script: String) throws {
        let r = try Spawn.run(try requireNFT(), ["-f", "-"], stdin: Array(script.utf8), timeout: 20)
        guard r.exitCode == 0 else { throw CommandFailure(code: .failed, message: "nft could not apply the fault: \(String(decoding: r.stderr, as: UTF8.self))") }
    }

    /// The handles of the rules for one direction.
    static func handles(_ n: ClusterFile.Netns, from: String, to: String) -> [String] {
        let listing = (try? nft(["-a", "list", "chain", "bridge", table(n), "forward"], tolerate: true)) ?? ""
        return listing.split(separator: "\n").filter { $0.contains("\"\(comment(from, to))\"") }.compactMap { line in
            line.components(separatedBy: "# handle ").last.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { Int($0) != nil ? $0 : nil }
        }
    }

    /// Removes the drops between `a` and `b`, both ways (every drop of the cluster when nil).
    static func heal(_ n: ClusterFile.Netns, between pair: (String, String)?) throws {
        guard nftCommand != nil else { return }
        guard let (a, b) = pair else {
            try nft(["delete", "table", "bridge", table(n)], tolerate: true)
            return
        }
        let script = (handles(n, from: a, to: b) + handles(n, from: b, to: a)).map { "delete rule bridge \(table(n)) forward handle \($0)\n" }.joined()
        if !script.isEmpty { try apply(script) }
    }

    /// The drops the kernel applies now.
    static func list(_ n: ClusterFile.Netns) throws -> [Drop] {
        guard nftCommand != nil else { return [] }
        let listing = try nft(["list", "chain", "bridge", table(n), "forward"], tolerate: true)
        return listing.split(separator: "\n").compactMap { line -> Drop? in
            guard let c = line.range(of: "comment \"crml drop ") else { return nil }
            let ids = line[c.upperBound...].prefix { $0 != "\"" }.split(separator: " ")
            guard ids.count == 2 else { return nil }
            var fraction = 1.0
            if let m = line.range(of: "mod 10000 < ") { fraction = Double(Int(line[m.upperBound...].prefix { $0.isNumber }) ?? 0) / 10000 }
            return Drop(from: String(ids[0]), to: String(ids[1]), fraction: fraction)
        }
    }
}
