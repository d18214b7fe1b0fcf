@testable import AccountNode
import Testing

/// The core's reply gate (SIM-1): what waits for the log comes out in order once it is durable.
@Suite struct CommitGateTests {
    static let work = Work.exportAudience(exportID: "export-1", audienceFile: "job-1", count: 10)

    @Test("SIM-1 held effects come out in order once their commit is durable")
    func heldUntilDurable() {
        var gate = CommitGate()
        var out: [Effect] = []
        #expect(gate.pass(.startWork(Self.work), into: &out) && out.count == 1, "nothing pending: out at once")
        out = []
        let commit = gate.submit()
        gate.pass(.startWork(Self.work), into: &out)
        gate.pass(.cancelWork(id: "other"), into: &out)
        #expect(out.isEmpty && gate.heldCount == 2)
        let released = gate.durable(through: commit)
        guard released.count == 2, case .startWork = released[0], case .cancelWork = released[1] else {
            Issue.record("released \(released)")
            return
        }
    }

    /// Found by the simulator (seed 54 with a slow disk): a cancellation goes out at once, so a
    /// start of the same work still held must not come out after it.
    @Test("SIM-1 a cancellation takes back a start of the same work still held")
    func cancelTakesBackHeldStart() {
        var gate = CommitGate()
        var out: [Effect] = []
        let commit = gate.submit()
        gate.pass(.startWork(Self.work), into: &out)
        gate.pass(.startWork(.exportAudience(exportID: "export-2", audienceFile: "job-1", count: 10)), into: &out)
        gate.dropHeldWork("export-1")
        let released = gate.durable(through: commit)
        #expect(released.count == 1)
        if case .startWork(let w)? = released.first { #expect(w.id == "export-2") } else { Issue.record("released \(released)") }
    }
}
