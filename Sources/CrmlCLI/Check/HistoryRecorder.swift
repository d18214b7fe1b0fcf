import Campaign
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
