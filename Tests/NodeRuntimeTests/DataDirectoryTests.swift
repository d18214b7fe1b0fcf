#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
@testable import NodeRuntime
import Testing
import TestSupport

/// SIM-1: recovery starts only on a snapshot and log that form one unbroken sequence, and says
/// what is missing otherwise, changing nothing.
@Suite struct DataDirectoryTests {
    let account = "111111111111"

    func payload(_ i: Int) -> [UInt8] { Array("{\"record\":\(i)}".utf8) }

    /// A data directory as a node leaves it: records 1...n, a snapshot at `snapshotAt` (the log
    /// restarting after it) if given.
    func directory(records n: Int, snapshotAt: Int? = nil) throws -> DataDirectory {
        let dir = DataDirectory(FileManagerTemp.directory("datadir"))
        let found = try dir.inspect(account: account)
        #expect(found.isNew)
        let wal = try dir.open(found, account: account)
        for i in 1...n {
            try wal.append(payload(i))
            if i == snapshotAt {
                try SnapshotStore.write(dir.path, lsn: wal.lastLSN, state: Array("{}".utf8))
                try wal.startNewSegment()
            }
        }
        try wal.sync()
        return dir
    }


    @Test func aWholeDirectoryOpensAndReplaysFromTheSnapshot() throws {
        let dir = try directory(records: 10, snapshotAt: 6)
        let found = try dir.inspect(account: account)
        #expect(!found.isNew)
        #expect(found.snapshot?.lsn == 6)
        #expect(found.log.records.map(\.lsn) == [7, 8, 9, 10])
    }

    @Test("SIM-1 without snapshot.json a log that starts after LSN 1 is refused, naming what is missing")
    func missingSnapshot() throws {
        let dir = try directory(records: 10, snapshotAt: 6)
        FileIO.remove(SnapshotStore.path(dir.path))
        let before = directoryContents(dir.path)
        let refused = try #require(throws: DataDirectory.Unusable.self) { _ = try dir.inspect(account: account) }
        #expect(refused.reason.contains("starts at LSN 7 and there is no snapshot.json to hold LSNs 1…6"))
        #expect(directoryContents(dir.path) == before)
        #expect(throws: StorageRepair.Refused.self) { _ = try StorageRepair.repair(dataDir: dir.path, account: account) }
    }

    @Test("SIM-1 a missing log segment is refused, with or without a snapshot; --repair restarts the log after the snapshot")
    func missingSegment() throws {
        let dir = try directory(records: 10, snapshotAt: 6)
        FileIO.remove(dir.walDir + "/" + WriteAheadLog.segmentName(7))
        let refused = try #require(throws: DataDirectory.Unusable.self) { _ = try dir.inspect(account: account) }
        #expect(refused.reason.contains("ends at LSN 6 but the log (wal/\(WriteAheadLog.segmentName(7))) is missing"))
        let report = try StorageRepair.repair(dataDir: dir.path, account: account)
        #expect(report.contains("started the log again after snapshot.json (LSN 6)"))
        let found = try dir.inspect(account: account)
        #expect(found.log.records.isEmpty && found.snapshot?.lsn == 6)

        let plain = try directory(records: 3)
        FileIO.remove(plain.walDir + "/" + WriteAheadLog.segmentName(1))
        let gone = try #require(throws: DataDirectory.Unusable.self) { _ = try plain.inspect(account: account) }
        #expect(gone.reason.contains("FORMAT says a node has used it"))
    }

    @Test func aDirectoryWithStateButNoLogIsNotNew() throws {
        let dir = DataDirectory(FileManagerTemp.directory("datadir"))
        try FileIO.makeDirectory(dir.path + "/blobs")
        try FileIO.writeDurably(dir.path + "/blobs/b1", [1, 2, 3])
        let refused = try #require(throws: DataDirectory.Unusable.self) { _ = try dir.inspect(account: account) }
        #expect(refused.reason.contains("it holds blobs/b1"))
    }

    @Test func anotherAccountsDirectoryIsRefused() throws {
        let dir = try directory(records: 2)
        let refused = try #require(throws: DataDirectory.Unusable.self) { _ = try dir.inspect(account: "222222222222") }
        #expect(refused.reason.contains("belongs to account 111111111111"))
    }

    /// A segment that does not follow the one before (LSNs missing between them) goes aside
    /// whole, kept, however many passes the repair takes.
    @Test func repairMovesASegmentAfterAGapAside() throws {
        let dir = try directory(records: 6, snapshotAt: 3)
        // A stray segment for LSNs 9…: 7 and 8 are missing.
        let stray = dir.walDir + "/" + WriteAheadLog.segmentName(9)
        let bytes = WriteAheadLog.encode(lsn: 9, payload: payload(9))
        try FileIO.writeDurably(stray, bytes)
        let refused = try #require(throws: DataDirectory.Unusable.self) { _ = try dir.inspect(account: account) }
        #expect(refused.reason.contains("LSNs 7…8 are missing"))
        let report = try StorageRepair.repair(dataDir: dir.path, account: account)
        #expect(report.contains("moved \(stray)"), "\(report)")
        let kept = try #require(FileIO.list(dir.path).first { $0.hasPrefix("repair-") })
        #expect(try FileIO.read(dir.path + "/" + kept + "/" + WriteAheadLog.segmentName(9)) == bytes)
        #expect(try dir.inspect(account: account).log.records.map(\.lsn) == [4, 5, 6])
    }

    @Test("SIM-1 --repair cuts damage, keeps what it cut, and moves later segments aside")
    func repairCutsDamage() throws {
        let dir = try directory(records: 8)
        let segment = dir.walDir + "/" + WriteAheadLog.segmentName(1)
        var bytes = try FileIO.read(segment)
        let cutAt = (1...3).map { WriteAheadLog.encode(lsn: UInt64($0), payload: payload($0)).count }.reduce(0, +)
        bytes[cutAt + 20] ^= 0x40  // inside record 4
        try FileIO.writeDurably(segment, bytes)
        try FileIO.writeDurably(dir.path + "/blobs.tmp", [1])  // a leftover
        let refused = try #require(throws: DataDirectory.Unusable.self) { _ = try dir.inspect(account: account) }
        #expect(refused.reason.contains("is damaged at byte \(cutAt)") && refused.reason.contains("--repair"))
        let report = try StorageRepair.repair(dataDir: dir.path, account: account)
        #expect(report.contains("cut \(segment) at byte \(cutAt)"))
        let kept = try #require(FileIO.list(dir.path).first { $0.hasPrefix("repair-") })
        #expect(try FileIO.read(dir.path + "/" + kept + "/" + WriteAheadLog.segmentName(1) + ".from-\(cutAt)") == Array(bytes[cutAt...]))
        let found = try dir.inspect(account: account)
        #expect(found.log.records.map(\.lsn) == [1, 2, 3])
        #expect(!FileIO.exists(dir.path + "/blobs.tmp"), "leftovers are removed when the directory is opened")
        #expect(try StorageRepair.repair(dataDir: dir.path, account: account).hasPrefix("nothing to repair"))
    }
}
