import Digest

/// The write-ahead log's bytes: records, segments, and how a log is read back, with no file
/// system (the node reads its files and hands the bytes over; the simulator hands its memory).
///
/// Record layout: `length` (u32 LE, payload bytes), `crc` (u32 LE, CRC-32C over the LSN and the
/// payload), `lsn` (u64 LE), payload. LSNs are consecutive; a segment is named after the LSN of
/// its first record (`segment-<20 digits>.log`).
///
/// Reading (`scan`) accepts exactly one kind of damage: a torn tail, the last record of the
/// last segment left incomplete by a crash mid-write (see `TornTail` for what counts). Anything
/// else — a bad record followed by more records, a whole record that fails its checksum, a
/// damaged header, a segment whose first LSN is not its name, LSNs missing between segments — is
/// `Corruption`, naming the file and byte offset.
public enum LogFormat {
    public struct Record: Sendable {
        public var lsn: UInt64
        public var payload: [UInt8]
    }

    /// Damage recovery cannot prove harmless: the node must not start on this log.
    public struct Corruption: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var offset: Int
        public var reason: String
        public var description: String { "write-ahead log \(file) is damaged at byte \(offset): \(reason)" }
    }

    /// The last record of the last segment, left incomplete by a crash while it was written: its
    /// header is cut short; or its header is whole and names the next LSN but the file ends before
    /// its payload does; or a 512-byte sector inside it is all zeros (written space that never
    /// received its data); or everything from it to the end of the file is zeros. A record that
    /// is whole but fails its checksum is damage, not a torn write, and so is anything that a
    /// valid record follows.
    public struct TornTail: Sendable, Equatable {
        public var path: String
        public var offset: Int
        /// Bytes from `offset` to the end of the file.
        public var length: Int
        /// Why these bytes are a torn write.
        public var reason: String
    }

    /// One segment file as scanned.
    public struct Segment: Sendable {
        public var path: String
        /// The LSN its name says its first record has.
        public var firstLSN: UInt64
        /// The LSN of its last whole record (`firstLSN - 1` when it has none).
        public var lastLSN: UInt64
        public var size: Int
    }

    /// What a read-only pass over the log found.
    public struct Scan: Sendable {
        public var dir: String
        public var segments: [Segment]
        /// Every record after the `afterLSN` the scan was asked for, in order.
        public var records: [Record]
        public var tornTail: TornTail?
        /// The LSN the log starts at (its first segment's name); nil without segments.
        public var firstLSN: UInt64? { segments.first?.firstLSN }
        /// The last whole record's LSN (the first segment's name minus one when none).
        public var lastLSN: UInt64 { segments.last?.lastLSN ?? 0 }
    }

    public static let headerSize = 16
    public static let maxRecordSize = 64 * 1024 * 1024
    static let sectorSize = 512

    public static func isSegmentName(_ name: String) -> Bool { name.hasPrefix("segment-") && name.hasSuffix(".log") }

    /// Reads the segments of a log in directory `dir` (each file's name and bytes, any order);
    /// returns the records after `afterLSN`. Throws `Corruption` for any damage but a torn tail.
    public static func scan(_ dir: String, files: [(name: String, bytes: [UInt8])], afterLSN: UInt64 = 0) throws(Corruption) -> Scan {
        var out = Scan(dir: dir, segments: [], records: [], tornTail: nil)
        let segmentFiles = files.filter { isSegmentName($0.name) }.sorted { $0.name < $1.name }
        for (k, file) in segmentFiles.enumerated() {
            let name = file.name
            let path = dir + "/" + name
            guard let first = firstLSN(ofSegment: name) else {
                throw Corruption(file: path, offset: 0, reason: "the file name does not give the segment's first LSN (segment-<20 digits>.log)")
            }
            if let previous = out.segments.last, first != previous.lastLSN + 1 {
                let reason = first > previous.lastLSN + 1
                    ? "LSNs \(previous.lastLSN + 1)…\(first - 1) are missing: the segment before it ends at LSN \(previous.lastLSN)"
                    : "the segment before it already holds LSNs up to \(previous.lastLSN)"
                throw Corruption(file: path, offset: 0, reason: reason)
            }
            let bytes = file.bytes
            var next = first
            var offset = 0
            while offset < bytes.count {
                if let (record, size) = decode(bytes, at: offset), record.lsn == next {
                    if record.lsn > afterLSN { out.records.append(record) }
                    next += 1
                    offset += size
                    continue
                }
                guard k == segmentFiles.count - 1 else {
                    throw Corruption(file: path, offset: offset, reason: damage(bytes, at: offset, expecting: next) + " in a segment that is not the last")
                }
                out.tornTail = try tornTail(bytes, at: offset, expecting: next, path: path)
                break
            }
            out.segments.append(Segment(path: path, firstLSN: first, lastLSN: next - 1, size: out.tornTail?.offset ?? bytes.count))
        }
        return out
    }

    public static func firstLSN(ofSegment name: String) -> UInt64? {
        let digits = name.dropFirst("segment-".count).dropLast(".log".count)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), let n = UInt64(digits), n > 0 else { return nil }
        return n
    }

    /// Decides whether the undecodable bytes at `x` (the next record should be LSN `next`) are a
    /// torn tail; throws `Corruption` when they are not.
    public static func tornTail(_ b: [UInt8], at x: Int, expecting next: UInt64, path: String) throws(Corruption) -> TornTail {
        func corrupt(_ reason: String) -> Corruption { Corruption(file: path, offset: x, reason: reason) }
        // Whatever follows the damage: a valid record after it proves this is not the end.
        let remaining = b.count - x
        let highestPlausible = next + UInt64(remaining / headerSize) + 1
        var y = x + 1
        while y + headerSize <= b.count {
            let length = Int(u32(b, y)), lsn = u64(b, y + 8)
            if lsn >= next, lsn <= highestPlausible, length <= b.count - y - headerSize, let (record, _) = decode(b, at: y) {
                throw corrupt(damage(b, at: x, expecting: next) + ", and a valid record (LSN \(record.lsn)) follows at byte \(y)")
            }
            y += 1
        }
        func torn(_ reason: String) -> TornTail { TornTail(path: path, offset: x, length: remaining, reason: reason) }
        if remaining < headerSize { return torn("a record header cut short (\(remaining) of \(headerSize) bytes)") }
        if b[x...].allSatisfy({ $0 == 0 }) { return torn("\(remaining) zero bytes that were never written") }
        let length = Int(u32(b, x)), lsn = u64(b, x + 8)
        guard length <= maxRecordSize, lsn == next else { throw corrupt(damage(b, at: x, expecting: next)) }
        let end = x + headerSize + length
        if end > b.count { return torn("the last record cut short (\(remaining - headerSize) of its \(length) payload bytes)") }
        if end == b.count, hasZeroSector(b, from: x + headerSize, to: end) {
            return torn("the last record holds a 512-byte sector of zeros (space written before its data)")
        }
        throw corrupt(damage(b, at: x, expecting: next))
    }

    /// Says what is wrong with the record at `x`.
    static func damage(_ b: [UInt8], at x: Int, expecting next: UInt64) -> String {
        guard x + headerSize <= b.count else { return "a record header is cut short" }
        let length = Int(u32(b, x)), lsn = u64(b, x + 8)
        if lsn != next { return "the record header names LSN \(lsn) where LSN \(next) should be" }
        if length > maxRecordSize { return "the record header gives a length of \(length) bytes, over the \(maxRecordSize)-byte limit" }
        if x + headerSize + length > b.count { return "the record (LSN \(lsn), \(length) bytes) runs past the end of the file" }
        return "the record (LSN \(lsn), \(length) bytes) fails its checksum"
    }

    static func hasZeroSector(_ b: [UInt8], from start: Int, to end: Int) -> Bool {
        var s = (start + sectorSize - 1) / sectorSize * sectorSize
        while s + sectorSize <= end {
            if b[s..<(s + sectorSize)].allSatisfy({ $0 == 0 }) { return true }
            s += sectorSize
        }
        return false
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(b[i + k]) << (8 * UInt64(k)) }
        return v
    }

    public static func decode(_ b: [UInt8], at offset: Int) -> (Record, Int)? {
        guard offset + headerSize <= b.count else { return nil }
        let length = Int(u32(b, offset))
        let crc = u32(b, offset + 4)
        let lsn = u64(b, offset + 8)
        guard length <= maxRecordSize, offset + headerSize + length <= b.count else { return nil }
        let body = b[(offset + 8)..<(offset + headerSize + length)]
        guard CRC32C.checksum(body) == crc, lsn > 0 else { return nil }
        return (Record(lsn: lsn, payload: Array(b[(offset + headerSize)..<(offset + headerSize + length)])), headerSize + length)
    }

    public static func encode(lsn: UInt64, payload: [UInt8]) -> [UInt8] {
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

    public static func segmentName(_ firstLSN: UInt64) -> String {
        let digits = String(firstLSN)
        return "segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }
}
