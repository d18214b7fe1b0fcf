#if canImport(Glibc)
import Glibc
#endif
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
/// reports any of them done.
///
/// Storage failures (a full disk, a failed sync) never acknowledge what was not kept: the
/// pass's records are cut off the log again (and the cut made durable), every commit of the pass
/// and every later one is reported failed, and the pipeline writes nothing more until a `probe`
/// finds the disk writable again. The log then holds exactly the commits reported durable. Only
/// when even that cut cannot be made durable does the process stop (exit 70): then it no longer
/// knows what the disk holds. Audit lines that cannot be written wait in memory (the newest
/// `auditBacklogLimit`) and go out with the next pass that can write them.
final class CommitPipeline: @unchecked Sendable {
    /// A commit's outcome: the last LSN once durable, or why it was not kept.
    typealias Completion = @Sendable (Result<UInt64, FileError>) -> Void

    enum Job {
        /// Blobs to store, then records to log.
        case commit(blobs: [(id: String, bytes: [UInt8])], records: [[UInt8]], done: Completion)
        /// Audit events: encoded here (off the loop thread), appended, not synced.
        case audit([AuditEvent])
        /// A snapshot of the state after every earlier job; the log restarts after it.
        case snapshot(state: [UInt8], done: Completion)
        /// The audit file rewritten with these events (encoded here, off the loop thread).
        case compactAudit([AuditEvent])
        /// Is the disk writable again? Writes and syncs a probe file; on success the pipeline
        /// takes commits again.
        case probe(done: @Sendable (Result<Void, FileError>) -> Void)
        /// Storage failed outside the pipeline (a work output could not be written): make what
        /// came before durable, then refuse commits as for a failure of its own; `done` runs
        /// once the log is quiet and holds exactly what was acknowledged.
        case enterFailure(FileError, done: @Sendable () -> Void)
    }

    // Owned by the writer thread once `start` has run.
    private let wal: WriteAheadLog
    private let blobs: BlobStore
    private let audit: AuditLog
    private let dataDir: String
    /// Why commits are refused until a probe succeeds (nil: writing).
    private var failure: FileError?
    /// The log as of the last successful sync: what a failed pass is cut back to.
    private var durableLSN: UInt64
    private var durableBytes: Int
    private var auditBacklog: [[UInt8]] = []
    private var auditLinesDropped = 0
    static let auditBacklogLimit = 100_000
    /// Bytes a probe writes: room for a few commits, not just one byte.
    static let probeSize = 256 * 1024

    private let queue = Mutex<[Job]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(wal: WriteAheadLog, blobs: BlobStore, audit: AuditLog, dataDir: String) {
        self.wal = wal
        self.blobs = blobs
        self.audit = audit
        self.dataDir = dataDir
        durableLSN = wal.lastLSN
        durableBytes = wal.segmentBytes
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
        // Commits appended since the last sync; reported once the sync says they are durable.
        var unsynced: [(Completion, UInt64)] = []
        var auditEvents: [AuditEvent] = []

        func refuse(_ done: Completion) { done(.failure(failure!)) }

        /// Makes the pass's appends durable, or cuts them off again and refuses them.
        func flush() {
            guard !unsynced.isEmpty else { return }
            do throws(FileError) {
                try wal.sync()
                durableLSN = wal.lastLSN
                durableBytes = wal.segmentBytes
                for (done, lsn) in unsynced { done(.success(lsn)) }
            } catch {
                fail(error)
                for (done, _) in unsynced { refuse(done) }
            }
            unsynced.removeAll()
        }

        for job in jobs {
            switch job {
            case .commit(let bs, let records, let done):
                guard failure == nil else { refuse(done); continue }
                do throws(FileError) {
                    for b in bs { try blobs.write(b.id, b.bytes) }
                    for r in records { try wal.append(r) }
                    unsynced.append((done, wal.lastLSN))
                } catch {
                    // Nothing of this pass is acknowledged: earlier commits in it go too.
                    fail(error)
                    for (d, _) in unsynced { refuse(d) }
                    unsynced.removeAll()
                    refuse(done)
                }
            case .audit(let events):
                auditEvents += events
            case .snapshot(let state, let done):
                flush()
                guard failure == nil else { refuse(done); continue }
                let lsn = wal.lastLSN
                do throws(FileError) { try SnapshotStore.write(dataDir, lsn: lsn, state: state) } catch {
                    // The old snapshot and log still hold everything: a snapshot that could not
                    // be written is only a snapshot not taken.
                    done(.failure(error))
                    continue
                }
                do throws(FileError) { try wal.startNewSegment() } catch {
                    // The log goes on in the segment it was in (or the new one, if only removing
                    // the old ones failed); either way nothing more is written until a probe passes.
                    durableLSN = wal.lastLSN
                    durableBytes = wal.segmentBytes
                    fail(error)
                    done(.failure(error))
                    continue
                }
                durableLSN = wal.lastLSN
                durableBytes = wal.segmentBytes
                done(.success(lsn))
            case .compactAudit(let events):
                flush()  // commits queued before it are not kept waiting behind the rewrite
                writeAudit(&auditEvents)
                guard auditBacklog.isEmpty else { continue }  // the disk is full: compact later
                do throws(FileError) { try audit.compact(events.map(\.line)) } catch {
                    Log.write("storage: the audit file was not compacted (\(error)); it keeps growing until it can be")
                }
                // The rewrite's buffers (the whole trail, encoded) are freed: give their pages back.
                FileIO.returnFreedMemory()
            case .enterFailure(let error, let done):
                flush()
                if failure == nil { fail(error) }
                done()
            case .probe(let done):
                flush()
                do throws(FileError) {
                    try probeDisk()
                    if failure != nil { Log.write("storage: the disk takes writes again; commits resume") }
                    failure = nil
                    done(.success(()))
                } catch {
                    done(.failure(error))
                }
            }
        }
        flush()
        writeAudit(&auditEvents)
    }

    /// Stops taking commits: cuts the log back to what is durable. If even that fails, the node
    /// can no longer say what its disk holds and stops.
    private func fail(_ error: FileError) {
        if failure == nil { Log.write("storage: \(error); refusing writes until the disk takes them again") }
        failure = error
        do throws(FileError) { try wal.rollBack(toLSN: durableLSN, bytes: durableBytes) } catch {
            Log.write("fatal: storage failure, and the log could not be cut back to what is durable (\(error)); stopping the node")
            exit(70)
        }
    }

    private func probeDisk() throws(FileError) {
        let path = dataDir + "/probe.tmp"
        defer { FileIO.remove(path) }
        try FileIO.writeDurably(path, [UInt8](repeating: 0, count: CommitPipeline.probeSize))
    }

    /// Appends the pass's audit lines after what is waiting from earlier passes.
    private func writeAudit(_ events: inout [AuditEvent]) {
        auditBacklog += events.map(\.line)
        events.removeAll()
        guard !auditBacklog.isEmpty else { return }
        do throws(FileError) {
            try audit.append(auditBacklog)
            auditBacklog.removeAll()
            if auditLinesDropped > 0 {
                Log.write("storage: audit lines are written again; \(auditLinesDropped) were dropped while the disk was full")
                auditLinesDropped = 0
            }
        } catch {
            if auditBacklog.count > CommitPipeline.auditBacklogLimit {
                auditLinesDropped += auditBacklog.count - CommitPipeline.auditBacklogLimit
                auditBacklog.removeFirst(auditBacklog.count - CommitPipeline.auditBacklogLimit)
            }
        }
    }
}
