import Campaign
import JSON

/// What a simulated run is asked to do: the same knobs as `crml check run`, in simulated
/// seconds, and the swarm settings a seed draws.
public struct SimOptions: Sendable {
    public var seed: UInt64
    public var accounts = 3
    /// Simulated seconds of workload.
    public var duration = 60.0
    /// Operations a second, in all.
    public var rate = 20.0
    public var concurrency = 6
    /// Fault kinds the nemesis may use (a seed's swarm picks some of them).
    public var nemesis: [String] = FaultSchedule.kinds
    public var nemesisInterval = 5.0
    /// Deliberately broken node modes (`no-tombstones`, `drop-outbox`).
    public var breaks: [String] = []
    /// Simulated seconds allowed for the cluster to settle after the faults end.
    public var converge = 30.0
    /// Each seed enables a random subset of the fault kinds and timing settings (swarm testing);
    /// off: every kind, the default timings.
    public var swarm = true
    /// Seconds a node waits for another before counting it unreachable.
    public var peerTimeout = 1.0
    /// How long nodes keep an acknowledged delete's tombstone (nil: the nodes' default, a day).
    public var tombstoneRetention: Double? = nil

    public init(seed: UInt64) { self.seed = seed }

    /// The parameters as `run.json` records them.
    public var json: JSON {
        // JSON numbers are doubles: a seed past 2^53 is written as a string, so it comes back exact.
        var j: JSON = ["seed": seed <= 1 << 53 ? .int(Int(seed)) : .string(String(seed)), "accounts": .int(accounts), "timeLimit": .number(duration), "rate": .number(rate),
         "concurrency": .int(concurrency), "nemesis": .array(nemesis.map { .string($0) }), "nemesisInterval": .number(nemesisInterval),
         "breaks": .array(breaks.map { .string($0) }), "peerTimeout": .number(peerTimeout), "converge": .number(converge),
         "swarm": .bool(swarm), "simulated": true]
        if let r = tombstoneRetention { j["tombstoneRetention"] = .number(r) }
        return j
    }

    public init?(json: JSON) {
        guard let seed = json["seed"]?.intValue.flatMap({ $0 >= 0 ? UInt64($0) : nil }) ?? json["seed"]?.stringValue.flatMap({ UInt64($0) }) else { return nil }
        self.seed = seed
        accounts = json["accounts"]?.intValue ?? accounts
        duration = json["timeLimit"]?.numberValue ?? duration
        rate = json["rate"]?.numberValue ?? rate
        concurrency = json["concurrency"]?.intValue ?? concurrency
        nemesis = json["nemesis"]?.arrayValue?.compactMap(\.stringValue) ?? nemesis
        nemesisInterval = json["nemesisInterval"]?.numberValue ?? nemesisInterval
        breaks = json["breaks"]?.arrayValue?.compactMap(\.stringValue) ?? []
        peerTimeout = json["peerTimeout"]?.numberValue ?? peerTimeout
        converge = json["converge"]?.numberValue ?? converge
        tombstoneRetention = json["tombstoneRetention"]?.numberValue
        swarm = json["swarm"]?.boolValue ?? swarm
    }
}

/// What one seed's swarm turns on: the fault kinds its nemesis uses and the timings of its
/// world (BUGGIFY-style: rare, hostile settings some seeds get and others do not). Printed
/// with the seed, so a failure says what world it happened in.
public struct Swarm: Sendable, Equatable {
    public var kinds: [String]
    /// A message's one-way latency between nodes: uniform in this range (seconds).
    public var latency: ClosedRange<Double>
    /// A sync of a node's disk: uniform in this range.
    public var diskSync: ClosedRange<Double>
    /// Per message, the chance that the connection breaks after it (messages in flight lost or
    /// delivered, the next one reconnects).
    public var connectionBreaks: Double
    /// Each node's clock is off by up to this much (seconds, either way).
    public var clockSkew: Double
    /// Work (training, a run, an export) takes a uniform time in this range.
    public var workTime: ClosedRange<Double>
    /// A crash keeps a random part of what was written but not synced (tearing the last record).
    public var tornWrites: Bool

    static func draw(_ options: SimOptions) -> Swarm {
        var r = ScheduleRandom(seed: options.seed, stream: 7_000)
        guard options.swarm else {
            return Swarm(kinds: options.nemesis, latency: 0.0002...0.002, diskSync: 0.0005...0.003, connectionBreaks: 0,
                         clockSkew: 0, workTime: 0.2...2, tornWrites: true)
        }
        var kinds = options.nemesis.filter { _ in r.chance(0.6) }
        if kinds.isEmpty && !options.nemesis.isEmpty { kinds = [r.pick(options.nemesis)] }
        let slowNetwork = r.chance(0.2), slowDisk = r.chance(0.2)
        return Swarm(kinds: kinds,
                     latency: slowNetwork ? 0.005...0.05 : 0.0002...0.002,
                     diskSync: slowDisk ? 0.01...0.08 : 0.0005...0.003,
                     connectionBreaks: r.chance(0.3) ? 0.01 : 0,
                     clockSkew: r.chance(0.3) ? 0.5 : 0,
                     workTime: r.chance(0.2) ? 2...8 : 0.2...2,
                     tornWrites: r.chance(0.7))
    }

    public var summary: String {
        func range(_ r: ClosedRange<Double>) -> String { "\(ms(r.lowerBound))–\(ms(r.upperBound))" }
        func ms(_ s: Double) -> String { s < 0.001 ? "\(Int((s * 1e6).rounded())) µs" : "\(Int((s * 1000).rounded())) ms" }
        return "faults \(kinds.isEmpty ? "none" : kinds.joined(separator: ",")); latency \(range(latency)); disk sync \(range(diskSync))"
            + (connectionBreaks > 0 ? "; connections break" : "") + (clockSkew > 0 ? "; clocks skewed ±\(clockSkew) s" : "")
            + "; work \(range(workTime))" + (tornWrites ? "; torn writes" : "")
    }

    public var json: JSON {
        ["kinds": .array(kinds.map { .string($0) }), "latency": [.number(latency.lowerBound), .number(latency.upperBound)],
         "diskSync": [.number(diskSync.lowerBound), .number(diskSync.upperBound)], "connectionBreaks": .number(connectionBreaks),
         "clockSkew": .number(clockSkew), "workTime": [.number(workTime.lowerBound), .number(workTime.upperBound)], "tornWrites": .bool(tornWrites)]
    }
}
