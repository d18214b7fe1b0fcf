import Digest
import JSON
import StorageFormat

/// The node's snapshot: its whole state as of a log position, in `dir/snapshot.json`.
///
/// Layout: one header line `{"lsn":N,"length":L,"crc":C}` and then `L` bytes of state JSON whose
/// CRC-32C is `C`. Written durably (temporary file, fsync, rename, directory fsync), so a crash
/// leaves the old snapshot or the new one, never half of either; a header that does not match
/// its body fails loading with a clear error instead of starting from a wrong state.
public enum SnapshotStore {
    public typealias Loaded = SnapshotFormat.Loaded
    public typealias Invalid = SnapshotFormat.Invalid

    public static func path(_ dir: String) -> String { dir + "/snapshot.json" }

    public static func write(_ dir: String, lsn: UInt64, state: [UInt8]) throws(FileError) {
        try FileIO.writeDurably(path(dir), SnapshotFormat.encode(lsn: lsn, state: state))
    }

    public static func load(_ dir: String) throws -> Loaded? {
        let p = path(dir)
        guard FileIO.exists(p) else { return nil }
        return try SnapshotFormat.decode(try FileIO.read(p), path: p)
    }
}

/// Object bytes, one file per blob id under `dir/blobs`, each written durably before the log
/// record that names it.
public struct BlobStore: Sendable {
    public let dir: String

    public init(dataDir: String) throws(FileError) {
        dir = dataDir + "/blobs"
        try FileIO.makeDirectory(dir)
    }

    public func path(_ id: String) -> String { dir + "/" + id }

    public func write(_ id: String, _ bytes: [UInt8]) throws(FileError) {
        try FileIO.writeDurably(path(id), bytes)
    }

    public func read(_ id: String) throws(FileError) -> [UInt8] { try FileIO.read(path(id)) }

    public func delete(_ id: String) { FileIO.remove(path(id)) }

    /// Blob files no record refers to (left by a crash between writing a blob and logging it).
    public func orphans(referenced: Set<String>) -> [String] {
        FileIO.list(dir).filter { !referenced.contains($0) && !$0.hasSuffix(".tmp") }
    }

    /// Blobs in `referenced` with no file: damage to report, never to paper over.
    public func missing(referenced: Set<String>) -> [String] {
        let present = Set(FileIO.list(dir))
        return referenced.filter { !present.contains($0) }.sorted()
    }
}
