#if canImport(Glibc)
import Glibc
#endif
import Digest
import StorageFormat

/// The node's write-ahead log: segments of checksummed records in `dir`.
///
/// Record layout: `length` (u32 LE, payload bytes), `crc` (u32 LE, CRC-32C over the LSN and the
/// payload), `lsn` (u64 LE), payload. LSNs are consecutive; a segment is named after the LSN of
/// its first record (`segment-<20 digits>.log`).
///
/// Reading (`scan`) changes nothing on disk and accepts exactly one kind of damage: a torn
/// tail, the last record of the last segment left incomplete by a crash mid-write (see
/// `TornTail` for what counts). Anything else — a bad record followed by more records, a whole
/// record that fails its checksum, a damaged header, a segment whose first LSN is not its name,
/// LSNs missing between segments — is `Corruption`, naming the file and byte offset. `open`
/// then cuts a torn tail off (the only change recovery makes to the log) and opens the last
/// segment for appending. `append` writes to the OS; `sync` makes every appended record durable
/// (fdatasync), once per group commit.
public final class WriteAheadLog {
    public typealias Record = LogFormat.Record
    public typealias Corruption = LogFormat.Corruption
    public typealias TornTail = LogFormat.TornTail
    public typealias Segment = LogFormat.Segment
    public typealias Scan = LogFormat.Scan


    public let dir: String
    private var fd: Int32 = -1
    private var segmentPath = ""
    public private(set) var lastLSN: UInt64 = 0
    /// Bytes in the current segment (appended, whether or not yet synced).
    public private(set) var segmentBytes = 0

    /// Opens (creating) the log in `dir`, returning it and every intact record after `afterLSN`;
    /// a torn tail is cut off.
    public static func open(_ dir: String, afterLSN: UInt64 = 0) throws -> (WriteAheadLog, [Record], truncatedBytes: Int) {
        try FileIO.makeDirectory(dir)
        let found = try scan(dir, afterLSN: afterLSN)
        return (try open(found, afterLSN: afterLSN), found.records, found.tornTail?.length ?? 0)
    }

    /// Opens the log `scan` read for appending: cuts its torn tail, and starts a new segment when
    /// there is none or when the log ends before `afterLSN` (everything up to it is in a
    /// snapshot).
    public static func open(_ scan: Scan, afterLSN: UInt64) throws(FileError) -> WriteAheadLog {
        try FileIO.makeDirectory(scan.dir)
        let wal = WriteAheadLog(dir: scan.dir)
        if let torn = scan.tornTail {
            guard Glibc.truncate(torn.path, off_t(torn.offset)) == 0 else { throw FileError("truncate", torn.path) }
        }
        wal.lastLSN = max(scan.lastLSN, afterLSN)
        let reuse = scan.lastLSN >= afterLSN ? scan.segments.last?.path : nil
        try wal.openSegment(reuseLast: reuse)
        return wal
    }

    /// Reads every segment of `dir` without changing anything; returns the records after
    /// `afterLSN`. Throws `Corruption` for any damage but a torn tail.
    public static func scan(_ dir: String, afterLSN: UInt64 = 0) throws -> Scan {
        var files: [(name: String, bytes: [UInt8])] = []
        for name in FileIO.list(dir) where LogFormat.isSegmentName(name) { files.append((name, try FileIO.read(dir + "/" + name))) }
        return try LogFormat.scan(dir, files: files, afterLSN: afterLSN)
    }

    static func firstLSN(ofSegment name: String) -> UInt64? { LogFormat.firstLSN(ofSegment: name) }
    static func segmentName(_ firstLSN: UInt64) -> String { LogFormat.segmentName(firstLSN) }
    static func encode(lsn: UInt64, payload: [UInt8]) -> [UInt8] { LogFormat.encode(lsn: lsn, payload: payload) }

    private init(dir: String) { self.dir = dir }

    deinit { if fd >= 0 { close(fd) } }

    /// Opens the segment to append to. A new one is opened, and its directory entry made
    /// durable, before the current one is let go: if either fails, the log goes on as it was.
    private func openSegment(reuseLast: String?) throws(FileError) {
        let path = reuseLast ?? dir + "/" + WriteAheadLog.segmentName(lastLSN + 1)
        let existed = FileIO.exists(path)
        let new = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard new >= 0 else { throw FileError("open", path) }
        if reuseLast == nil {
            do throws(FileError) { try FileIO.syncDirectory(of: path) } catch {
                close(new)
                if !existed { unlink(path) }
                throw error
            }
        }
        if fd >= 0 { close(fd) }
        fd = new
        segmentPath = path
        segmentBytes = FileIO.size(path)
    }

    /// Appends one record (to the OS, not yet durable) and returns its LSN. A failed append
    /// (a full disk) leaves the log as it was: whatever part of the record reached the file is
    /// cut off again.
    @discardableResult
    public func append(_ payload: [UInt8]) throws(FileError) -> UInt64 {
        let lsn = lastLSN + 1
        let bytes = LogFormat.encode(lsn: lsn, payload: payload)
        do throws(FileError) {
            try FileIO.writeAll(fd, bytes, path: segmentPath)
        } catch {
            _ = ftruncate(fd, off_t(segmentBytes))
            throw error
        }
        lastLSN = lsn
        segmentBytes += bytes.count
        return lsn
    }

    /// Makes every appended record durable.
    public func sync() throws(FileError) {
        guard fdatasync(fd) == 0 else { throw FileError("fdatasync", segmentPath) }
    }

    /// Forgets records appended since the log was last `durableLSN` long and `durableBytes` in
    /// its current segment (after a group commit that could not be made durable): the file is cut
    /// back and synced, so it holds exactly what was acknowledged.
    public func rollBack(toLSN durableLSN: UInt64, bytes durableBytes: Int) throws(FileError) {
        guard ftruncate(fd, off_t(durableBytes)) == 0 else { throw FileError("ftruncate", segmentPath) }
        try sync()
        lastLSN = durableLSN
        segmentBytes = durableBytes
    }

    /// After a snapshot that covers everything up to `lastLSN`: starts a new segment and removes
    /// the old ones.
    public func startNewSegment() throws(FileError) {
        try sync()
        let old = FileIO.list(dir).filter { $0.hasPrefix("segment-") }
        try openSegment(reuseLast: nil)
        let current = WriteAheadLog.segmentName(lastLSN + 1)
        for name in old where name != current { FileIO.remove(dir + "/" + name) }
        try FileIO.syncDirectory(of: segmentPath)
    }
}
