import AccountNode
import JSON
import StorageFormat

/// A simulated node's disk: the write-ahead log as one segment's bytes, of which a prefix is
/// synced; blobs; the FORMAT mark. Appends are buffered until a sync; a crash keeps what was
/// synced and, with torn writes, any prefix of the rest (so the last record may be torn).
/// Recovery reads it through the same code as a real node (`RecoveryCheck`).
struct SimDisk {
    static let segment = LogFormat.segmentName(1)
    private(set) var log: [UInt8] = []
    private(set) var synced = 0
    private(set) var lastLSN: UInt64 = 0
    var blobs: [String: [UInt8]] = [:]
    var format: [UInt8]?

    /// Appends a record (not yet durable); returns the log's length after it.
    mutating func append(_ payload: [UInt8]) -> Int {
        lastLSN += 1
        log += LogFormat.encode(lsn: lastLSN, payload: payload)
        return log.count
    }

    /// Makes everything up to `length` durable.
    mutating func sync(through length: Int) { synced = max(synced, min(length, log.count)) }

    /// A crash: what was not synced is lost, but for a prefix of it when `keep` says how much.
    mutating func crash(keeping keep: Int) {
        log = Array(log.prefix(synced + max(0, min(keep, log.count - synced))))
        synced = log.count
    }

    var unsyncedBytes: Int { log.count - synced }

    /// What a start reads: the checks and the state, as a real node's recovery does them; a torn
    /// tail is cut off the log.
    mutating func recover(account: String) throws -> (state: NodeState, replayed: Int, torn: Int) {
        let found = try RecoveryCheck.inspect(path: "sim://\(account)", account: account, format: format, snapshot: nil, snapshotPath: "sim://\(account)/snapshot.json",
                                              walDir: "sim://\(account)/wal", segments: log.isEmpty && format == nil ? [] : [(SimDisk.segment, log)],
                                              stateFiles: format == nil && !blobs.isEmpty ? blobs.keys.sorted().map { "blobs/\($0)" } : [])
        var torn = 0
        if let t = found.log.tornTail {
            torn = t.length
            log = Array(log.prefix(t.offset))
            synced = log.count
        }
        lastLSN = found.log.lastLSN
        if format == nil { format = RecoveryCheck.format(account: account) }
        return (try RecoveryCheck.state(found), found.log.records.count, torn)
    }
}
