import Campaign
import Foundation
import Simulation
import Synchronization

/// `crml bench sim`: how fast the simulator runs and how soon it catches a broken node.
enum SimBenchmark {
    static let spec = CommandSpec(command: "crml bench sim", summary: """
        Three figures of the simulator (build with -c release):
          speed      simulated seconds per wall second: 3 accounts, 20 operations/s, every fault kind, one thread
          seeds      seeds per minute for 60-simulated-second seeds, in --jobs threads (swarm worlds)
          catch      for each deliberately broken mode, the seeds (in order from 1) and wall seconds until the first
                     invalid run
        """, options: [("cases", "comma-separated: speed, seeds, catch (default all)"),
                       ("seeds", "seeds for the speed and seeds cases (default 20 and 100)"),
                       ("jobs", "threads for the seeds case (default: the number of cores)")])

    static func run(_ args: [String]) throws -> ExitCode {
        guard let p = try spec.parse(args) else { return .ok }
        let cases = (p.value("cases") ?? "speed,seeds,catch").split(separator: ",").map(String.init)
        for c in cases where !["speed", "seeds", "catch"].contains(c) { throw CommandFailure.usage("unknown case \(c); known: speed, seeds, catch") }
        let jobs = try p.int("jobs", default: ProcessInfo.processInfo.activeProcessorCount)
        if cases.contains("speed") {
            let n = try p.int("seeds", default: 20)
            var simulated = 0.0
            let start = Date()
            for seed in 1...UInt64(max(1, n)) {
                var o = SimOptions(seed: seed)
                o.swarm = false
                simulated += SimWorld(options: o).run().simulatedSeconds
            }
            let wall = Date().timeIntervalSince(start)
            Console.out(String(format: "speed: %.0f simulated s per wall s (%d seeds of 60 s, 3 accounts, 20 operations/s, every fault kind, one thread; %.0f simulated s in %.1f s)\n",
                               simulated / wall, n, simulated, wall))
        }
        if cases.contains("seeds") {
            let n = try p.int("seeds", default: 100)
            let next = Atomic<Int>(0)
            let start = Date()
            let finished = DispatchSemaphore(value: 0)
            for _ in 0..<max(1, jobs) {
                Thread {
                    while true {
                        let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard k < n else { break }
                        _ = SimWorld(options: SimOptions(seed: UInt64(1 + k))).run()
                    }
                    finished.signal()
                }.start()
            }
            for _ in 0..<max(1, jobs) { finished.wait() }
            let wall = Date().timeIntervalSince(start)
            Console.out(String(format: "seeds: %.0f seeds per minute (%d seeds of 60 simulated s in %.1f s, %d threads)\n", Double(n) / wall * 60, n, wall, jobs))
        }
        if cases.contains("catch") {
            for mode in ["no-tombstones", "drop-outbox"] {
                let start = Date()
                var caught: (UInt64, String)?
                for seed in UInt64(1)...1000 {
                    var o = SimOptions(seed: seed)
                    o.breaks = [mode]
                    let r = SimWorld(options: o).run()
                    if r.verdict == .invalid {
                        caught = (seed, r.broken.first ?? "")
                        break
                    }
                }
                let wall = Date().timeIntervalSince(start)
                if let (seed, invariant) = caught {
                    Console.out(String(format: "catch %@: first caught at seed %d (%d seeds, %.1f s, one thread; broken: %@)\n", mode, seed, seed, wall, invariant))
                } else {
                    Console.out(String(format: "catch %@: not caught in 1000 seeds (%.1f s)\n", mode, wall))
                }
            }
        }
        return .ok
    }
}
