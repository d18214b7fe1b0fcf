import Digest
import JSON

/// The node's snapshot: its whole state as of a log position, in `dir/snapshot.json`.
///
/// Layout: one header line `{"lsn":N,"length":L,"crc":C}` and then `L` bytes of state JSON whose
/// CRC-32C is `C`. Written durably (temporary file, fsync, rename, directory fsync), so a crash
/// leaves the old snapshot or the new one, never half of either; a header that does not match
/// its body fails loading with a clear error instead of starting from a wrong state.
public enum SnapshotStore {
    public struct Loaded {
        public var lsn: UInt64
        public var state: JSON
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "snapshot \(path) is unusable: \(reason)" }
    }

    public static func path(_ dir: String) -> String { dir + "/snapshot.json" }

    public static func write(_ dir: String, lsn: UInt64, state: [UInt8]) throws(FileError) {
        let header = JSONWriter.bytes(["lsn": .number(Double(lsn)), "length": .int(state.count), "crc": .number(Double(CRC32C.checksum(state)))])
        try FileIO.writeDurably(path(dir), header + [0x0A] + state)
    }

    public static func load(_ dir: String) throws -> Loaded? {
        let p = path(dir)
        guard FileIO.exists(p) else { return nil }
        let bytes = try FileIO.read(p)
        guard let nl = bytes.firstIndex(of: 0x0A) else { throw Invalid(path: p, reason: "no header line") }
        let header = try JSONParser.parse(Array(bytes[..<nl]))
        guard let lsn = header["lsn"]?.intValue, let length = header["length"]?.intValue, let crc = header["crc"]?.intValue else {
            throw Invalid(path: p, reason: "the header lacks lsn, length or crc")
        }
        let body = Array(bytes[(nl + 1)...])
        guard body.count == length, CRC32C.checksum(body) == UInt32(crc) else {
            throw Invalid(path: p, reason: "the body does not match its header's length and checksum")
        }
        return Loaded(lsn: UInt64(lsn), state: try JSONParser(maxDepth: 1024).parse(body))
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
