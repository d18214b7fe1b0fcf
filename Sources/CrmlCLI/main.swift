import Foundation
import NodeCommand

/// `crml`: the project's one command-line tool. Each subcommand lives in `Commands/`.
let topLevelHelp = """
    usage: crml COMMAND [ARGS...]

    commands:
      demo              the main job: a temporary three-account cluster walked through its story
      cluster           start, inspect, stop and fault a local cluster of account nodes
      call              call one API method on a node (service.Operation)
      fault             cut, slow, drop, duplicate or reorder traffic between accounts; arm failpoints
      check             a workload under faults, recorded as a history, and the checker's verdict on it
      sim               the same campaign on simulated time: thousands of seeds, replay, shrink
      data              generate interaction data with planted groups; upload big CSV files in parts
      policy simulate   evaluate IAM policies offline (SimulateCustomPolicy shape)
      bench             benchmarks (policy engine, node round trips, lookalike, cross-account)
      node              run one account's node in the foreground (what crml-node runs)

    Run `crml COMMAND --help` for a command's options; `crml --version` prints the version.

    """

func runCrml(_ args: [String]) -> ExitCode {
    do {
        guard let command = args.first else {
            Console.err(topLevelHelp)
            return .usage
        }
        let rest = Array(args.dropFirst())
        switch command {
        case "demo": return try DemoCommand.run(rest)
        case "cluster": return try ClusterCommand.run(rest)
        case "call": return try CallCommand.run(rest)
        case "fault": return try FaultCommand.run(rest)
        case "check": return try CheckCommand.run(rest)
        case "sim": return try SimCommand.run(rest)
        case "data": return try DataCommand.run(rest)
        case "policy": return try PolicyCommand.run(rest)
        case "bench": return try BenchCommand.run(rest)
        case "node": NodeCommand.main(rest)
        case "--help", "-h", "help":
            Console.out(topLevelHelp)
            return .ok
        case "--version", "version":
            Console.out(CrmlVersion.line + "\n")
            return .ok
        default:
            throw CommandFailure.usage("unknown command \"\(command)\"\n\n\(topLevelHelp)")
        }
    } catch let f as CommandFailure {
        Console.err(f.message)
        return f.code
    } catch {
        Console.err("crml: \(error)")
        return .failed
    }
}

exit(runCrml(Array(CommandLine.arguments.dropFirst())).rawValue)
