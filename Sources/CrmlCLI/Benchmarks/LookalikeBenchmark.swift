#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lookalike

/// `crml bench lookalike`: training time on a million interactions and generation time for a
/// 1,000-user seed, with peak memory.
enum LookalikeBenchmark {
    static let spec = CommandSpec(
        command: "crml bench lookalike",
        summary: "Generates data in memory, trains a model, generates an audience for a seed, and prints times, quality and peak memory.",
        options: [("users", "users (default 100000)"), ("items", "items (default 10000)"), ("interactions", "interactions (default 1000000)"),
                  ("groups", "planted groups (default 20)"), ("seed-users", "seed audience size (default 1000)")])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        var o = SyntheticData.Options()
        o.users = try parsed.int("users", default: 100_000)
        o.items = try parsed.int("items", default: 10_000)
        o.interactions = try parsed.int("interactions", default: 1_000_000)
        o.groups = try parsed.int("groups", default: 20)
        o.seedUsers = try parsed.int("seed-users", default: 1000)
        let files = SyntheticData.generate(o)
        Console.out("lookalike benchmark: \(o.users) users, \(o.items) items, \(o.interactions) interactions, \(o.groups) groups\n")

        var t = Stopwatch.nanos()
        var data = Interactions()
        try data.load(csv: files.interactions, source: "generated", schema: InteractionSchema(userColumn: "user_id", itemColumn: "item_id", timestampColumn: "timestamp"))
        let parse = Double(Stopwatch.nanos() - t) / 1e9
        t = Stopwatch.nanos()
        let model = Trainer.train(data)
        let train = Double(Stopwatch.nanos() - t) / 1e9
        Console.out(String(format: "  training: %.2f s (CSV %.1f MB parsed in %.2f s, factorization %.2f s), %d users x %d dimensions\n",
                           parse + train, Double(files.interactions.count) / 1e6, parse, train, model.userCount, model.dimensions))

        let seed = files.seedUsers.map(SyntheticData.userID)
        let group = (0..<o.users).filter { files.groupOf[$0] == 0 }.map(SyntheticData.userID).filter { model.userIndex[$0] != nil }
        t = Stopwatch.nanos()
        let result = try AudienceGenerator.generate(model, .init(seedUserIDs: seed, includeSeed: true, minMatchingSeedSize: 25,
                                                                 sizes: [group.count, 10_000, o.users / 5]))
        let gen = Double(Stopwatch.nanos() - t) / 1e9
        let groupSet = Set(group)
        let hits = result.ranked.prefix(group.count).filter { groupSet.contains($0.user) }.count
        Console.out(String(format: "  generation: %.3f s for a %d-user seed over %d users (includes the held-out recall pass)\n", gen, seed.count, model.userCount))
        Console.out(String(format: "  quality: recall of the planted group at audience size = group size (%d): %.3f (random: %.3f); held-out recall %.3f; relevance %@\n",
                           group.count, Double(hits) / Double(max(1, group.count)), Double(group.count) / Double(model.userCount), result.recall,
                           result.relevance.map { String(format: "%d:%.3f", $0.size, $0.score) }.joined(separator: " ")))
        Console.out("  peak memory (VmHWM): \(peakMemory())\n")
        return .ok
    }

    static func peakMemory() -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return "unknown" }
        return line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces)
    }
}
