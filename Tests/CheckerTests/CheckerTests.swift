import Checker
import JSON
import Testing

/// The checker on hand-made histories and final states: each invariant is shown holding and
/// broken, so a verdict of `valid` means something.
@Suite struct CheckerTests {
    static let a = "111111111111", b = "222222222222"
    static let id = "0f8c2a7e-1111-4a4a-8b8b-000000000001"
    static var arnA: String { "arn:aws:cleanrooms-ml:us-west-1:\(a):audience-generation-job/\(id)" }
    static var arnB: String { "arn:aws:cleanrooms-ml:us-west-1:\(b):audience-generation-job/\(id)" }
    static let setup = RunSetup(accounts: [a, b], buckets: [a: ["seeds-\(a)", "data-\(a)", "out-\(a)"], b: ["seeds-\(b)", "data-\(b)", "out-\(b)"]])

    /// A history built step by step.
    final class Builder {
        var events: [HistoryEvent] = []
        var t = 0.0
        func add(_ process: String, _ account: String?, _ kind: HistoryEvent.Kind, _ f: String, _ value: JSON = [:]) {
            t += 0.01
            events.append(HistoryEvent(index: events.count, time: t, wall: 1_000_000 + t, process: process, account: account, kind: kind, f: f, value: value))
        }
        func op(_ process: String, _ account: String, _ f: String, _ args: JSON, _ kind: HistoryEvent.Kind, _ result: JSON = [:]) {
            add(process, account, .invoke, f, args)
            add(process, account, kind, f, result)
        }
    }

    static func copy(_ account: String, role: String, name: String, tags: JSON = [:], view: JSON? = nil, runs: Int = 0) -> JSON {
        let arn = account == a ? arnA : arnB
        return ["arn": .string(arn), "id": .string(id), "name": .string(name), "role": .string(role), "counterpart": .string(account == a ? b : a),
                "status": "ACTIVE", "runs": .int(runs), "tags": tags, "view": view ?? ["audienceGenerationJobArn": .string(arn), "name": .string(name)]]
    }

    static func dump(_ account: String, copies: [JSON] = [], tombstoneAt: Double? = nil, audit: [JSON] = [], audienceFiles: [String] = []) -> NodeDump {
        var t: [JSON] = []
        if let tombstoneAt { t.append(["jobID": .string(id), "deletedAt": .number(tombstoneAt)]) }
        return NodeDump(["account": .string(account), "jobs": .array(copies), "exports": [], "tombstones": .array(t), "outbox": [], "startIntents": [],
                         "objects": [], "audit": .array(audit), "audienceFiles": .array(audienceFiles.map { .string($0) }), "peerMessagesSent": ["peer.StartJob": 1]])!
    }

    static func result(_ history: Builder, _ dumps: [NodeDump]) -> Analysis {
        Checker.analyze(history: history.events, dumps: Dictionary(uniqueKeysWithValues: dumps.map { ($0.account, $0) }), setup: setup)
    }

    static func broken(_ a: Analysis) -> Set<String> { Set(a.invariants.filter { !$0.held }.map(\.id)) }

