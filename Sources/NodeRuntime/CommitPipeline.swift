import AccountNode
import Dispatch
import JSON
import Foundation
import Synchronization

/// The node's storage writer: a thread of its own that performs what must reach the disk, in
/// the order the event loop submits it, and tells the loop when each commit is durable.
///
/// Group commit: the thread takes every job queued since its last pass, writes the blobs (each
/// durably), appends all log records, and makes them durable with one `fdatasync` before it
/// reports any of them done. A storage failure stops the process (fail-stop): an
/// acknowledgement the node could not keep is never given.
final class CommitPipeline: @unchecked Sendable {
    enum Job {
        /// Blobs to store, then records to log; `done` gets the last LSN once durable.
        case commit(blobs: [(id: String, bytes: [UInt8])], records: [[UInt8]], done: @Sendable (UInt64) -> Void)
        /// Audit events: encoded here (off the loop thread), appended, not synced.
        case audit([AuditEvent])
        /// A snapshot of the state after every earlier job; the log restarts after it.
        case snapshot(state: [UInt8], done: @Sendable (UInt64) -> Void)
        /// The audit file rewritten with these events (encoded here, off the loop thread).
        case compactAudit([AuditEvent])
    }

    // Owned by the writer thread once `start` has run.
    private let wal: WriteAheadLog
    private let blobs: BlobStore
    private let audit: AuditLog
    private let dataDir: String

    private let queue = Mutex<[Job]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let idle = Mutex<Bool>(true)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(wal: WriteAheadLog, blobs: BlobStore, audit: AuditLog, dataDir: String) {
        self.wal = wal
        self.blobs = blobs
        self.audit = audit
        self.dataDir = dataDir
    }

    func start() {
        let t = Thread { self.run() }
        t.name = "commit-pipeline"
        t.start()
    }

    func submit(_ job: Job) {
        queue.withLock { $0.append(job) }
        wake.signal()
    }

    /// Finishes every queued job, then stops the thread.
    func drainAndStop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wake.signal()
        finished.wait()
    }

    private func run() {
        while true {
            wake.wait()
            let jobs = queue.withLock { q -> [Job] in
                let all = q
                q.removeAll()
                return all
            }
            process(jobs)
            if stopped.load(ordering: .sequentiallyConsistent) && queue.withLock({ $0.isEmpty }) {
                audit.sync()
                finished.signal()
                return
            }
        }
    }

    private func process(_ jobs: [Job]) {
        var dones: [(@Sendable (UInt64) -> Void, UInt64)] = []
        // Audit events are encoded after the log is synced, so they never delay a commit.
        var auditEvents: [AuditEvent] = []
        func writeAudit() {
            guard !auditEvents.isEmpty else { return }
            let lines = auditEvents.map(\.line)
            auditEvents.removeAll()
            fail { () throws(FileError) in try audit.append(lines) }
        }
        var unsynced = false
        func flush() {
            guard unsynced || !dones.isEmpty else { return }
            if unsynced { fail { () throws(FileError) in try wal.sync() } }
            unsynced = false
            for (done, lsn) in dones { done(lsn) }
            dones.removeAll()
        }
        for job in jobs {
            switch job {
            case .commit(let bs, let records, let done):
                for b in bs { fail { () throws(FileError) in try blobs.write(b.id, b.bytes) } }
                for r in records { fail { () throws(FileError) in _ = try wal.append(r) } }
                unsynced = unsynced || !records.isEmpty
                dones.append((done, wal.lastLSN))
            case .audit(let events):
                auditEvents += events
            case .snapshot(let state, let done):
                flush()
                let lsn = wal.lastLSN
                fail { () throws(FileError) in try SnapshotStore.write(dataDir, lsn: lsn, state: state) }
                fail { () throws(FileError) in try wal.startNewSegment() }
                done(lsn)
            case .compactAudit(let events):
                flush()  // commits queued before it are not kept waiting behind the rewrite
                writeAudit()
                let lines = events.map(\.line)
                fail { () throws(FileError) in try audit.compact(lines) }
            }
        }
        flush()
        writeAudit()
    }

    /// Storage errors are fatal: the node stops rather than acknowledge what it cannot keep.
    private func fail(_ body: () throws(FileError) -> Void) {
        do { try body() } catch {
            FileHandle.standardError.write(Data("fatal: storage failure, stopping the node: \(error)\n".utf8))
            exit(70)
        }
    }
}
