#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
@testable import NodeRuntime
import Testing
import TestSupport

@Suite struct WriteAheadLogTests {
    func payload(_ i: Int) -> [UInt8] { Array("{\"record\":\(i)}".utf8) }

    /// A log in a new directory holding records 1...n (synced); returns the directory and the
    /// path of its segment.
    func logWith(_ n: Int) throws -> (dir: String, segment: String) {
        let dir = FileManagerTemp.directory("wal")
        let (wal, _, _) = try WriteAheadLog.open(dir)
        for i in 1...n { try wal.append(payload(i)) }
        try wal.sync()
        return (dir, dir + "/" + FileIO.list(dir).first { $0.hasPrefix("segment-") }!)
    }

    @Test func recordsSurviveReopening() throws {
        let dir = FileManagerTemp.directory("wal")
        do {
            let (wal, records, _) = try WriteAheadLog.open(dir)
            #expect(records.isEmpty)
            for i in 1...100 { try wal.append(payload(i)) }
            try wal.sync()
        }
        let (wal, records, truncated) = try WriteAheadLog.open(dir)
        #expect(records.map(\.lsn) == Array(1...100).map(UInt64.init))
        #expect(records.last?.payload == payload(100))
        #expect(truncated == 0)
        #expect(wal.lastLSN == 100)
    }

    /// A crash in the middle of a write leaves a partial record at the end: recovery cuts it off
    /// and keeps every complete record before it, at every possible cut.
    @Test func tornTailIsDroppedAtEveryCut() throws {
        let (dir, segment) = try logWith(3)
        let full = try FileIO.read(segment)
        let third = WriteAheadLog.encode(lsn: 3, payload: payload(3)).count
        let goodPrefix = full.count - third
        for cut in goodPrefix..<full.count {
            try FileIO.writeDurably(segment, Array(full[..<cut]))
            let (wal, records, truncated) = try WriteAheadLog.open(dir)
            #expect(records.map(\.lsn) == [1, 2], "cut at \(cut)")
            #expect(truncated == cut - goodPrefix)
            #expect(FileIO.size(segment) == goodPrefix)
            #expect(wal.lastLSN == 2)
        }
    }

    /// A whole last record that fails its checksum is damage, not a torn write: a crash while
    /// appending leaves a record cut short, never one of full length with wrong bytes.
    @Test func aFlippedBitInTheLastWholeRecordIsDamage() throws {
        let (dir, segment) = try logWith(3)
        var bytes = try FileIO.read(segment)
        bytes[bytes.count - 2] ^= 0x10
        try FileIO.writeDurably(segment, bytes)
        let damage = try #require(throws: WriteAheadLog.Corruption.self) { _ = try WriteAheadLog.open(dir) }
        #expect(damage.offset == bytes.count - WriteAheadLog.encode(lsn: 3, payload: payload(3)).count)
        #expect(damage.reason.contains("fails its checksum"))
        #expect(try FileIO.read(segment) == bytes, "a refused log is left as it was")
    }

    /// Every single flipped byte anywhere but the last record's length field stops recovery,
    /// naming the offset of the damaged record, and changes nothing on disk. A longer length
    /// in the last record reads as a record cut short: the one damage a torn write looks like.
    @Test func everyFlippedByteIsFoundAndNothingIsChanged() throws {
        let (dir, segment) = try logWith(5)
        let good = try FileIO.read(segment)
        let sizes = (1...5).map { WriteAheadLog.encode(lsn: UInt64($0), payload: payload($0)).count }
        let starts = sizes.indices.map { sizes[..<$0].reduce(0, +) }
        for position in 0..<good.count {
            var bytes = good
            bytes[position] ^= 0x01
            try FileIO.writeDurably(segment, bytes)
            let record = starts.lastIndex { $0 <= position }!
            let inLastLength = record == 4 && position < starts[4] + 4
            do {
                let (_, records, truncated) = try WriteAheadLog.open(dir)
                #expect(inLastLength && bytes[position] > good[position], "byte \(position) flipped: accepted as a torn tail")
                #expect(records.count == 4 && truncated == sizes[4])
            } catch let damage as WriteAheadLog.Corruption {
                #expect(damage.offset == starts[record], "byte \(position): reported at \(damage.offset)")
                #expect(try FileIO.read(segment) == bytes, "byte \(position): the file was changed")
            }
        }
    }

    /// Damage in the middle of the last segment, followed by valid records, is damage: the
    /// records after it prove the log went on.
    @Test func damageFollowedByRecordsIsNotATornTail() throws {
        let (dir, segment) = try logWith(10)
        var bytes = try FileIO.read(segment)
        let second = WriteAheadLog.encode(lsn: 1, payload: payload(1)).count
        bytes[second] ^= 0xFF  // the second record's length
        try FileIO.writeDurably(segment, bytes)
        let damage = try #require(throws: WriteAheadLog.Corruption.self) { _ = try WriteAheadLog.open(dir) }
        #expect(damage.offset == second)
        #expect(damage.reason.contains("a valid record (LSN 3) follows"))
        #expect(try FileIO.read(segment) == bytes)
    }

