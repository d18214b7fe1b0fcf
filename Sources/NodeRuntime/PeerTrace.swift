import Foundation
import JSON

/// The newest peer messages this node sent and received, for the checker's message diagrams,
/// and how many it sent of each method (kept in memory; a restart starts afresh).
struct PeerTrace {
    struct Entry {
        var time: Double
        var inbound: Bool
        var peer: String
        var method: String
        var jobID: String?
    }

    let capacity: Int
    private var entries: [Entry] = []
    private var next = 0
    private(set) var sentByMethod: [String: Int] = [:]

    init(capacity: Int) { self.capacity = capacity }

    mutating func record(inbound: Bool, peer: String, method: String, jobID: String?) {
        let e = Entry(time: Date().timeIntervalSince1970, inbound: inbound, peer: peer, method: method, jobID: jobID)
        if !inbound { sentByMethod[method, default: 0] += 1 }
        if entries.count < capacity { entries.append(e) } else { entries[next] = e }
        next = (next + 1) % capacity
    }

    /// Oldest first.
    var json: JSON {
        let ordered = entries.count < capacity ? entries : Array(entries[next...] + entries[..<next])
        return .array(ordered.map { e in
            .compactObject(["t": .number(e.time), "dir": .string(e.inbound ? "in" : "out"), "peer": .string(e.peer), "method": .string(e.method),
                            "jobID": e.jobID.map { .string($0) }])
        })
    }
}
