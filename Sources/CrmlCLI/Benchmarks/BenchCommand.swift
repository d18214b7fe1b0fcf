import Foundation

/// `crml bench …`: benchmarks that print figures (build with `-c release` for real numbers).
enum BenchCommand {
    static var group: CommandGroup {
        CommandGroup(command: "crml bench", summary: "Build in release mode for meaningful figures: swift build -c release, then .build/release/crml bench …; scripts/bench.sh runs them all.", subcommands: [
            ("policy", PolicyBenchmark.spec, "decisions per second of the policy engine (the seed's resource policy and a 20-statement identity policy)"),
            ("node", NodeBenchmark.spec, "round trips to a node process (reads, durable writes, loaded cases) beside a raw loopback round trip"),
            ("lookalike", LookalikeBenchmark.spec, "training and generation time, quality, peak memory"),
            ("cross-account", CrossAccountBenchmark.spec, "starts on another account's CAM per second, and delete propagation"),
            ("accounts", AccountsBenchmark.spec, "a hundred accounts: time to ready, memory, starts between random pairs, delete propagation"),
            ("json", JSONBenchmark.spec, "the JSON parser and writer on a read's request and answer lines"),
            ("http", HTTPBenchmark.spec, "a SigV4-signed read over the HTTP front beside the same read over JSON-RPC"),
            ("sim", SimBenchmark.spec, "simulated seconds per wall second, seeds per minute, seeds until each broken mode is caught"),
        ])
    }

    static func run(_ args: [String]) throws -> ExitCode {
        try group.run(args) { sub, rest in
            switch sub {
            case "policy": return try PolicyBenchmark.run(rest)
            case "node": return try NodeBenchmark.run(rest)
            case "lookalike": return try LookalikeBenchmark.run(rest)
            case "cross-account": return try CrossAccountBenchmark.run(rest)
            case "accounts": return try AccountsBenchmark.run(rest)
            case "sim": return try SimBenchmark.run(rest)
            case "http": return try HTTPBenchmark.run(rest)
            default: return try JSONBenchmark.run(rest)
            }
        }
    }
}

/// Wall-clock helpers for benchmarks.
enum Stopwatch {
    static func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
