import AccountNode
import Digest
import JSON

/// A snapshot's bytes: one header line `{"lsn":N,"length":L,"crc":C}` and then `L` bytes of
/// state JSON whose CRC-32C is `C`. A header that does not match its body is an error, never a
/// wrong state.
public enum SnapshotFormat {
    public struct Loaded: Sendable {
        public var lsn: UInt64
        public var state: JSON
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "snapshot \(path) is unusable: \(reason)" }
    }

    public static func encode(lsn: UInt64, state: [UInt8]) -> [UInt8] {
        JSONWriter.bytes(["lsn": .number(Double(lsn)), "length": .int(state.count), "crc": .number(Double(CRC32C.checksum(state)))]) + [0x0A] + state
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> Loaded {
        guard let nl = bytes.firstIndex(of: 0x0A) else { throw Invalid(path: path, reason: "no header line") }
        let header = try JSONParser.parse(Array(bytes[..<nl]))
        guard let lsn = header["lsn"]?.intValue, let length = header["length"]?.intValue, let crc = header["crc"]?.intValue else {
            throw Invalid(path: path, reason: "the header lacks lsn, length or crc")
        }
        let body = Array(bytes[(nl + 1)...])
        guard body.count == length, CRC32C.checksum(body) == UInt32(crc) else {
            throw Invalid(path: path, reason: "the body does not match its header's length and checksum")
        }
        return Loaded(lsn: UInt64(lsn), state: try JSONParser(maxDepth: 1024).parse(body))
    }
}

/// The checks a node passes before it starts on its storage, and the state it recovers to:
/// the same code for a real node (its files) and a simulated one (its memory).
///
/// Refuses (`Unusable`) whenever the snapshot and the log segments do not form one unbroken
/// sequence of LSNs: from 1 without a snapshot, from the snapshot's LSN with one. Storage counts
/// as new only when it holds no state at all; one marked as a node's (`FORMAT`) must have its log.
public enum RecoveryCheck {
    /// The storage cannot be started on as it is; `reason` says what is wrong and what to do.
    public struct Unusable: Error, CustomStringConvertible {
        /// What is wrong, for a repair to decide what it may mend.
        public enum Kind: Sendable {
            /// Damage in the log that is not a torn tail (mendable by cutting the log there).
            case damagedLog(LogFormat.Corruption)
            /// The log ends before the snapshot, or misses LSNs right after it: what followed the
            /// snapshot is gone (mendable by starting the log again after the snapshot).
            case logBreaksAfterSnapshot(snapshotLSN: UInt64)
            /// The log starts after LSN 1 and there is no snapshot for what came before.
            case noSnapshotBeforeLog
            /// Marked as a node's, or holding its files, with neither snapshot nor log.
            case stateWithoutLog
            /// Another account's storage, or a format this node does not read.
            case notThisNodes
        }

        public var path: String
        public var kind: Kind
        public var reason: String
        public var description: String { "data directory \(path) cannot be used: \(reason)" }
    }

    /// What the checks found.
    public struct Found: Sendable {
        public var snapshot: SnapshotFormat.Loaded?
        public var log: LogFormat.Scan
        /// Nothing was here: a node starting for the first time.
        public var isNew: Bool
        public var hasFormat: Bool
    }

    public static let formatVersion = 1
    static let repairHint = "no change was made; `crml-node --repair` (same --cluster and --account) cuts the log back to what is whole, keeping a copy of what it cuts"

    /// The `FORMAT` file's bytes for `account`.
    public static func format(account: String) -> [UInt8] {
        JSONWriter.bytes(["format": .int(formatVersion), "account": .string(account)]) + [0x0A]
    }

    /// Checks storage at `path` of `account`: its `FORMAT` and snapshot bytes (nil when absent),
    /// its log (`walDir` and the segments' names and bytes), and the names of the files only a
    /// node with state writes (blobs, work files, audit records).
    public static func inspect(path: String, account: String, format: [UInt8]?, snapshot snapshotBytes: [UInt8]?, snapshotPath: String,
                               walDir: String, segments: [(name: String, bytes: [UInt8])], stateFiles: [String]) throws -> Found {
        var hasFormat = false
        if let format {
            let f = try JSONParser.parse(format)
            guard f["format"]?.intValue == formatVersion else {
                throw Unusable(path: path, kind: .notThisNodes, reason: "FORMAT is not a format this node reads (\(JSONWriter.string(f)))")
            }
            if let owner = f["account"]?.stringValue, owner != account {
                throw Unusable(path: path, kind: .notThisNodes, reason: "it belongs to account \(owner), not \(account)")
            }
            hasFormat = true
        }
        let snapshot = try snapshotBytes.map { try SnapshotFormat.decode($0, path: snapshotPath) }
        let log: LogFormat.Scan
        do { log = try LogFormat.scan(walDir, files: segments, afterLSN: snapshot?.lsn ?? 0) } catch {
            throw Unusable(path: path, kind: .damagedLog(error), reason: "\(error); " + repairHint)
        }
        var isNew = false
        if let first = log.firstLSN {
            if let s = snapshot?.lsn {
                if first > s + 1 {
                    throw Unusable(path: path, kind: .logBreaksAfterSnapshot(snapshotLSN: s), reason: "snapshot.json ends at LSN \(s) but the log starts at LSN \(first): LSNs \(s + 1)…\(first - 1) are missing; " + repairHint)
                }
                if log.lastLSN < s {
                    throw Unusable(path: path, kind: .logBreaksAfterSnapshot(snapshotLSN: s), reason: "the log ends at LSN \(log.lastLSN), before snapshot.json's LSN \(s): the segment that follows the snapshot (\(LogFormat.segmentName(s + 1))) is missing; " + repairHint)
                }
            } else if first != 1 {
                throw Unusable(path: path, kind: .noSnapshotBeforeLog, reason: "the log starts at LSN \(first) and there is no snapshot.json to hold LSNs 1…\(first - 1); restore snapshot.json, or move the directory away to start the account anew")
            }
        } else if let s = snapshot?.lsn {
            throw Unusable(path: path, kind: .logBreaksAfterSnapshot(snapshotLSN: s), reason: "snapshot.json ends at LSN \(s) but the log (wal/\(LogFormat.segmentName(s + 1))) is missing; " + repairHint)
        } else if hasFormat {
            throw Unusable(path: path, kind: .stateWithoutLog, reason: "FORMAT says a node has used it, but there is no snapshot.json and no log (wal/segment-*.log): its state is gone; restore it, or move the directory away to start the account anew")
        } else {
            guard stateFiles.isEmpty else {
                throw Unusable(path: path, kind: .stateWithoutLog, reason: "it holds \(stateFiles.prefix(3).joined(separator: ", "))\(stateFiles.count > 3 ? " and more" : "") but no snapshot.json and no log: its state is gone; restore it, or move the directory away to start the account anew")
            }
            isNew = true
        }
        return Found(snapshot: snapshot, log: log, isNew: isNew, hasFormat: hasFormat)
    }

    /// The state a node recovers to: the snapshot's, then every log record after it.
    public static func state(_ found: Found) throws -> NodeState {
        var state = try found.snapshot?.state.decode(NodeState.self) ?? NodeState()
        for record in found.log.records {
            for event in try JSONParser(maxDepth: 1024).parse(record.payload).decode([StateEvent].self) { state.apply(event) }
        }
        return state
    }
}
