import Foundation
import JSON

/// `report.html`: one self-contained page (inline SVG and CSS, nothing fetched) with the
/// verdict, the invariants, the figures, a timeline of every client's operations with the fault
/// windows shaded, delete propagation over time, and message diagrams of the jobs the checker
/// flagged (or the ones asked for). Drawings are bounded in size however long the run: the
/// timeline keeps one mark per client per pixel column (the worst outcome in it), diagrams show
/// at most 300 messages.
public enum HTMLReport {
    public static func render(_ a: Analysis, history: [HistoryEvent], dumps: [String: NodeDump], jobs: [String] = []) -> String {
        let (ops, faults) = Operation.pair(history)
        var h = """
            <!doctype html><html><head><meta charset="utf-8"><title>crml check: \(a.verdict.rawValue)</title><style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
            table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
            .valid{color:#1b7f3b}.invalid{color:#b3261e}.unknown{color:#a05a00}.held{color:#1b7f3b}.broken{color:#b3261e;font-weight:bold}
            .legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}svg{background:#fafafa;border:1px solid #eee}
            </style></head><body>
            <h1>crml check: <span class="\(a.verdict.rawValue)">\(a.verdict.rawValue.uppercased())</span></h1>

            """
        for why in a.unknownBecause { h += "<p class=\"unknown\">unknown because \(esc(why))</p>\n" }
        h += "<h2>Invariants</h2><table><tr><th>invariant</th><th>requirements</th><th>result</th><th>checked</th><th>what broke it</th></tr>\n"
        for r in a.invariants {
            h += "<tr><td><b>\(esc(r.id))</b><br>\(esc(r.statement))</td><td>\(esc(r.requirements))</td>"
                + "<td class=\"\(r.held ? "held" : "broken")\">\(r.held ? "held" : "BROKEN")</td><td>\(r.checked)</td><td>"
                + r.problems.map(esc).joined(separator: "<br>") + "</td></tr>\n"
        }
        h += "</table>\n<h2>Figures</h2><pre>" + esc(TextReport.render(a).components(after: "figures:\n")) + "</pre>\n"
        h += "<h2>Timeline</h2><p class=\"legend\">one row per client; <span style=\"background:#2a9d4b\"></span>ok<span style=\"background:#d1495b\"></span>fail"
            + "<span style=\"background:#f0a202\"></span>info (unknown outcome)<span style=\"background:#f4c7c3\"></span>fault in force</p>\n"
        h += timeline(ops, faults)
        h += "<h2>Delete propagation</h2><p>each dot: a delete acknowledged in one account (x: when) and the time until the other account's copy was gone (y)</p>\n"
        h += latencyChart(ops, dumps)
        let wanted = jobs.isEmpty ? Array(a.flaggedJobs.prefix(3)) : jobs
        if !wanted.isEmpty {
            h += "<h2>Messages</h2>\n"
            for id in wanted { h += "<h3>job \(esc(id))</h3>\n" + messageDiagram(id, dumps) }
        }
        h += "</body></html>\n"
        return h
    }

    static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "&": o += "&amp;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    static func timeline(_ ops: [Operation], _ faults: [HistoryEvent]) -> String {
        let processes = Array(Set(ops.map(\.process))).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        let end = max(1e-3, (ops.compactMap(\.completed) + ops.map(\.invoked) + faults.map(\.time)).max() ?? 1)
        let width = 1100.0, left = 60.0, lane = 14.0
        let height = Double(processes.count) * lane + 30
        func x(_ t: Double) -> Double { left + t / end * width }
        var svg = "<svg width=\"\(Int(left + width + 20))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        // Fault windows.
        var open: [String: (Double, String)] = [:]
        for e in faults {
            let key = e.value["id"]?.stringValue ?? e.value["kind"]?.stringValue ?? ""
            if e.f == "fault-start" { open[key] = (e.time, describe(e.value)) } else if let (t0, what) = open.removeValue(forKey: key) {
                svg += rect(x(t0), 0, max(1, x(e.time) - x(t0)), height - 20, "#f4c7c3", title: what)
            }
        }
        for (_, (t0, what)) in open { svg += rect(x(t0), 0, max(1, x(end) - x(t0)), height - 20, "#f4c7c3", title: what) }
        // Operations: per lane, one mark per pixel column, the worst outcome wins.
        let rank: [HistoryEvent.Kind: Int] = [.ok: 0, .fail: 1, .info: 2]
        let color: [HistoryEvent.Kind: String] = [.ok: "#2a9d4b", .fail: "#d1495b", .info: "#f0a202"]
        for (k, p) in processes.enumerated() {
            let y = Double(k) * lane + 2
            svg += "<text x=\"4\" y=\"\(Int(y + 10))\" font-size=\"10\">client \(esc(p))</text>\n"
            var columns: [Int: HistoryEvent.Kind] = [:]
            for op in ops where op.process == p {
                let a = Int(x(op.invoked)), b = Int(x(op.completed ?? end))
                for c in a...max(a, b) where (rank[columns[c] ?? .ok] ?? 0) <= (rank[op.outcome] ?? 0) { columns[c] = op.outcome }
            }
            for (c, kind) in columns.sorted(by: { $0.key < $1.key }) { svg += rect(Double(c), y, 1, lane - 4, color[kind] ?? "#999") }
        }
        let axis = height - 8
        for i in 0...10 {
            let t = end * Double(i) / 10
            svg += "<text x=\"\(Int(x(t)))\" y=\"\(Int(axis))\" font-size=\"10\">\(TextReport.format2(t)) s</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func describe(_ v: JSON) -> String {
        let kind = v["kind"]?.stringValue ?? "fault"
        let targets = [v["from"], v["to"], v["account"], v["name"]].compactMap { $0?.stringValue }
        return ([kind] + targets).joined(separator: " ")
    }