    @Test("SIM-4: a clean history (start, reads, delete) is valid, with the delete's propagation measured")
    func valid() {
        let h = Builder()
        h.op("0", Self.a, "start", ["name": "j", "cam": .string(Self.b)], .ok, ["arn": .string(Self.arnA)])
        h.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true])
        h.op("0", Self.a, "delete", ["arn": .string(Self.arnA)], .ok)
        h.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": false])
        h.add("nemesis", nil, .info, "fault-start", ["kind": "partition", "id": "1"])
        h.add("nemesis", nil, .info, "fault-end", ["kind": "partition", "id": "1"])
        let ackWall = h.events[5].wall
        let audit: [JSON] = [["eventName": "DeleteAudienceGenerationJob", "resources": [.string(Self.arnA)]], ["eventName": "StartAudienceGenerationJob", "resources": [.string(Self.arnA)]]]
        let r = Self.result(h, [Self.dump(Self.a, tombstoneAt: ackWall - 0.001, audit: audit), Self.dump(Self.b, tombstoneAt: ackWall + 0.004)])
        #expect(r.verdict == .valid, "\(TextReport.render(r))")
        #expect(r.figures.deleteLatencies.count == 1 && abs(r.figures.deleteLatencies[0] - 0.004) < 1e-6)
        #expect(r.figures.faults == ["partition": 1])
        #expect(r.figures.availabilityByOperation["get"]?.ok == 2)
        let text = TextReport.render(r)
        #expect(text.contains("verdict: VALID") && text.contains("p50 4.00 ms"))
        let html = HTMLReport.render(r, history: h.events, dumps: [Self.a: Self.dump(Self.a), Self.b: Self.dump(Self.b)])
        #expect(html.hasPrefix("<!doctype html>") && html.contains("<svg") && !html.contains("http-equiv") && !html.contains("src="))
    }

    @Test("SIM-4 XA-8: a copy left on one side, a resurrected job, and a lost start are each reported broken")
    func brokenStates() {
        let h = Builder()
        h.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA)])
        h.op("0", Self.a, "delete", ["arn": .string(Self.arnA)], .ok)
        h.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": false])
        h.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true])
        let auditA: [JSON] = [["eventName": "DeleteAudienceGenerationJob", "resources": [.string(Self.arnA)]]]
        let r = Self.result(h, [Self.dump(Self.a, audit: auditA), Self.dump(Self.b, copies: [Self.copy(Self.b, role: "owner", name: "\(Self.a)-j")])])
        #expect(r.verdict == .invalid)
        #expect(Self.broken(r) == ["both-or-neither", "delete-removes-everything", "no-resurrection"])
        #expect(r.flaggedJobs == [Self.id])
        #expect(r.figures.staleReads == 1)

        let lost = Builder()
        lost.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA)])
        let r2 = Self.result(lost, [Self.dump(Self.a), Self.dump(Self.b)])
        #expect(Self.broken(r2) == ["no-lost-writes"])
    }

    @Test("SIM-4 XA-8: a node that acknowledged the other side's delete (durably) must not show the copy again, even if no read saw it gone first")
    func resurrectionAfterAppliedDelete() {
        let h = Builder()
        h.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA)])
        h.op("0", Self.a, "delete", ["arn": .string(Self.arnA)], .ok)
        h.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true])  // before B applied it: a stale read, allowed
        h.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true])  // after: a resurrection
        let applied = (h.events[5].wall + h.events[6].wall) / 2
        let auditA: [JSON] = [["eventName": "DeleteAudienceGenerationJob", "resources": [.string(Self.arnA)]]]
        func dumpB(appliedAt: Double) -> NodeDump {
            var j = Self.dump(Self.b, tombstoneAt: appliedAt).raw
            j["peerMessages"] = [["t": .number(appliedAt), "dir": "ack", "peer": .string(Self.a), "method": "peer.DeleteJob", "jobID": .string(Self.id)]]
            return NodeDump(j)!
        }
        let r = Self.result(h, [Self.dump(Self.a, tombstoneAt: h.events[3].wall, audit: auditA), dumpB(appliedAt: applied)])
        #expect(Self.broken(r) == ["no-resurrection"], "\(TextReport.render(r))")
        #expect(r.invariants.first { $0.id == "no-resurrection" }?.problems.first?.contains("acknowledged the other account's delete") == true)
        // The diagram shows the start, its late copy and B's acknowledgement in time order.
        var a = Self.dump(Self.a).raw, b = dumpB(appliedAt: applied).raw
        a["peerMessages"] = [["t": .number(applied - 0.02), "dir": "out", "peer": .string(Self.b), "method": "peer.StartJob", "jobID": .string(Self.id)]]
        b["peerMessages"] = .array((b["peerMessages"]?.arrayValue ?? []) + [
            ["t": .number(applied - 0.01), "dir": "in", "peer": .string(Self.a), "method": "peer.StartJob", "jobID": .string(Self.id)],
            ["t": .number(applied + 0.1), "dir": "in", "peer": .string(Self.a), "method": "peer.StartJob", "jobID": .string(Self.id)]])
        let html = HTMLReport.render(r, history: h.events, dumps: [Self.a: NodeDump(a)!, Self.b: NodeDump(b)!])
        let copy = html.range(of: "peer.StartJob again (a copy)"), ack = html.range(of: "delete acknowledged here")
        #expect(copy != nil && ack != nil && ack!.lowerBound < copy!.lowerBound, "the acknowledgement, then the late copy")
        #expect(html.contains("id=\"job-\(Self.id)\"") && html.contains("href=\"#job-\(Self.id)\""), "the flagged job links to its diagram")
        // Applied after both reads: both were merely stale.
        let later = Self.result(h, [Self.dump(Self.a, tombstoneAt: h.events[3].wall, audit: auditA), dumpB(appliedAt: h.events[7].wall + 0.001)])
        #expect(later.verdict == .valid, "\(TextReport.render(later))")
        #expect(later.figures.staleReads == 2)
    }

    /// What report.html draws without hovering: the run's parameters under a banner when its
    /// nodes were broken on purpose, each fault labelled with its kind and accounts, axes with
    /// titles, and a lost message as an arrow to the lane it was meant for, ending in a cross.
    @Test("SIM-4 the report's pictures say what they show")
    func reportPictures() {
        let h = Builder()
        h.op("0", Self.a, "start", ["name": "j", "cam": .string(Self.b)], .ok, ["arn": .string(Self.arnA)])
        h.add("nemesis", nil, .info, "fault-start", ["kind": "partition", "id": "1", "from": .string(Self.a), "to": .string(Self.b)])
        h.op("0", Self.a, "delete", ["arn": .string(Self.arnA)], .ok)
        h.add("nemesis", nil, .info, "fault-end", ["kind": "partition", "id": "1", "from": .string(Self.a), "to": .string(Self.b)])
        var a = Self.dump(Self.a).raw
        a["peerMessages"] = [["t": .number(h.events[4].wall), "dir": "out", "peer": .string(Self.b), "method": "peer.DeleteJob", "jobID": .string(Self.id)]]
        let dumps = [Self.a: NodeDump(a)!, Self.b: Self.dump(Self.b)]
        let r = Checker.analyze(history: h.events, dumps: dumps, setup: Self.setup)
        let run = RunParameters(json: ["seed": 7, "accounts": 2, "nemesis": ["partition"], "breaks": ["drop-outbox"], "version": "0.3.0"])
        let html = HTMLReport.render(r, history: h.events, dumps: dumps, jobs: [Self.id], run: run)
        #expect(html.contains("<div class=\"banner\">DELIBERATELY BROKEN NODES (drop-outbox)"))
        #expect(html.contains("<th>seed</th><td>7</td>") && html.contains("<th>deliberately broken</th><td>drop-outbox</td>"))
        #expect(html.contains(">partition \(Self.a)↔\(Self.b)</text>"), "the fault's label is drawn, not only a tooltip")
        #expect(html.contains(">seconds since the run started</text>"))
        // B's lane is the second, at x 300: the lost delete is drawn all the way there, in red, with an arrowhead and a cross.
        #expect(html.contains("x2=\"300\" y2=") && html.contains("stroke=\"#d1495b\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\" marker-end=\"url(#head-red)\""))
        #expect(html.contains(">×</text>") && html.contains("peer.DeleteJob +0.00 ms (not received)"))
        #expect(html.contains("lost (never received)"), "the legend names what the red arrows mean")
        let text = TextReport.render(r, run: run)
        #expect(text.hasPrefix(String(repeating: "!", count: 78) + "\n!! DELIBERATELY BROKEN NODES"))
        #expect(text.contains("run: seed 7, accounts 2, nemesis partition, deliberately broken drop-outbox, crml 0.3.0"))
    }

    @Test("SIM-4 XA-5 PV-1 TG-2 XA-2 XA-10: a wrong name, a leaked location, a request tag on the owner's copy, a run on the submitter, a propagated delete in the audit trail")
    func brokenRules() {
        let h = Builder()
        h.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA), "seen": .string("s3://out-\(Self.b)/x")])
        let leaky: JSON = ["audienceGenerationJobArn": .string(Self.arnA), "statusDetails": ["message": .string("s3://data-\(Self.b)/interactions")]]
        let a = Self.dump(Self.a, copies: [Self.copy(Self.a, role: "submitter", name: "j", view: leaky, runs: 1)])
        let b = Self.dump(Self.b, copies: [Self.copy(Self.b, role: "owner", name: "j", tags: ["req-x": "1"])],
                          audit: [["eventName": "DeleteAudienceGenerationJob", "resources": [.string(Self.arnB)]]])
        let r = Self.result(h, [a, b])
        #expect(Self.broken(r) == ["names", "no-location-leaks", "tags", "one-run", "audit"], "\(TextReport.render(r))")
    }

    @Test("XA-8: delete states: a read that sees a copy being deleted counts as seeing it gone; a copy back to ACTIVE after a delete state, or left in one at the end, is broken")
    func deleteStates() {
        // Being deleted is not being there: a read of DELETE_IN_PROGRESS after the delete is no resurrection.
        let ok = Builder()
        ok.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA)])
        ok.op("0", Self.a, "delete", ["arn": .string(Self.arnA)], .ok)
        ok.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true, "status": "DELETE_IN_PROGRESS"])
        ok.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": false])
        let fine = Self.result(ok, [Self.dump(Self.a, tombstoneAt: 1), Self.dump(Self.b, tombstoneAt: 1)])
        #expect(!Self.broken(fine).contains("delete-states") && !Self.broken(fine).contains("no-resurrection"), "\(TextReport.render(fine))")
        #expect(fine.figures.staleReads == 0)

        // DELETE_IN_PROGRESS, then ACTIVE again: broken.
        let back = Builder()
        back.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA)])
        back.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true, "status": "DELETE_IN_PROGRESS"])
        back.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true, "status": "ACTIVE"])
        let r1 = Self.result(back, [Self.dump(Self.a), Self.dump(Self.b)])
        #expect(Self.broken(r1).contains("delete-states"), "\(TextReport.render(r1))")

        // Gone, then back in a delete state: a resurrection all the same.
        let again = Builder()
        again.op("0", Self.a, "start", ["name": "j"], .ok, ["arn": .string(Self.arnA)])
        again.op("0", Self.a, "delete", ["arn": .string(Self.arnA)], .ok)
        again.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": false])
        again.op("1", Self.b, "get", ["arn": .string(Self.arnB)], .ok, ["present": true, "status": "DELETE_IN_PROGRESS"])
        let r3 = Self.result(again, [Self.dump(Self.a, tombstoneAt: 1), Self.dump(Self.b, tombstoneAt: 1)])
        #expect(Self.broken(r3).contains("no-resurrection"), "\(TextReport.render(r3))")

        // A copy still DELETE_PENDING once the cluster settled: broken.
        var stuck = Self.copy(Self.a, role: "submitter", name: "j")
        stuck["status"] = "DELETE_PENDING"
        let r2 = Self.result(Builder(), [Self.dump(Self.a, copies: [stuck]), Self.dump(Self.b, copies: [Self.copy(Self.b, role: "owner", name: "\(Self.a)-j")])])
        #expect(Self.broken(r2).contains("delete-states"), "\(TextReport.render(r2))")
    }

    @Test("SIM-4: a node whose final state is missing makes the verdict unknown (exit 2), whatever else held")
    func unknown() {
        let h = Builder()
        h.op("0", Self.a, "list", [:], .info)
        let r = Self.result(h, [Self.dump(Self.a)])
        #expect(r.verdict == .unknown && r.verdict.exitCode == 2)
        #expect(r.unknownBecause == ["no final state from account \(Self.b)"])
    }

    @Test("SIM-4: histories are read line by line; a torn last line is reported, an invoke without completion counts as unknown (info)")
    func historyParsing() {
        let lines = [
            #"{"index":0,"time":0.1,"wall":1,"process":"0","account":"111111111111","type":"invoke","f":"get","value":{"arn":"x"}}"#,
            #"{"index":1,"time":0.2,"wall":1,"process":"1","account":"111111111111","type":"invoke","f":"list","value":{}}"#,
            #"{"index":2,"time":0.3,"wall":1,"process":"1","account":"111111111111","type":"ok","f":"list","value":{"arns":[]}}"#,
            #"{"index":3,"time":0.4,"wall":1,"proc"#,
        ]
        let (events, bad) = HistoryEvent.parse(Array(lines.joined(separator: "\n").utf8))
        #expect(events.count == 3 && bad == [4])
        let (ops, _) = Operation.pair(events)
        #expect(ops.map(\.f) == ["get", "list"])
        #expect(ops[0].outcome == .info && ops[0].completed == nil)
        #expect(ops[1].ok)
        for e in events { #expect(HistoryEvent(json: e.json) == e) }
    }
}
