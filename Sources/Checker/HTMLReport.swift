import Foundation
import JSON

/// `report.html`: one self-contained page (inline SVG and CSS, nothing fetched) with the run's
/// parameters (and a loud warning when its nodes were broken on purpose), the verdict, the
/// invariants (job ids link to their diagrams), the figures as a table, a timeline of every
/// client's operations under labelled fault bars, delete propagation over time, and message
/// diagrams of the jobs the checker flagged (or the ones asked for). Every chart has axes with
/// ticks and titles and a legend. Drawings are bounded in size however long the run: the
/// timeline keeps one mark per client per pixel column (the worst outcome in it), diagrams show
/// at most 300 messages.
public enum HTMLReport {
    public static func render(_ a: Analysis, history: [HistoryEvent], dumps: [String: NodeDump], jobs: [String] = [], run: RunParameters? = nil) -> String {
        let (ops, faults) = Operation.pair(history)
        let wanted = jobs.isEmpty ? Array(a.flaggedJobs.prefix(10)) : jobs
        var h = """
            <!doctype html><html><head><meta charset="utf-8"><title>\(run?.tool ?? "crml check"): \(a.verdict.rawValue)</title><style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1240px}h1{font-size:24px}h2{font-size:18px;margin-top:30px}
            table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
            td.num{text-align:right;font-variant-numeric:tabular-nums}
            .valid{color:#1b7f3b}.invalid{color:#b3261e}.unknown{color:#a05a00}.held{color:#1b7f3b}.broken{color:#b3261e;font-weight:bold}
            .banner{background:#b3261e;color:#fff;font-size:26px;font-weight:bold;padding:16px 20px;margin:12px 0;border-radius:4px}
            .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}
            svg{background:#fcfcfc;border:1px solid #e4e4e4}svg text{font-family:system-ui,sans-serif}
            </style></head><body>

            """
        if let warning = run?.brokenWarning { h += "<div class=\"banner\">\(esc(warning))</div>\n" }
        h += "<h1>\(run?.tool ?? "crml check"): <span class=\"\(a.verdict.rawValue)\">\(a.verdict.rawValue.uppercased())</span></h1>\n"
        for why in a.unknownBecause { h += "<p class=\"unknown\">unknown because \(esc(why))</p>\n" }
        if let run {
            h += "<h2>Run</h2><table>" + run.fields.map { "<tr><th>\(esc($0.name))</th><td>\(esc($0.value))</td></tr>" }.joined() + "</table>\n"
        }
        h += "<h2>Invariants</h2><table><tr><th>invariant</th><th>requirements</th><th>result</th><th>checked</th><th>what broke it</th></tr>\n"
        for r in a.invariants {
            h += "<tr><td><b>\(esc(r.id))</b><br>\(esc(r.statement))</td><td>\(esc(r.requirements))</td>"
                + "<td class=\"\(r.held ? "held" : "broken")\">\(r.held ? "held" : "BROKEN")</td><td class=\"num\">\(r.checked)</td><td>"
                + r.problems.map { linkJobs(esc($0), wanted) }.joined(separator: "<br>") + "</td></tr>\n"
        }
        h += "</table>\n<h2>Figures</h2>\n" + figuresTable(a.figures)
        h += "<h2>Timeline</h2><p class=\"legend\">one row per client, each fault a labelled bar above them (shaded below while it lasts):"
            + "<span style=\"background:#2a9d4b\"></span>ok<span style=\"background:#d1495b\"></span>fail"
            + "<span style=\"background:#f0a202\"></span>info (outcome unknown)<span style=\"background:#e8a09a\"></span>fault</p>\n"
        h += timeline(ops, faults)
        h += "<h2>Delete propagation</h2><p>each dot: a delete acknowledged in one account (x: when) and the time until the other account's copy was gone (y)</p>\n"
        h += latencyChart(ops, dumps)
        if !wanted.isEmpty {
            h += "<h2>Messages</h2><p>jobs: " + wanted.map { "<a href=\"#job-\(esc($0))\">\(esc($0))</a>" }.joined(separator: ", ") + "</p>\n"
            h += "<p class=\"legend\"><svg width=\"600\" height=\"26\" style=\"border:0;background:none;vertical-align:middle\">" + diagramDefs
                + legendArrow(0, "#3366cc", dashed: false, "delivered") + legendArrow(130, "#d1495b", dashed: true, "lost (never received) ×")
                + legendArrow(330, "#e69f00", dashed: true, "a copy")
                + "<rect x=\"450\" y=\"9\" width=\"8\" height=\"8\" fill=\"#2e8b57\"/><text x=\"464\" y=\"17\" font-size=\"11\">delete durable here</text></svg></p>\n"
            for id in wanted { h += "<h3 id=\"job-\(esc(id))\">job \(esc(id))</h3>\n" + messageDiagram(id, dumps) }
        }
        h += "</body></html>\n"
        return h
    }