    static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ fill: String, title: String? = nil) -> String {
        let t = title.map { "<title>\(esc($0))</title>" } ?? ""
        return "<rect x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(max(1, Int(w)))\" height=\"\(Int(h))\" fill=\"\(fill)\">\(t)</rect>\n"
    }

    static func latencyChart(_ ops: [Operation], _ dumps: [String: NodeDump]) -> String {
        var points: [(Double, Double)] = []
        for d in ops where d.f == "delete" && d.ok {
            guard let arn = d.args["arn"]?.stringValue, let wall = d.completedWall, let t = d.completed else { continue }
            let id = String(arn.split(separator: "/").last ?? "")
            if let gone = dumps.values.first(where: { $0.account != d.account && $0.tombstones[id] != nil })?.tombstones[id] {
                points.append((t, max(0, gone - wall) * 1000))
            }
        }
        guard !points.isEmpty else { return "<p>no acknowledged delete with a known arrival</p>\n" }
        let maxT = max(1e-3, points.map(\.0).max()!), maxMs = max(1, points.map(\.1).max()!)
        let width = 1100.0, height = 220.0, left = 60.0
        var svg = "<svg width=\"\(Int(left + width + 20))\" height=\"\(Int(height + 30))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        for (t, ms) in points.prefix(5000) {
            svg += "<circle cx=\"\(Int(left + t / maxT * width))\" cy=\"\(Int(height - ms / maxMs * (height - 10)))\" r=\"2\" fill=\"#3366cc\"/>\n"
        }
        svg += "<text x=\"4\" y=\"12\" font-size=\"10\">\(TextReport.format2(maxMs)) ms</text><text x=\"4\" y=\"\(Int(height))\" font-size=\"10\">0</text>\n"
        svg += "<text x=\"\(Int(left + width - 40))\" y=\"\(Int(height + 20))\" font-size=\"10\">\(TextReport.format2(maxT)) s</text>\n"
        return svg + "</svg>\n"
    }

    /// A sequence diagram: accounts as vertical lanes, each peer message about the job as an
    /// arrow from its sending to its arrival (a message that never arrived ends in a cross), a
    /// second arrival of one message (a duplicate) as a dashed arrow, and a node's durable
    /// acknowledgement of a delete as a mark on its lane: what happened, in time order.
    static func messageDiagram(_ id: String, _ dumps: [String: NodeDump]) -> String {
        let accounts = dumps.keys.sorted()
        var sent: [(from: String, to: String, method: String, t: Double)] = []
        var received: [String: [Double]] = [:]  // from|to|method → arrival times
        var acks: [(account: String, t: Double)] = []
        for d in dumps.values {
            for m in d.peerMessages where m.jobID == id {
                if m.acknowledged {
                    acks.append((d.account, m.time))
                } else if m.inbound {
                    received["\(m.peer)|\(d.account)|\(m.method)", default: []].append(m.time)
                } else {
                    sent.append((d.account, m.peer, m.method, m.time))
                }
            }
        }
        sent.sort { $0.t < $1.t }
        guard let t0 = sent.first?.t else { return "<p>no peer messages recorded for this job</p>\n" }
        enum Row {
            case message(from: String, to: String, method: String, sent: Double, arrived: Double?)
            case duplicate(from: String, to: String, method: String, arrived: Double)
            case ack(account: String, at: Double)
            var time: Double {
                switch self {
                case .message(_, _, _, let t, _), .duplicate(_, _, _, let t), .ack(_, let t): return t
                }
            }
        }
        var rows: [Row] = []
        var cursor: [String: Int] = [:]
        for key in received.keys { received[key]?.sort() }
        for m in sent {
            let key = "\(m.from)|\(m.to)|\(m.method)"
            let n = cursor[key, default: 0]
            cursor[key] = n + 1
            let arrivals = received[key] ?? []
            rows.append(.message(from: m.from, to: m.to, method: m.method, sent: m.t, arrived: n < arrivals.count ? arrivals[n] : nil))
        }
        // Arrivals beyond the sends: copies the network made.
        for (key, times) in received {
            let parts = key.split(separator: "|").map(String.init)
            guard parts.count == 3 else { continue }
            for t in times.dropFirst(cursor[key, default: 0]) { rows.append(.duplicate(from: parts[0], to: parts[1], method: parts[2], arrived: t)) }
        }
        for a in acks { rows.append(.ack(account: a.account, at: a.t)) }
        rows.sort { $0.time < $1.time }
        let shown = Array(rows.prefix(300))
        let laneGap = 260.0, top = 30.0, rowH = 22.0
        let height = top + Double(shown.count) * rowH + 20
        var svg = "<svg width=\"\(Int(Double(accounts.count) * laneGap + 40))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        func laneX(_ a: String) -> Double { 40 + Double(accounts.firstIndex(of: a) ?? 0) * laneGap }
        func ms(_ t: Double) -> String { "+" + TextReport.format2((t - t0) * 1000) + " ms" }
        for a in accounts {
            svg += "<text x=\"\(Int(laneX(a) - 30))\" y=\"16\" font-size=\"11\">\(esc(a))</text><line x1=\"\(Int(laneX(a)))\" y1=\"22\" x2=\"\(Int(laneX(a)))\" y2=\"\(Int(height))\" stroke=\"#999\"/>\n"
        }
        for (k, row) in shown.enumerated() {
            let y = top + Double(k) * rowH + 10
            switch row {
            case .message(let from, let to, let method, let t, let arrival):
                let x1 = laneX(from), x2 = laneX(to)
                if arrival != nil {
                    svg += "<line x1=\"\(Int(x1))\" y1=\"\(Int(y))\" x2=\"\(Int(x2))\" y2=\"\(Int(y + 8))\" stroke=\"#3366cc\" stroke-width=\"1.5\"/>"
                    svg += "<circle cx=\"\(Int(x2))\" cy=\"\(Int(y + 8))\" r=\"3\" fill=\"#3366cc\"/>\n"
                } else {
                    let xm = (x1 + x2) / 2
                    svg += "<line x1=\"\(Int(x1))\" y1=\"\(Int(y))\" x2=\"\(Int(xm))\" y2=\"\(Int(y + 4))\" stroke=\"#d1495b\" stroke-dasharray=\"3,2\"/>"
                    svg += "<text x=\"\(Int(xm - 4))\" y=\"\(Int(y + 8))\" font-size=\"12\" fill=\"#d1495b\">×</text>\n"
                }
                let label = "\(method) \(ms(t))" + (arrival.map { " → \(ms($0))" } ?? " (not received)")
                svg += "<text x=\"\(Int(min(x1, x2) + 8))\" y=\"\(Int(y - 2))\" font-size=\"10\">\(esc(label))</text>\n"
            case .duplicate(let from, let to, let method, let t):
                let x1 = laneX(from), x2 = laneX(to)
                svg += "<line x1=\"\(Int(x1))\" y1=\"\(Int(y))\" x2=\"\(Int(x2))\" y2=\"\(Int(y + 8))\" stroke=\"#e69f00\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>"
                svg += "<circle cx=\"\(Int(x2))\" cy=\"\(Int(y + 8))\" r=\"3\" fill=\"#e69f00\"/>\n"
                svg += "<text x=\"\(Int(min(x1, x2) + 8))\" y=\"\(Int(y - 2))\" font-size=\"10\">\(esc("\(method) again (a copy) → \(ms(t))"))</text>\n"
            case .ack(let account, let t):
                let x = laneX(account)
                svg += "<rect x=\"\(Int(x - 4))\" y=\"\(Int(y))\" width=\"8\" height=\"8\" fill=\"#2e8b57\"/>"
                svg += "<text x=\"\(Int(x + 8))\" y=\"\(Int(y + 8))\" font-size=\"10\" fill=\"#2e8b57\">\(esc("delete acknowledged here (durable) \(ms(t))"))</text>\n"
            }
        }
        if rows.count > shown.count { svg += "<text x=\"10\" y=\"\(Int(height - 4))\" font-size=\"10\">… \(rows.count - shown.count) more events</text>\n" }
        return svg + "</svg>\n"
    }
}

extension String {
    /// What follows the first occurrence of `marker` (all of it when absent).
    func components(after marker: String) -> String {
        guard let r = range(of: marker) else { return self }
        return String(self[r.upperBound...])
    }
}