    /// Space a file system gave the file but never filled: zeros after the last record, or a
    /// zero sector inside a last record, are a torn write.
    @Test func zerosThatWereNeverWrittenAreATornTail() throws {
        let (dir, segment) = try logWith(2)
        let good = try FileIO.read(segment)
        try FileIO.writeDurably(segment, good + [UInt8](repeating: 0, count: 4096))
        var (_, records, truncated) = try WriteAheadLog.open(dir)
        #expect(records.count == 2 && truncated == 4096)
        #expect(try FileIO.read(segment) == good)

        let (dir2, segment2) = try logWith(2)
        let big = WriteAheadLog.encode(lsn: 3, payload: Array(repeating: UInt8(ascii: "x"), count: 3000))
        var torn = try FileIO.read(segment2) + big
        let sector = (torn.count - 1500) / 512 * 512
        for k in sector..<(sector + 512) { torn[k] = 0 }
        try FileIO.writeDurably(segment2, torn)
        (_, records, truncated) = try WriteAheadLog.open(dir2)
        #expect(records.count == 2 && truncated == big.count)
    }

    @Test func aSegmentMustStartAtItsNameAndFollowTheLastOne() throws {
        let (dir, segment) = try logWith(3)
        let renamed = dir + "/" + WriteAheadLog.segmentName(7)
        #expect(rename(segment, renamed) == 0)
        let wrongName = try #require(throws: WriteAheadLog.Corruption.self) { _ = try WriteAheadLog.scan(dir) }
        #expect(wrongName.reason.contains("LSN 1 where LSN 7 should be"))
        #expect(rename(renamed, segment) == 0)
        try FileIO.writeDurably(dir + "/" + WriteAheadLog.segmentName(9), WriteAheadLog.encode(lsn: 9, payload: payload(9)))
        let gap = try #require(throws: WriteAheadLog.Corruption.self) { _ = try WriteAheadLog.scan(dir) }
        #expect(gap.reason.contains("LSNs 4…8 are missing"))
    }

    @Test func corruptionBeforeTheLastSegmentRefusesToOpen() throws {
        let dir = FileManagerTemp.directory("wal")
        do {
            let (wal, _, _) = try WriteAheadLog.open(dir)
            for i in 1...3 { try wal.append(payload(i)) }
            try wal.startNewSegment()
            for i in 4...5 { try wal.append(payload(i)) }
            try wal.sync()
        }
        // startNewSegment removed the first segment; write one with a broken record 3 before it.
        let current = FileIO.list(dir).filter { $0.hasPrefix("segment-") }
        #expect(current.count == 1)
        var first = (1...3).flatMap { WriteAheadLog.encode(lsn: UInt64($0), payload: payload($0)) }
        first[first.count - 1] ^= 1
        try FileIO.writeDurably(dir + "/segment-00000000000000000001.log", first)
        let damage = try #require(throws: WriteAheadLog.Corruption.self) { _ = try WriteAheadLog.open(dir) }
        #expect(damage.reason.contains("not the last"))
    }

    /// A new segment that cannot be opened leaves the log appending where it was.
    @Test func aSegmentThatCannotBeOpenedLeavesTheLogAsItWas() throws {
        let dir = FileManagerTemp.directory("wal")
        let (wal, _, _) = try WriteAheadLog.open(dir)
        for i in 1...3 { try wal.append(payload(i)) }
        // What the next segment would be called is taken (by a directory): opening it fails.
        try FileIO.makeDirectory(dir + "/" + WriteAheadLog.segmentName(4))
        #expect(throws: FileError.self) { try wal.startNewSegment() }
        for i in 4...5 { try wal.append(payload(i)) }
        try wal.sync()
        FileIO.remove(dir + "/" + WriteAheadLog.segmentName(4))
        rmdir(dir + "/" + WriteAheadLog.segmentName(4))
        let scan = try WriteAheadLog.scan(dir)
        #expect(scan.records.map(\.lsn) == [1, 2, 3, 4, 5])
    }

    @Test func recordsAfterASnapshotAreReplayedFromItsLSN() throws {
        let dir = FileManagerTemp.directory("wal")
        do {
            let (wal, _, _) = try WriteAheadLog.open(dir)
            for i in 1...10 { try wal.append(payload(i)) }
            try SnapshotStore.write(dir, lsn: wal.lastLSN, state: Array("{\"n\":10}".utf8))
            try wal.startNewSegment()
            for i in 11...12 { try wal.append(payload(i)) }
            try wal.sync()
        }
        let snap = try #require(try SnapshotStore.load(dir))
        #expect(snap.lsn == 10)
        #expect(snap.state == ["n": 10])
        let (wal, records, _) = try WriteAheadLog.open(dir, afterLSN: snap.lsn)
        #expect(records.map(\.lsn) == [11, 12])
        #expect(wal.lastLSN == 12)
    }

    @Test func aDamagedSnapshotIsAnErrorNotAWrongState() throws {
        let dir = FileManagerTemp.directory("wal")
        try SnapshotStore.write(dir, lsn: 5, state: Array("{\"n\":5}".utf8))
        var bytes = try FileIO.read(SnapshotStore.path(dir))
        bytes[bytes.count - 2] = UInt8(ascii: "6")
        try FileIO.writeDurably(SnapshotStore.path(dir), bytes)
        #expect(throws: SnapshotStore.Invalid.self) { _ = try SnapshotStore.load(dir) }
    }

    @Test func aSecondNodeCannotOpenTheSameDataDirectory() throws {
        let dir = FileManagerTemp.directory("lock")
        let fd = try FileIO.lockExclusively(dir + "/LOCK")
        defer { close(fd) }
        // flock is per open file description: a second open in the same process conflicts too.
        #expect(throws: FileError.self) { _ = try FileIO.lockExclusively(dir + "/LOCK") }
    }
}
