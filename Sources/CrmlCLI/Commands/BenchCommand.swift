import Foundation

/// `crml bench …`: benchmarks that print figures (build with `-c release` for real numbers).
enum BenchCommand {
    static let help = """
        usage: crml bench policy [--seconds S]
               crml bench node [--seconds S] [--connections N] [--dir DIR]
               crml bench lookalike [--users N] [--items N] [--interactions N]
               crml bench cross-account [--seconds S] [--connections N] [--deletes N]
               crml bench json [--seconds S]

        policy   decisions per second of the policy engine: the seed's resource policy plus a
                 20-statement identity policy, compiled once, evaluated on one thread.
        node     round trips to a node process (a read and a durable write, 1 and N connections),
                 beside a raw loopback TCP round trip.
        lookalike training time on a million interactions, generation time for a 1,000-user
                 seed, quality, peak memory.
        cross-account
                 starts on another account's CAM per second with p50/p99 (1 and N clients), and the
                 time from a delete acknowledged in A to the copy gone in B.
        json     the JSON parser and writer on a read's request line and its answer line.

        Build in release mode for meaningful figures: swift run -c release crml bench node

        """

    static func run(_ args: [String]) throws -> ExitCode {
        switch args.first {
        case "policy": return try PolicyBenchmark.run(Array(args.dropFirst()))
        case "node": return try NodeBenchmark.run(Array(args.dropFirst()))
        case "lookalike": return try LookalikeBenchmark.run(Array(args.dropFirst()))
        case "cross-account": return try CrossAccountBenchmark.run(Array(args.dropFirst()))
        case "json": return try JSONBenchmark.run(Array(args.dropFirst()))
        case "--help", "-h":
            Console.out(help)
            return .ok
        default:
            throw CommandFailure.usage(help)
        }
    }
}

/// Wall-clock helpers for benchmarks.
enum Stopwatch {
    static func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
