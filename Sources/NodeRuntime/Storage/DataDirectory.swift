import JSON
import StorageFormat

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

    public typealias Unusable = RecoveryCheck.Unusable

    /// What recovery read, before it changed anything.
    public struct Inspection {
        public var found: RecoveryCheck.Found
        /// Temporary files a crash left behind (removed by `open`).
        public var leftovers: [String]
        public var snapshot: SnapshotFormat.Loaded? { found.snapshot }
        public var log: LogFormat.Scan { found.log }
        /// Nothing was here: a node starting for the first time.
        public var isNew: Bool { found.isNew }
        var hasFormat: Bool { found.hasFormat }
    }

    /// Reads the snapshot and the log and checks that they fit together (`RecoveryCheck`).
    /// Changes nothing.
    public func inspect(account: String) throws -> Inspection {
        let snapshotPath = SnapshotStore.path(path)
        var segments: [(name: String, bytes: [UInt8])] = []
        for name in FileIO.list(walDir) where LogFormat.isSegmentName(name) { segments.append((name, try FileIO.read(walDir + "/" + name))) }
        let found = try RecoveryCheck.inspect(path: path, account: account, format: FileIO.exists(formatPath) ? try FileIO.read(formatPath) : nil,
                                              snapshot: FileIO.exists(snapshotPath) ? try FileIO.read(snapshotPath) : nil, snapshotPath: snapshotPath,
                                              walDir: walDir, segments: segments, stateFiles: stateFiles())
        let leftovers = folders.flatMap { dir in FileIO.list(dir).filter { $0.hasSuffix(".tmp") }.map { dir + "/" + $0 } }
        return Inspection(found: found, leftovers: leftovers)
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
            try FileIO.writeDurably(formatPath, RecoveryCheck.format(account: account))
        }
        return wal
    }
}
