import Checker
import Foundation
import JSON
import Synchronization
import Wire

/// Appends a run's history to `DIR/history.jsonl` as it happens (so a run cut short still
/// leaves what it did), numbering events in the order they are recorded. Safe from any thread.
final class HistoryRecorder: @unchecked Sendable {
    private let handle: FileHandle
    private let state = Mutex<(next: Int, events: [HistoryEvent], progress: Progress)>((0, [], Progress()))
    let start = EventLoop.now()

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else { throw CommandFailure(code: .failed, message: "cannot write \(path)") }
        handle = h
    }

    /// Records an event and returns it.
    @discardableResult
    func record(process: String, account: String?, _ kind: HistoryEvent.Kind, _ f: String, _ value: JSON) -> HistoryEvent {
        state.withLock { s in
            let e = HistoryEvent(index: s.next, time: EventLoop.now() - start, wall: Date().timeIntervalSince1970, process: process,
                                 account: account, kind: kind, f: f, value: value)
            s.next += 1
            s.events.append(e)
            s.progress.count(e)
            // Written under the lock, so the file's lines are in index order.
            handle.write(Data(JSONWriter.bytes(e.json) + [0x0A]))
            return e
        }
    }

    var events: [HistoryEvent] { state.withLock { $0.events } }

    /// What the run has done so far, for the live progress line.
    var progress: Progress { state.withLock { $0.progress } }

    /// Counts of client outcomes, and the faults in force.
    struct Progress {
        var ok = 0, fail = 0, info = 0
        var time = 0.0
        /// Faults started and not yet ended, by id.
        var faults: [String: String] = [:]

        mutating func count(_ e: HistoryEvent) {
            time = e.time
            if e.process == "nemesis" {
                let id = e.value["id"]?.stringValue ?? ""
                if e.f == "fault-start" { faults[id] = FaultDescription.short(e.value) } else if e.f == "fault-end" { faults[id] = nil }
                return
            }
            switch e.kind {
            case .ok: ok += 1
            case .fail: fail += 1
            case .info: info += 1
            case .invoke: break
            }
        }

        var line: String {
            let t = String(format: "%6.1f s", time)
            let now = faults.isEmpty ? "no fault" : "faults now: " + faults.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }.map(\.value).joined(separator: "; ")
            return "  \(t): \(ok + fail + info) operations done (ok \(ok), fail \(fail), info \(info)); \(now)"
        }
    }

    func close() { try? handle.close() }
}

/// A small seedable generator (xorshift64*): the workload's and the nemesis's choices come from
/// it, so a seed gives the same schedule.
struct ScheduleRandom {
    private var s: UInt64

    init(seed: UInt64, stream: UInt64) { s = (seed &* 0x9E37_79B9_7F4A_7C15) ^ (stream &+ 0xD1B5_4A32_D192_ED03) | 1 }

    mutating func next() -> UInt64 {
        s ^= s >> 12
        s ^= s << 25
        s ^= s >> 27
        return s &* 0x2545_F491_4F6C_DD1D
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }

    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}
