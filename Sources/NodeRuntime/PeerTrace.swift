#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON

/// The peer messages this node sent and received, for the checker's message diagrams, and how
/// many it sent of each method. Entries go to `peer-trace.jsonl` in the data directory in
/// batches, without `fsync` (like the audit file: a `kill -9` loses none), so a diagram still
/// shows what a node did before it crashed; the newest `capacity` are kept in memory.
///
/// Besides messages in (`in`) and out (`out`), an `ack` entry says when this node answered a
/// peer's delete with success, which it does only once the delete is durable: the checker's
/// proof that the delete was applied here.
struct PeerTrace {
    /// The method an `ack` entry names (a delete of the other account's, applied here).
    static let deleteMethod = "peer.DeleteJob"

    enum Direction: String {
        case inbound = "in", outbound = "out", acknowledged = "ack"
    }

    struct Entry {
        var time: Double
        var direction: Direction
        var peer: String
        var method: String
        var jobID: String?

        var json: JSON {
            .compactObject(["t": .number(time), "dir": .string(direction.rawValue), "peer": .string(peer), "method": .string(method),
                            "jobID": jobID.map { .string($0) }])
        }
    }

    let capacity: Int
    let path: String
    private var entries: [Entry] = []
    private var next = 0
    private var unwritten: [UInt8] = []
    private(set) var sentByMethod: [String: Int] = [:]

    /// Loads the newest entries already in `path`.
    init(path: String, capacity: Int) {
        self.path = path
        self.capacity = capacity
        guard let data = FileManager.default.contents(atPath: path) else { return }
        for line in [UInt8](data).split(separator: 0x0A).suffix(capacity) {
            guard let j = try? JSONParser.parse(Array(line)), let t = j["t"]?.numberValue, let peer = j["peer"]?.stringValue, let method = j["method"]?.stringValue else { continue }
            let direction = Direction(rawValue: j["dir"]?.stringValue ?? "") ?? .outbound
            append(Entry(time: t, direction: direction, peer: peer, method: method, jobID: j["jobID"]?.stringValue))
            if direction == .outbound { sentByMethod[method, default: 0] += 1 }
        }
    }

    private mutating func append(_ e: Entry) {
        if entries.count < capacity { entries.append(e) } else { entries[next] = e }
        next = (next + 1) % capacity
    }

    mutating func record(_ direction: Direction, peer: String, method: String, jobID: String?) {
        let e = Entry(time: Date().timeIntervalSince1970, direction: direction, peer: peer, method: method, jobID: jobID)
        if direction == .outbound { sentByMethod[method, default: 0] += 1 }
        append(e)
        unwritten += JSONWriter.bytes(e.json) + [0x0A]
        if unwritten.count > 1 << 16 { flush() }
    }

    /// Appends what is not yet in the file. A write that fails (a full disk) loses those lines
    /// from the file, never the node: the trace is a record for diagrams, not state.
    mutating func flush() {
        guard !unwritten.isEmpty else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd >= 0 {
            try? FileIO.writeAll(fd, unwritten, path: path)
            close(fd)
        }
        unwritten.removeAll(keepingCapacity: true)
    }

    /// Oldest first.
    var json: JSON {
        let ordered = entries.count < capacity ? entries : Array(entries[next...] + entries[..<next])
        return .array(ordered.map(\.json))
    }
}