    /// Job ids in (escaped) text become links to their diagrams, where there is one.
    static func linkJobs(_ text: String, _ jobs: [String]) -> String {
        var out = text
        for id in jobs where out.contains(id) { out = out.replacingOccurrences(of: id, with: "<a href=\"#job-\(id)\">\(id)</a>") }
        return out
    }

    static func figuresTable(_ f: Figures) -> String {
        var rows: [(name: String, value: String, indent: Bool)] = []
        if let p50 = f.percentile(0.5), let p95 = f.percentile(0.95), let p99 = f.percentile(0.99), let max = f.deleteLatencies.max() {
            rows.append(("delete propagation, \(f.deleteLatencies.count) deletes (acknowledged in one account → gone in the other)",
                         "p50 \(TextReport.ms(p50)), p95 \(TextReport.ms(p95)), p99 \(TextReport.ms(p99)), max \(TextReport.ms(max))", false))
        } else {
            rows.append(("delete propagation", "no acknowledged delete with a known arrival", false))
        }
        rows.append(("reads that saw a copy after its delete was acknowledged in the other account", "\(f.staleReads)", false))
        for (k, v) in f.availabilityByAccount.sorted(by: { $0.key < $1.key }) { rows.append(("availability of account \(k)", TextReport.pct(v), false)) }
        for (k, v) in f.availabilityByOperation.sorted(by: { $0.key < $1.key }) { rows.append(("availability of \(k)", TextReport.pct(v), false)) }
        let sent = f.peerMessagesSent.values.reduce(0, +)
        rows.append(("peer messages (per client operation)", "\(sent) (\(TextReport.format2(Double(sent) / Double(max(1, f.clientOperations)))))", false))
        for (k, v) in f.peerMessagesSent.sorted(by: { $0.key < $1.key }) { rows.append((k, "\(v)", true)) }
        rows.append(("faults", f.faults.isEmpty ? "none" : f.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "), false))
        return "<table><tr><th>figure</th><th>value</th></tr>"
            + rows.map { "<tr><td\($0.indent ? " style=\"padding-left:24px\"" : "")>\(esc($0.name))</td><td class=\"num\">\(esc($0.value))</td></tr>" }.joined()
            + "</table>\n"
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

    /// Tick positions from 0 to `end`: steps of 1, 2 or 5 times a power of ten, about `count`.
    static func ticks(_ end: Double, count: Int = 8) -> [Double] {
        guard end > 0, end.isFinite else { return [0] }
        let raw = end / Double(count)
        let power = pow(10, log10(raw).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? raw
        return stride(from: 0.0, through: end * (1 + 1e-9), by: step).map { $0 }
    }

    static func label(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : TextReport.format2(v) }

    static func timeline(_ ops: [Operation], _ faults: [HistoryEvent]) -> String {
        let processes = Array(Set(ops.map(\.process))).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        let end = max(1e-3, (ops.compactMap(\.completed) + ops.map(\.invoked) + faults.map(\.time)).max() ?? 1)
        let width = 1060.0, left = 90.0, lane = 14.0, barH = 16.0
        func x(_ t: Double) -> Double { left + t / end * width }
        // Fault windows, each in the first bar row free where it starts (its label included).
        var windows: [(t0: Double, t1: Double, label: String, row: Int)] = []
        var open: [String: (Double, String)] = [:]
        var rowEnds: [Double] = []
        func place(_ t0: Double, _ t1: Double, _ what: String) {
            let labelEnd = t0 + (Double(what.count) * 7 + 12) / width * end
            let row = rowEnds.firstIndex { $0 <= t0 } ?? rowEnds.count
            if row == rowEnds.count { rowEnds.append(0) }
            rowEnds[row] = max(t1, labelEnd)
            windows.append((t0, t1, what, row))
        }
        for e in faults {
            let key = e.value["id"]?.stringValue ?? e.value["kind"]?.stringValue ?? ""
            if e.f == "fault-start" { open[key] = (e.time, FaultDescription.short(e.value)) } else if let (t0, what) = open.removeValue(forKey: key) {
                place(t0, e.time, what)
            }
        }
        for (_, (t0, what)) in open.sorted(by: { $0.value.0 < $1.value.0 }) { place(t0, end, what + " (to the end)") }
        let faultTop = 8.0, clientsTop = faultTop + Double(rowEnds.count) * (barH + 3) + 10
        let clientsBottom = clientsTop + Double(processes.count) * lane
        let height = clientsBottom + 46
        var svg = "<svg width=\"\(Int(left + width + 30))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        if !windows.isEmpty { svg += "<text x=\"\(Int(left - 6))\" y=\"\(Int(faultTop + 12))\" font-size=\"11\" font-weight=\"bold\" text-anchor=\"end\">faults</text>\n" }
        for w in windows {
            svg += rect(x(w.t0), clientsTop, max(1, x(w.t1) - x(w.t0)), clientsBottom - clientsTop, "#f6d5d1", title: w.label)
            let y = faultTop + Double(w.row) * (barH + 3)
            svg += rect(x(w.t0), y, max(2, x(w.t1) - x(w.t0)), barH, "#e8a09a", title: w.label)
            svg += "<text x=\"\(Int(x(w.t0) + 3))\" y=\"\(Int(y + 12))\" font-size=\"11\" fill=\"#5a1410\">\(esc(w.label))</text>\n"
        }
        // Operations: per lane, one mark per pixel column, the worst outcome wins.
        let rank: [HistoryEvent.Kind: Int] = [.ok: 0, .fail: 1, .info: 2]
        let color: [HistoryEvent.Kind: String] = [.ok: "#2a9d4b", .fail: "#d1495b", .info: "#f0a202"]
        for (k, p) in processes.enumerated() {
            let y = clientsTop + Double(k) * lane + 2
            svg += "<text x=\"\(Int(left - 6))\" y=\"\(Int(y + 10))\" font-size=\"10\" text-anchor=\"end\">client \(esc(p))</text>\n"
            var columns: [Int: HistoryEvent.Kind] = [:]
            for op in ops where op.process == p {
                let a = Int(x(op.invoked)), b = Int(x(op.completed ?? end))
                for c in a...max(a, b) where (rank[columns[c] ?? .ok] ?? 0) <= (rank[op.outcome] ?? 0) { columns[c] = op.outcome }
            }
            for (c, kind) in columns.sorted(by: { $0.key < $1.key }) { svg += rect(Double(c), y, 1, lane - 4, color[kind] ?? "#999") }
        }
        svg += axisX(from: left, width: width, y: clientsBottom + 2, end: end, title: "seconds since the run started")
        let mid = Int((clientsTop + clientsBottom) / 2)
        svg += "<text x=\"14\" y=\"\(mid)\" font-size=\"11\" transform=\"rotate(-90 14 \(mid))\" text-anchor=\"middle\">clients</text>\n"
        return svg + "</svg>\n"
    }

    /// A horizontal axis at `y`, `width` pixels from `left`, for values 0…`end`: a line, labelled
    /// ticks, and a title under them.
    static func axisX(from left: Double, width: Double, y: Double, end: Double, title: String) -> String {
        var svg = "<line x1=\"\(Int(left))\" y1=\"\(Int(y))\" x2=\"\(Int(left + width))\" y2=\"\(Int(y))\" stroke=\"#555\"/>\n"
        for t in ticks(end) {
            let x = left + t / end * width
            svg += "<line x1=\"\(Int(x))\" y1=\"\(Int(y))\" x2=\"\(Int(x))\" y2=\"\(Int(y + 5))\" stroke=\"#555\"/>"
                + "<text x=\"\(Int(x))\" y=\"\(Int(y + 17))\" font-size=\"10\" text-anchor=\"middle\">\(label(t))</text>\n"
        }
        return svg + "<text x=\"\(Int(left + width / 2))\" y=\"\(Int(y + 34))\" font-size=\"11\" text-anchor=\"middle\">\(esc(title))</text>\n"
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
        // The y axis ends at the first tick at or above the slowest delete.
        let step = ticks(maxMs, count: 5).dropFirst().first ?? maxMs
        let topMs = (maxMs / step).rounded(.up) * step
        let width = 1060.0, height = 220.0, left = 90.0, top = 10.0
        func y(_ ms: Double) -> Double { top + height - ms / topMs * height }
        var svg = "<svg width=\"\(Int(left + width + 30))\" height=\"\(Int(top + height + 50))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        svg += "<line x1=\"\(Int(left))\" y1=\"\(Int(top))\" x2=\"\(Int(left))\" y2=\"\(Int(top + height))\" stroke=\"#555\"/>\n"
        for v in ticks(topMs, count: 5) {
            svg += "<line x1=\"\(Int(left - 5))\" y1=\"\(Int(y(v)))\" x2=\"\(Int(left + width))\" y2=\"\(Int(y(v)))\" stroke=\"#e4e4e4\"/>"
                + "<text x=\"\(Int(left - 8))\" y=\"\(Int(y(v) + 4))\" font-size=\"10\" text-anchor=\"end\">\(label(v))</text>\n"
        }
        let mid = Int(top + height / 2)
        svg += "<text x=\"16\" y=\"\(mid)\" font-size=\"11\" transform=\"rotate(-90 16 \(mid))\" text-anchor=\"middle\">delay (ms)</text>\n"
        for (t, ms) in points.prefix(5000) {
            svg += "<circle cx=\"\(Int(left + t / maxT * width))\" cy=\"\(Int(y(ms)))\" r=\"2.5\" fill=\"#3366cc\"/>\n"
        }
        svg += axisX(from: left, width: width, y: top + height, end: maxT, title: "seconds since the run started (when the delete was acknowledged)")
        return svg + "</svg>\n"
    }

    /// Arrowheads for the message diagrams, one per colour.
    static let diagramDefs = "<defs>" + [("blue", "#3366cc"), ("red", "#d1495b"), ("orange", "#e69f00")].map { name, color in
        "<marker id=\"head-\(name)\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"\(color)\"/></marker>"
    }.joined() + "</defs>\n"

    static func arrow(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String, dashed: Bool) -> String {
        let name = color == "#3366cc" ? "blue" : color == "#d1495b" ? "red" : "orange"
        return "<line x1=\"\(Int(x1))\" y1=\"\(Int(y1))\" x2=\"\(Int(x2))\" y2=\"\(Int(y2))\" stroke=\"\(color)\" stroke-width=\"1.5\""
            + (dashed ? " stroke-dasharray=\"5,3\"" : "") + " marker-end=\"url(#head-\(name))\"/>"
    }

    static func legendArrow(_ x: Double, _ color: String, dashed: Bool, _ text: String) -> String {
        arrow(x, 13, x + 36, 13, color, dashed: dashed) + "<text x=\"\(Int(x + 42))\" y=\"17\" font-size=\"11\">\(esc(text))</text>"
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
        var svg = "<svg width=\"\(Int(Double(accounts.count) * laneGap + 40))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n" + diagramDefs
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
                    svg += arrow(x1, y, x2, y + 8, "#3366cc", dashed: false) + "\n"
                } else {
                    // Drawn to the lane it was meant for, ending in a cross: it never got there.
                    svg += arrow(x1, y, x2, y + 8, "#d1495b", dashed: true)
                    svg += "<text x=\"\(Int(x2 - 4))\" y=\"\(Int(y + 12))\" font-size=\"13\" font-weight=\"bold\" fill=\"#d1495b\">×</text>\n"
                }
                let label = "\(method) \(ms(t))" + (arrival.map { " → \(ms($0))" } ?? " (not received)")
                svg += "<text x=\"\(Int(min(x1, x2) + 8))\" y=\"\(Int(y - 2))\" font-size=\"10\">\(esc(label))</text>\n"
            case .duplicate(let from, let to, let method, let t):
                let x1 = laneX(from), x2 = laneX(to)
                svg += arrow(x1, y, x2, y + 8, "#e69f00", dashed: true) + "\n"
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
