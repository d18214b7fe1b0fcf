import JSON

/// A node's data directory as a whole, and the checks a node passes before it starts on it.
///
/// Guarantees: `inspect` reads and changes nothing. It refuses (with `Unusable`, or the log's
/// `Corruption`) whenever the snapshot and the log segments do not form one unbroken sequence of
/// LSNs: from 1 without a snapshot, from the snapshot's LSN with one. A directory counts as new
/// only when it holds no state at all; one marked as a node's (`FORMAT`, written once the log
/// exists) must have its log. `open` is the only step that changes anything, and only what
/// recovery is allowed to: it cuts a torn log tail, removes temporary files a crash left, and
/// writes `FORMAT`.
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var walDir: String { path + "/wal" }
    var formatPath: String { path + "/FORMAT" }
    /// Folders whose files are written through temporary files (`FileIO.writeDurably`, work files).
    var folders: [String] { [path, walDir, path + "/blobs", path + "/models", path + "/audiences"] }

    /// The directory cannot be started on as it is; `reason` says what is wrong and what to do.
    public struct Unusable: Error, CustomStringConvertible {
        /// What is wrong, for `StorageRepair` to decide what it may mend.
        public enum Kind: Sendable {
            /// Damage in the log that is not a torn tail (mendable by cutting the log there).
            case damagedLog(WriteAheadLog.Corruption)
            /// The log ends before the snapshot, or misses LSNs right after it: what followed the
            /// snapshot is gone (mendable by starting the log again after the snapshot).
            case logBreaksAfterSnapshot(snapshotLSN: UInt64)
            /// The log starts after LSN 1 and there is no snapshot for what came before.
            case noSnapshotBeforeLog
            /// Marked as a node's, or holding its files, with neither snapshot nor log.
            case stateWithoutLog
            /// Another account's directory, or a format this node does not read.
            case notThisNodes
        }

        public var path: String
        public var kind: Kind
        public var reason: String
        public var description: String { "data directory \(path) cannot be used: \(reason)" }
    }

    /// What recovery read, before it changed anything.
    public struct Inspection {
        public var snapshot: SnapshotStore.Loaded?
        public var log: WriteAheadLog.Scan
        /// Nothing was here: a node starting for the first time.
        public var isNew: Bool
        /// Temporary files a crash left behind (removed by `open`).
        public var leftovers: [String]
        var hasFormat: Bool
    }

    static let formatVersion = 1
    static let repairHint = "no change was made; `crml-node --repair` (same --cluster and --account) cuts the log back to what is whole, keeping a copy of what it cuts"

    /// Reads the snapshot and the log and checks that they fit together. Changes nothing.
    public func inspect(account: String) throws -> Inspection {
        var hasFormat = false
        if FileIO.exists(formatPath) {
            let format = try JSONParser.parse(FileIO.read(formatPath))
            guard format["format"]?.intValue == DataDirectory.formatVersion else {
                throw Unusable(path: path, kind: .notThisNodes, reason: "FORMAT is not a format this node reads (\(JSONWriter.string(format)))")
            }
            if let owner = format["account"]?.stringValue, owner != account {
                throw Unusable(path: path, kind: .notThisNodes, reason: "it belongs to account \(owner), not \(account)")
            }
            hasFormat = true
        }
        let snapshot = try SnapshotStore.load(path)
        let log: WriteAheadLog.Scan
        do { log = try WriteAheadLog.scan(walDir, afterLSN: snapshot?.lsn ?? 0) } catch let damage as WriteAheadLog.Corruption {
            throw Unusable(path: path, kind: .damagedLog(damage), reason: "\(damage); " + DataDirectory.repairHint)
        }
        let leftovers = folders.flatMap { dir in FileIO.list(dir).filter { $0.hasSuffix(".tmp") }.map { dir + "/" + $0 } }
        var isNew = false
        if let first = log.firstLSN {
            if let s = snapshot?.lsn {
                if first > s + 1 {
                    throw Unusable(path: path, kind: .logBreaksAfterSnapshot(snapshotLSN: s), reason: "snapshot.json ends at LSN \(s) but the log starts at LSN \(first): LSNs \(s + 1)…\(first - 1) are missing; " + DataDirectory.repairHint)
                }
                if log.lastLSN < s {
                    throw Unusable(path: path, kind: .logBreaksAfterSnapshot(snapshotLSN: s), reason: "the log ends at LSN \(log.lastLSN), before snapshot.json's LSN \(s): the segment that follows the snapshot (\(WriteAheadLog.segmentName(s + 1))) is missing; " + DataDirectory.repairHint)
                }
            } else if first != 1 {
                throw Unusable(path: path, kind: .noSnapshotBeforeLog, reason: "the log starts at LSN \(first) and there is no snapshot.json to hold LSNs 1…\(first - 1); restore snapshot.json, or move the directory away to start the account anew")
            }
        } else if let s = snapshot?.lsn {
            throw Unusable(path: path, kind: .logBreaksAfterSnapshot(snapshotLSN: s), reason: "snapshot.json ends at LSN \(s) but the log (wal/\(WriteAheadLog.segmentName(s + 1))) is missing; " + DataDirectory.repairHint)
        } else if hasFormat {
            throw Unusable(path: path, kind: .stateWithoutLog, reason: "FORMAT says a node has used it, but there is no snapshot.json and no log (wal/segment-*.log): its state is gone; restore it, or move the directory away to start the account anew")
        } else {
            let state = stateFiles()
            guard state.isEmpty else {
                throw Unusable(path: path, kind: .stateWithoutLog, reason: "it holds \(state.prefix(3).joined(separator: ", "))\(state.count > 3 ? " and more" : "") but no snapshot.json and no log: its state is gone; restore it, or move the directory away to start the account anew")
            }
            isNew = true
        }
        return Inspection(snapshot: snapshot, log: log, isNew: isNew, leftovers: leftovers, hasFormat: hasFormat)
    }

    /// Files that only a node with state writes (blobs, work files, a non-empty audit file).
    func stateFiles() -> [String] {
        var out: [String] = []
        for dir in ["blobs", "models", "audiences"] {
            out += FileIO.list(path + "/" + dir).filter { !$0.hasSuffix(".tmp") }.map { dir + "/" + $0 }
        }
        if FileIO.size(path + "/audit.log") > 0 { out.append("audit.log") }
        return out
    }

    /// Makes the inspected directory ready to run on: cuts the log's torn tail, removes
    /// leftovers, marks the directory as this account's node, and opens the log for appending.
    public func open(_ inspection: Inspection, account: String) throws -> WriteAheadLog {
        for f in inspection.leftovers { FileIO.remove(f) }
        let wal = try WriteAheadLog.open(inspection.log, afterLSN: inspection.snapshot?.lsn ?? 0)
        if !inspection.hasFormat {
            // After the log exists: a crash in between leaves a directory that still looks new.
            try FileIO.writeDurably(formatPath, JSONWriter.bytes(["format": .int(DataDirectory.formatVersion), "account": .string(account)]) + [0x0A])
        }
        return wal
    }
}
