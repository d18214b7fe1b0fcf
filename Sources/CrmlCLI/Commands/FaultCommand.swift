import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Wire

/// `crml fault …`: link faults and failpoints on a running cluster, through each node's `admin.`
/// fault methods. Link faults are set on the sending node for one peer, so every fault has a
/// direction; the commands set both directions unless told `--one-way`.
enum FaultCommand {
    static let help = """
        usage: crml fault partition A B [--one-way]          cut the link (both ways, or only A → B)
               crml fault loss A B FRACTION [--one-way]       drop that fraction of messages
               crml fault delay A B DURATION [--jitter DURATION] [--one-way]
                                                              delay messages (e.g. 50ms, 1.5s, 200us)
               crml fault duplicate A B FRACTION [--one-way]  send that fraction of messages twice
               crml fault reorder A B FRACTION [--one-way]    hold that fraction back behind the next message
               crml fault heal [A B]                          clear link faults (between A and B, or all)
               crml fault list                                the link faults and armed failpoints of every node
               crml fault failpoint ACCOUNT NAME              crash ACCOUNT's node the next time it passes NAME
               crml fault failpoints                          the failpoint names, and which are armed where

        A and B are account ids of the cluster in --dir (or CRML_DIR, default ./.crml). Faults act on
        what a node sends to a peer, requests and answers alike; several can be combined on one link
        (each command sets its own kind and leaves the others). Failpoints: \(failpointNames.joined(separator: ", ")).
        Process faults are `crml cluster kill|pause|resume|restart ACCOUNT`.

        """

    static let failpointNames = Failpoints.names

    static let spec = CommandSpec(usage: "crml fault SUBCOMMAND …", summary: help,
                                  options: [ClusterCommand.dirOption, ("jitter", "with delay: up to this much more or less, uniformly")],
                                  flags: [("one-way", "only the direction from the first account to the second")])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        guard let sub = parsed.positional.first else { throw CommandFailure.usage(help) }
        let rest = Array(parsed.positional.dropFirst())
        let dir = ClusterDirectory.resolve(parsed)
        let cluster = try dir.load()
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
        /// Sets `fault` on A for B, and on B for A unless one-way.
        func link(_ fault: JSON, what: String) throws -> ExitCode {
            guard rest.count >= 2 else { throw CommandFailure.usage("crml fault \(sub) needs two accounts\n\n\(help)") }
            let a = try account(rest[0]), b = try account(rest[1])
            guard a.id != b.id else { throw CommandFailure.usage("crml fault \(sub): the two accounts must differ") }
            var pairs = [(a, b)]
            if !parsed.has("one-way") { pairs.append((b, a)) }
            for (from, to) in pairs {
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
            return try link(["drop": 1], what: "cut")
        case "loss":
            let f = try fraction(2)
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
                _ = try call(a, "admin.HealLinks", ["peer": .string(b.id.rawValue)])
                _ = try call(b, "admin.HealLinks", ["peer": .string(a.id.rawValue)])
                Console.out("\(a.id) ↔ \(b.id): healed\n")
            } else {
                for a in cluster.accounts where a.pid != nil {
                    _ = try call(a, "admin.HealLinks")
                }
                Console.out("all links healed\n")
            }
            return .ok
        case "list":
            var rows = [["FROM", "TO", "FAULTS"]]
            var armed: [String] = []
            for a in cluster.accounts where a.pid != nil {
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
            for a in cluster.accounts where a.pid != nil {
                for name in (try? call(a, "admin.ListFaults"))?["failpoints"]?.arrayValue ?? [] { armedBy[name.stringValue ?? "", default: []].append(a.id.rawValue) }
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
