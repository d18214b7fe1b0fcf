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

    @Test func aFlippedBitInTheLastRecordIsATornTail() throws {
        let (dir, segment) = try logWith(3)
        var bytes = try FileIO.read(segment)
        bytes[bytes.count - 2] ^= 0x10
        try FileIO.writeDurably(segment, bytes)
        let (_, records, truncated) = try WriteAheadLog.open(dir)
        #expect(records.map(\.lsn) == [1, 2])
        #expect(truncated > 0)
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
        // startNewSegment removed the first segment; write a broken one before the current.
        let current = FileIO.list(dir).filter { $0.hasPrefix("segment-") }
        #expect(current.count == 1)
        try FileIO.writeDurably(dir + "/segment-00000000000000000001.log", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17])
        #expect(throws: WriteAheadLog.Corruption.self) { _ = try WriteAheadLog.open(dir) }
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
