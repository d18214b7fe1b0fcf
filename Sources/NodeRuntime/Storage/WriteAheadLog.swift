#if canImport(Glibc)
import Glibc
#endif
import Digest

/// The node's write-ahead log: segments of checksummed records in `dir`.
///
/// Record layout: `length` (u32 LE, payload bytes), `crc` (u32 LE, CRC-32C over the LSN and the
/// payload), `lsn` (u64 LE), payload. LSNs are consecutive from 1. Recovery (`open`) reads every
/// segment in order; a record that is cut short or fails its checksum at the end of the last
/// segment is a torn tail from a crash mid-write and is cut off; anywhere else it is corruption
/// and opening fails, naming the file and offset. `append` writes to the OS; `sync` makes every
/// appended record durable (fdatasync) and is what group commit calls once per batch.
public final class WriteAheadLog {
    public struct Record {
        public var lsn: UInt64
        public var payload: [UInt8]
    }

    public struct Corruption: Error, CustomStringConvertible {
        public var file: String
        public var offset: Int
        public var reason: String
        public var description: String { "write-ahead log \(file) is corrupt at byte \(offset): \(reason)" }
    }

    static let headerSize = 16
    public static let maxRecordSize = 64 * 1024 * 1024

    public let dir: String
    private var fd: Int32 = -1
    private var segmentPath = ""
    public private(set) var lastLSN: UInt64 = 0
    /// Bytes appended to the current segment.
    public private(set) var segmentBytes = 0

    /// Opens (creating) the log in `dir`, returning it and every intact record after `afterLSN`.
    public static func open(_ dir: String, afterLSN: UInt64 = 0) throws -> (WriteAheadLog, [Record], truncatedBytes: Int) {
        try FileIO.makeDirectory(dir)
        let wal = WriteAheadLog(dir: dir)
        let segments = FileIO.list(dir).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }
        var records: [Record] = []
        var truncated = 0
        var expected: UInt64? = nil
        for (k, name) in segments.enumerated() {
            let path = dir + "/" + name
            let bytes = try FileIO.read(path)
            let isLast = k == segments.count - 1
            var offset = 0
            while offset < bytes.count {
                guard let (record, size) = decode(bytes, at: offset) else {
                    if isLast {
                        truncated = bytes.count - offset
                        try wal.truncate(path, to: offset)
                        break
                    }
                    throw Corruption(file: path, offset: offset, reason: "a record is cut short or fails its checksum in a segment that is not the last")
                }
                if let e = expected, record.lsn != e {
                    throw Corruption(file: path, offset: offset, reason: "LSN \(record.lsn) follows \(e - 1)")
                }
                expected = record.lsn + 1
                wal.lastLSN = record.lsn
                if record.lsn > afterLSN { records.append(record) }
                offset += size
            }
        }
        if wal.lastLSN < afterLSN { wal.lastLSN = afterLSN }
        try wal.openSegment(reuseLast: segments.last.map { dir + "/" + $0 })
        return (wal, records, truncated)
    }

    private init(dir: String) { self.dir = dir }

    deinit { if fd >= 0 { close(fd) } }

    static func decode(_ b: [UInt8], at offset: Int) -> (Record, Int)? {
        guard offset + headerSize <= b.count else { return nil }
        func u32(_ i: Int) -> UInt32 { UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24 }
        let length = Int(u32(offset))
        let crc = u32(offset + 4)
        var lsn: UInt64 = 0
        for k in 0..<8 { lsn |= UInt64(b[offset + 8 + k]) << (8 * UInt64(k)) }
        guard length <= maxRecordSize, offset + headerSize + length <= b.count else { return nil }
        let body = b[(offset + 8)..<(offset + headerSize + length)]
        guard CRC32C.checksum(body) == crc, lsn > 0 else { return nil }
        return (Record(lsn: lsn, payload: Array(b[(offset + headerSize)..<(offset + headerSize + length)])), headerSize + length)
    }

    static func encode(lsn: UInt64, payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(headerSize + payload.count)
        func u32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
        var body = [UInt8]()
        body.reserveCapacity(8 + payload.count)
        for k in 0..<8 { body.append(UInt8(truncatingIfNeeded: lsn >> (8 * UInt64(k)))) }
        body += payload
        u32(UInt32(payload.count))
        u32(CRC32C.checksum(body))
        out += body
        return out
    }

    private func truncate(_ path: String, to size: Int) throws(FileError) {
        guard Glibc.truncate(path, off_t(size)) == 0 else { throw FileError("truncate", path) }
    }

    private func openSegment(reuseLast: String?) throws(FileError) {
        if fd >= 0 { close(fd) }
        let path = reuseLast ?? dir + "/" + WriteAheadLog.segmentName(lastLSN + 1)
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path) }
        segmentPath = path
        segmentBytes = FileIO.size(path)
        if reuseLast == nil { try FileIO.syncDirectory(of: path) }
    }

    static func segmentName(_ firstLSN: UInt64) -> String {
        let digits = String(firstLSN)
        return "segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// Appends one record (to the OS, not yet durable) and returns its LSN.
    @discardableResult
    public func append(_ payload: [UInt8]) throws(FileError) -> UInt64 {
        let lsn = lastLSN + 1
        let bytes = WriteAheadLog.encode(lsn: lsn, payload: payload)
        try FileIO.writeAll(fd, bytes, path: segmentPath)
        lastLSN = lsn
        segmentBytes += bytes.count
        return lsn
    }

    /// Makes every appended record durable.
    public func sync() throws(FileError) {
        guard fdatasync(fd) == 0 else { throw FileError("fdatasync", segmentPath) }
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
