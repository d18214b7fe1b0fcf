import Campaign

/// Shrinks a failing schedule: removes operations and faults (delta debugging: halves, then
/// quarters, … down to single entries, and again while anything goes) as long as the run
/// still breaks the same invariant. Every trial is a whole simulated run of the smaller
/// schedule, so what remains is a schedule that fails on its own.
public struct Shrinker {
    public struct Outcome: Sendable {
        /// The smallest failing schedule found, and its run.
        public var schedule: Schedule
        public var run: SimRun
        /// Runs tried (the first is the original schedule).
        public var trials: Int
        /// The invariant that kept breaking.
        public var invariant: String
        /// False when the trial budget ran out before no single entry could be removed.
        public var minimal: Bool
    }

    public enum Failure: Error, CustomStringConvertible {
        /// The schedule's run breaks no invariant.
        case valid
        /// Replaying the schedule did not break what the seed's run broke.
        case notReproduced(expected: String, got: [String])

        public var description: String {
            switch self {
            case .valid: return "the run is valid: there is nothing to shrink"
            case .notReproduced(let expected, let got):
                return "replaying the schedule did not break \(expected) again (broken: \(got.isEmpty ? "nothing" : got.joined(separator: ", ")))"
            }
        }
    }

    public var maxTrials: Int
    /// Called after each trial with (trials so far, entries left).
    public var progress: (Int, Int) -> Void

    public init(maxTrials: Int = 400, progress: @escaping (Int, Int) -> Void = { _, _ in }) {
        self.maxTrials = maxTrials
        self.progress = progress
    }

    /// Shrinks `schedule`, which must break `invariant` (nil: the first invariant its run breaks).
    public func shrink(_ original: Schedule, invariant: String? = nil) throws(Failure) -> Outcome {
        let first = SimWorld(options: original.options, schedule: original).run()
        guard let target = invariant ?? first.broken.first else { throw .valid }
        guard first.broken.contains(target) else { throw .notReproduced(expected: target, got: first.broken) }
        // Entries: operations first (by their position), then faults.
        enum Entry { case op(Schedule.Op), fault(Fault) }
        func schedule(of entries: [Entry]) -> Schedule {
            var s = original
            s.ops = entries.compactMap { if case .op(let o) = $0 { return o } else { return nil } }
            s.faults = entries.compactMap { if case .fault(let f) = $0 { return f } else { return nil } }
            return s
        }
        var kept: [Entry] = original.ops.map(Entry.op) + original.faults.map(Entry.fault)
        var best = first
        var trials = 1
        var chunk = max(1, kept.count / 2)
        var minimal = false
        search: while true {
            var removed = false
            var i = 0
            while i < kept.count {
                guard trials < maxTrials else { break search }
                var candidate = kept
                candidate.removeSubrange(i..<min(kept.count, i + chunk))
                let run = SimWorld(options: original.options, schedule: schedule(of: candidate)).run()
                trials += 1
                if run.broken.contains(target) {
                    kept = candidate
                    best = run
                    removed = true
                } else {
                    i += chunk
                }
                progress(trials, kept.count)
            }
            if chunk == 1 && !removed {
                minimal = true
                break
            }
            chunk = max(1, removed && chunk == 1 ? 1 : chunk / 2)
        }
        return Outcome(schedule: schedule(of: kept), run: best, trials: trials, invariant: target, minimal: minimal)
    }
}
