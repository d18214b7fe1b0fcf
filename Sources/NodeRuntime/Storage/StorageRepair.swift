#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `crml-node --repair`: makes a data directory that recovery refuses usable again, on purpose
/// and with a copy of everything it takes away.
///
/// What it does, until `DataDirectory.inspect` passes:
/// - damage in the log: the damaged segment is cut at the damage and every later segment is
///   moved aside; the cut bytes are kept in `repair-<time>/<segment>.from-<offset>`;
/// - a log that ends before the snapshot: segments the snapshot covers are moved aside, so the
///   log restarts after it (records after the snapshot that were in a lost segment stay lost);
/// - a torn tail: cut, with a copy, as a start would.
/// It refuses what it cannot mend without inventing state: a damaged snapshot, a log that starts
/// after LSN 1 without a snapshot, a directory of another account.
public enum StorageRepair {
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// Repairs `dataDir` of `account`; returns what it did, in words.
    public static func repair(dataDir: String, account: String) throws -> String {
        let dir = DataDirectory(dataDir)
        var done: [String] = []
        var keep: String? = nil
        func keepDir() throws -> String {
            if let keep { return keep }
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            let k = dataDir + "/repair-" + stamp
            try FileIO.makeDirectory(k)
            keep = k
            return k
        }
        /// A name in the keep folder that nothing has taken yet: a copy is never overwritten.
        func keptName(_ name: String) throws -> String {
            let base = try keepDir() + "/" + name
            var target = base, n = 1
            while FileIO.exists(target) { n += 1; target = base + ".\(n)" }
            return target
        }
        func moveAside(_ path: String) throws {
            let target = try keptName(String(path.split(separator: "/").last!))
            guard rename(path, target) == 0 else { throw FileError("rename", path) }
            done.append("moved \(path) to \(target)")
        }
        func cut(_ path: String, at offset: Int, _ why: String) throws {
            let bytes = try FileIO.read(path)
            let target = try keptName(String(path.split(separator: "/").last!) + ".from-\(offset)")
            try FileIO.writeDurably(target, Array(bytes[offset...]))
            guard truncate(path, off_t(offset)) == 0 else { throw FileError("truncate", path) }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); close(fd) }
            done.append("cut \(path) at byte \(offset) (\(why)); the \(bytes.count - offset) bytes cut are in \(target)")
        }
        func segments() -> [String] {
            FileIO.list(dir.walDir).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }.map { dir.walDir + "/" + $0 }
        }

        for _ in 0..<64 {
            do {
                let found = try dir.inspect(account: account)
                if let torn = found.log.tornTail { try cut(torn.path, at: torn.offset, "a torn tail: \(torn.reason)") }
                _ = try dir.open(try dir.inspect(account: account), account: account)
                try FileIO.syncDirectory(of: dir.walDir + "/.")
                return done.isEmpty ? "nothing to repair: \(dataDir) is whole" : "repaired \(dataDir):\n  " + done.joined(separator: "\n  ")
            } catch let unusable as DataDirectory.Unusable {
                switch unusable.kind {
                case .damagedLog(let damage):
                    // Damage from the first byte (a segment that does not follow the one before,
                    // or is misnamed): the whole segment goes aside, not an empty husk of it.
                    if damage.offset == 0 { try moveAside(damage.file) } else { try cut(damage.file, at: damage.offset, damage.reason) }
                    for later in segments() where later > damage.file { try moveAside(later) }
                case .logBreaksAfterSnapshot(let s):
                    // The log starts again after the snapshot.
                    for segment in segments() { try moveAside(segment) }
                    try FileIO.makeDirectory(dir.walDir)
                    let fresh = dir.walDir + "/" + WriteAheadLog.segmentName(s + 1)
                    try FileIO.writeDurably(fresh, [])
                    done.append("started the log again after snapshot.json (LSN \(s)) with an empty \(fresh); records after LSN \(s) that were in missing segments are not recoverable")
                case .noSnapshotBeforeLog, .stateWithoutLog, .notThisNodes:
                    throw Refused(description: "\(unusable)\n--repair cannot mend this without inventing state")
                }
            }
        }
        throw Refused(description: "gave up repairing \(dataDir) after 64 passes; so far: \(done.joined(separator: "; "))")
    }
}
