import AccountNode
import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Wire

/// `crml fault …`: link faults and failpoints on a running cluster, through each node's `admin.`
/// fault methods. Link faults are set on the sending node for one peer, so every fault has a
/// direction; the commands set both directions unless told `--one-way`.
enum FaultCommand {
    static let failpointNames = Failpoint.names

    static let about = """
        A and B are account ids of the cluster in --dir. Faults act on
        what a node sends to a peer, requests and answers alike; several can be combined on one link
        (each command sets its own kind and leaves the others). Process faults are
        `crml cluster kill|pause|resume|restart ACCOUNT`.
        """

    static let oneWay = ("one-way", "only the direction from the first account to the second")

    static func linkSpec(_ name: String, _ arguments: String, _ what: String, options: [(name: String, help: String)] = []) -> CommandSpec {
        CommandSpec(command: "crml fault \(name)", arguments: arguments, summary: what + "\n\n" + about, options: options + [ClusterCommand.dirOption], flags: [oneWay])
    }

    static var group: CommandGroup {
        CommandGroup(command: "crml fault", summary: about, subcommands: [
            ("partition", linkSpec("partition", "A B", "Cuts the link between A and B (both ways, or only A → B). On a --hosts netns cluster the kernel drops the packets (a one-way cut then also stops B's connections to A: their acknowledgements are dropped)."), "cut the link"),
            ("loss", linkSpec("loss", "A B FRACTION", "Drops that fraction (0 to 1) of the messages between A and B (on a --hosts netns cluster, of the packets: TCP resends them, so it shows as delay)."), "drop a fraction of messages"),
            ("delay", linkSpec("delay", "A B DURATION", "Delays the messages between A and B by DURATION (50ms, 1.5s, 200us).",
                               options: [("jitter", "up to this much more or less, uniformly (a duration; default 0)")]), "delay messages"),
            ("duplicate", linkSpec("duplicate", "A B FRACTION", "Sends that fraction (0 to 1) of the messages between A and B twice."), "send a fraction of messages twice"),
            ("reorder", linkSpec("reorder", "A B FRACTION", "Holds that fraction (0 to 1) of the messages between A and B back behind the next one."), "hold a fraction of messages back"),
            ("heal", CommandSpec(command: "crml fault heal", arguments: "[A B]", summary: "Clears the link faults between A and B, or all of them.", options: [ClusterCommand.dirOption]), "clear link faults"),
            ("list", CommandSpec(command: "crml fault list", summary: "Shows the link faults and armed failpoints of every node; fails (255) if a node cannot be asked.", options: [ClusterCommand.dirOption]), "the link faults and armed failpoints of every node"),
            ("failpoint", CommandSpec(command: "crml fault failpoint", arguments: "ACCOUNT NAME",
                                      summary: "Crashes ACCOUNT's node (exit 86) the next time it passes NAME: \(failpointNames.joined(separator: ", ")).", options: [ClusterCommand.dirOption]),
             "arm a failpoint"),
            ("failpoints", CommandSpec(command: "crml fault failpoints", summary: "Lists the failpoint names, and which are armed where.", options: [ClusterCommand.dirOption]), "the failpoints, and where they are armed"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        let g = group
        return try g.run(args) { sub, rest in try run(sub, rest, spec: g.subcommands.first { $0.name == sub }!.spec) }
    }

    static func run(_ sub: String, _ args: [String], spec: CommandSpec) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let rest = parsed.positional
        let help = spec.helpText
        let dir = ClusterDirectory.resolve(parsed)
        let cluster = try dir.load()
        /// Every account's node, refusing (255) if one is down: a fault command that could not
        /// ask every node would give a partial answer.
        func allNodes() throws -> [ClusterFile.Account] {
            for a in cluster.accounts where !(a.pid.map(ProcessControl.isAlive) ?? false) {
                throw CommandFailure(code: .connection, message: "account \(a.id)'s node is not running (start it with `crml cluster up --dir \(dir.path)`)")
            }
            return cluster.accounts
        }
        func account(_ text: String) throws -> ClusterFile.Account {
            guard let id = AccountID(text), let a = cluster.account(id) else {
                throw CommandFailure.usage("\(text) is not an account of the cluster in \(dir.path) (accounts: \(cluster.accounts.map(\.id.rawValue).joined(separator: ", ")))")
            }
            return a
        }
        func call(_ a: ClusterFile.Account, _ method: String, _ params: JSON = [:]) throws -> JSON {
            let client: RPCClient
            do { client = try dir.adminClient(cluster, a, readerThread: false) } catch {
                throw NodeConnection.failure(error, operation: "connect", endpoint: "\(a.host):\(a.port)")
            }
            defer { client.close() }
            do { return try client.call(method, params) } catch { throw NodeConnection.failure(error, operation: method, endpoint: "\(a.host):\(a.port)") }
        }
        /// The directions a link command acts on: A → B, and B → A unless one-way.
        func directions() throws -> [(ClusterFile.Account, ClusterFile.Account)] {
            guard rest.count >= 2 else { throw CommandFailure.usage("crml fault \(sub) needs two accounts\n\n\(help)") }
            let a = try account(rest[0]), b = try account(rest[1])
            guard a.id != b.id else { throw CommandFailure.usage("crml fault \(sub): the two accounts must differ") }
            return parsed.has("one-way") ? [(a, b)] : [(a, b), (b, a)]
        }
        /// On namespaces, a partition or a loss is the kernel's: the bridge drops A's packets to B.
        func kernelDrop(_ n: ClusterFile.Netns, _ fraction: Double, what: String) throws -> ExitCode {
            for (from, to) in try directions() {
                try KernelFaults.setDrop(n, from: from.id.rawValue, fromAddress: from.host, to: to.id.rawValue, toAddress: to.host, fraction: fraction)
                Console.out("\(from.id) → \(to.id): \(what) (in the kernel: nftables table bridge \(KernelFaults.table(n)))\n")
            }
            return .ok
        }
        /// Sets `fault` on A for B, and on B for A unless one-way.
        func link(_ fault: JSON, what: String) throws -> ExitCode {
            for (from, to) in try directions() {
                var params = fault
                params["peer"] = .string(to.id.rawValue)
                _ = try call(from, "admin.SetLinkFault", params)
                Console.out("\(from.id) → \(to.id): \(what)\n")
            }
            return .ok
        }
        func fraction(_ index: Int) throws -> Double {
            guard rest.count > index, let f = Double(rest[index]), f >= 0, f <= 1 else {
                throw CommandFailure.usage("crml fault \(sub) needs a FRACTION from 0 to 1\n\n\(help)")
            }
            return f
        }

        switch sub {
        case "partition":
            if let n = cluster.netns { return try kernelDrop(n, 1, what: "cut") }
            return try link(["drop": 1], what: "cut")
        case "loss":
            let f = try fraction(2)
            if let n = cluster.netns { return try kernelDrop(n, f, what: "drop \(f) of the packets") }
            return try link(["drop": .number(f)], what: "drop \(f)")
        case "duplicate":
            let f = try fraction(2)
            return try link(["duplicate": .number(f)], what: "duplicate \(f)")
        case "reorder":
            let f = try fraction(2)
            return try link(["reorder": .number(f)], what: "reorder \(f)")
        case "delay":
            guard rest.count >= 3, let d = duration(rest[2]) else { throw CommandFailure.usage("crml fault delay needs a DURATION such as 50ms\n\n\(help)") }
            let jitter = try parsed.value("jitter").map { text -> Double in
                guard let j = duration(text) else { throw CommandFailure.usage("--jitter takes a duration such as 10ms, got \"\(text)\"") }
                return j
            } ?? 0
            return try link(["delay": .number(d), "jitter": .number(jitter)], what: "delay \(rest[2])" + (jitter > 0 ? " ± \(parsed.value("jitter")!)" : ""))
        case "heal":
            if rest.count >= 2 {
                let a = try account(rest[0]), b = try account(rest[1])
                if let n = cluster.netns { try KernelFaults.heal(n, between: (a.id.rawValue, b.id.rawValue)) }
                _ = try call(a, "admin.HealLinks", ["peer": .string(b.id.rawValue)])
                _ = try call(b, "admin.HealLinks", ["peer": .string(a.id.rawValue)])
                Console.out("\(a.id) ↔ \(b.id): healed\n")
            } else {
                let nodes = try allNodes()
                if let n = cluster.netns { try KernelFaults.heal(n, between: nil) }
                for a in nodes {
                    _ = try call(a, "admin.HealLinks")
                }
                Console.out("all links healed\n")
            }
            return .ok
        case "list":
            var rows = [["FROM", "TO", "FAULTS"]]
            var armed: [String] = []
            if let n = cluster.netns {
                for d in try KernelFaults.list(n).sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }) {
                    rows.append([d.from, d.to, d.fraction >= 1 ? "cut (kernel)" : "drop \(format("drop", d.fraction)) of the packets (kernel)"])
                }
            }
            for a in try allNodes() {
                let faults = try call(a, "admin.ListFaults")
                for (peer, f) in (faults["links"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    let parts = (f.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.key, $0.value.numberValue ?? 0))" }
                    rows.append([a.id.rawValue, peer, parts.joined(separator: ", ")])
                }
                for name in faults["failpoints"]?.arrayValue ?? [] { armed.append("\(a.id): \(name.stringValue ?? "")") }
            }
            if rows.count == 1 { Console.out("no link faults\n") } else { Console.table(rows) }
            Console.out(armed.isEmpty ? "no failpoints armed\n" : "failpoints armed: \(armed.joined(separator: "; "))\n")
            return .ok
        case "failpoint":
            guard rest.count >= 2 else { throw CommandFailure.usage("crml fault failpoint needs ACCOUNT and NAME\n\n\(help)") }
            let a = try account(rest[0])
            guard failpointNames.contains(rest[1]) else { throw CommandFailure.usage("unknown failpoint \(rest[1]); known: \(failpointNames.joined(separator: ", "))") }
            _ = try call(a, "admin.ArmFailpoint", ["name": .string(rest[1])])
            Console.out("\(a.id): \(rest[1]) armed (the node exits with code 86 the next time it passes it)\n")
            return .ok
        case "failpoints":
            var armedBy: [String: [String]] = [:]
            for a in try allNodes() {
                for name in try call(a, "admin.ListFaults")["failpoints"]?.arrayValue ?? [] { armedBy[name.stringValue ?? "", default: []].append(a.id.rawValue) }
            }
            var rows = [["FAILPOINT", "ARMED ON"]]
            for name in failpointNames { rows.append([name, armedBy[name]?.joined(separator: ", ") ?? "-"]) }
            Console.table(rows)
            return .ok
        default:
            throw CommandFailure.usage("unknown fault \"\(sub)\"\n\n\(help)")
        }
    }

    /// `50ms`, `1.5s`, `200us`, `200µs` → seconds.
    static func duration(_ text: String) -> Double? {
        for (suffix, scale) in [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1.0)] where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v >= 0, v * scale <= 60 else { return nil }
            return v * scale
        }
        return nil
    }

    static func format(_ kind: String, _ value: Double) -> String {
        kind == "delay" || kind == "jitter" ? String(format: "%.0f ms", value * 1000) : String(format: "%g", value)
    }
}
