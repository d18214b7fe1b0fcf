import ClusterConfig
import CleanRoomsModel
import Foundation
import JSON
import Lookalike
import Wire

/// `crml demo`: the project's main job on a built-in default. Starts a temporary three-account
/// cluster, walks through the accounts' story step by step, and for each step prints the
/// requirement it shows, what it expected and what it saw. Exits 1 if anything differed.
enum DemoCommand {
    static let spec = CommandSpec(
        command: "crml demo",
        summary: """
            Starts a temporary three-account cluster (or uses --dir), loads the sample data (the set in
            seeds/data/sample, generated here), and walks through the seed's story step by step: B trains a
            lookalike model and shares it with A through a resource policy; A starts a job on it; both accounts see
            the job under their own ARN; B never sees A's seed; calls through the other account's ARN fail; tags
            and audit events land where they belong; A exports; B denies everything and A's delete still lands; a
            delete while B's node is down completes when it returns. Each step prints its requirement id, what it
            expected and what it saw; the exit code is 1 if any step differed.
            """,
        options: [ClusterCommand.dirOption], flags: [("keep", "leave the cluster running afterwards (with --dir)")])

    /// One step's outcome.
    struct Outcome {
        var saw: String
        var ok: Bool
    }

    final class Run {
        var number = 0
        var failures = 0

        func step(_ ids: String, _ title: String, expected: String, _ body: () throws -> Outcome) {
            number += 1
            let outcome: Outcome
            do { outcome = try body() } catch { outcome = Outcome(saw: "\(error)", ok: false) }
            if !outcome.ok { failures += 1 }
            Console.out("""
                step \(number) [\(ids)] \(title)
                  expected: \(expected)
                  saw:      \(outcome.saw)
                  \(outcome.ok ? "ok" : "DIFFERENT")


                """)
        }
    }

    static func run(_ args: [String]) throws -> ExitCode {
        guard let parsed = try spec.parse(args) else { return .ok }
        let temporary = parsed.value("dir") == nil
        let dir = temporary ? ClusterDirectory(path: NSTemporaryDirectory() + "crml-demo-\(getpid())") : ClusterDirectory.resolve(parsed)
        let ids = ClusterCommand.defaultIDs(3)
        Console.out("crml demo: three accounts in \(dir.path)\n\n")
        // Set before the launch: a launch that fails half-way stops what it started and a
        // temporary directory goes too.
        defer {
            if temporary || !parsed.has("keep") {
                try? ClusterCommand.stopAll(dir)
                if temporary { try? FileManager.default.removeItem(atPath: dir.path) }
            }
        }
        let cluster = try ClusterCommand.launch(dir, ids: ids)
        let run = Run()
        try story(run, cluster: cluster, dir: dir)
        Console.out(run.failures == 0 ? "demo passed: \(run.number) steps, all as expected\n" : "demo FAILED: \(run.failures) of \(run.number) steps differed\n")
        return run.failures == 0 ? .ok : .failed
    }

    static func client(_ a: ClusterFile.Account, key: String? = nil, secret: String? = nil) throws -> RPCClient {
        // `restart` keeps the port, so an account's endpoint never changes during the demo.
        do {
            return try RPCClient.connect(host: a.host, port: UInt16(clamping: a.port),
                                         credentials: .accessKey(key ?? a.admin.accessKeyId, secret: secret ?? a.admin.secretAccessKey), readerThread: false)
        } catch { throw NodeConnection.failure(error, operation: "connect", endpoint: "\(a.host):\(a.port)") }
    }

    /// The error type a call failed with, or nil if it succeeded.
    static func errorType(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch RPCCallError.service(let e) { return e.type } catch { return "\(error)" }
    }

    /// The sample data (the same as `seeds/data/sample`, generated here so the demo runs from
    /// anywhere).
    static func sampleData() -> SyntheticData.Files {
        var o = SyntheticData.Options()
        (o.users, o.items, o.interactions, o.groups, o.seed, o.seedUsers) = (3000, 600, 45_000, 8, 7, 120)
        return SyntheticData.generate(o)
    }

    /// Calls until `status` is one of `done` or 60 s pass; returns the last answer.
    static func poll(_ c: RPCClient, _ method: String, _ params: JSON, path: String = "status", done: Set<String> = ["ACTIVE", "CREATE_FAILED"]) throws -> JSON {
        let deadline = Date().addingTimeInterval(60)
        var last = try c.call(method, params)
        while !done.contains((try? CallCommand.query(last, path))?.stringValue ?? ""), Date() < deadline {
            usleep(50_000)  // polling a status, with the deadline above
            last = try c.call(method, params)
        }
        return last
    }
}
