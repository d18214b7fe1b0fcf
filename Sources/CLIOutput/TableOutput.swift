import JSON

/// aws-cli's `--output table`: the answer as nested boxed sections, titled by the operation
/// and by each key that holds a list or an object; a list of objects becomes a table with a
/// column per scalar key; a table wider than the terminal turns its one-row sections on their
/// side. The layout and widths are aws-cli's own (`awscli/formatter.py`, `awscli/table.py`,
/// without colours). Characters count one column each.
public enum TableOutput {
    /// `value` as a table titled `title` (the operation), at most `width` columns wide where it
    /// can be folded.
    public static func render(_ value: JSON, title: String, width: Int = 80) -> String {
        var table = MultiTable()
        guard build(&table, title: title, value, indent: 0) else { return "" }
        return table.render(terminalWidth: width)
    }

    /// Adds `current` under `title`; false when there is nothing to show.
    @discardableResult
    static func build(_ table: inout MultiTable, title: String?, _ current: JSON, indent: Int) -> Bool {
        switch current {
        case .null, .bool(false): return false
        case .string(let s) where s.isEmpty: return false
        case .array(let a) where a.isEmpty: return false
        case .object(let o) where o.isEmpty: return false
        case .number(let n) where n == 0: return false
        default: break
        }
        if let title { table.newSection(title, indent: indent) }
        if case .array(let items) = current {
            if items[0].objectValue != nil {
                subTableFromList(&table, items, indent: indent, title: title)
            } else {
                for item in items {
                    if TextOutput.isScalar(item) {
                        table.addRow([PythonText.str(item)])
                    } else if let a = item.arrayValue, a.allSatisfy(TextOutput.isScalar) {
                        table.addRow(a.map(PythonText.str))
                    } else {
                        build(&table, title: nil, item, indent: indent)
                    }
                }
            }
        }
        if case .object(let o) = current { subTableFromDict(&table, o, indent: indent) }
        return true
    }

    static func groupScalarKeys(_ o: [String: JSON]) -> (headers: [String], more: [String]) {
        (o.keys.filter { TextOutput.isScalar(o[$0]!) }.sorted(), o.keys.filter { !TextOutput.isScalar(o[$0]!) }.sorted())
    }

    static func subTableFromDict(_ table: inout MultiTable, _ o: [String: JSON], indent: Int) {
        let (headers, more) = groupScalarKeys(o)
        if headers.count == 1 {
            table.addRow([headers[0], PythonText.str(o[headers[0]]!)])
        } else if !headers.isEmpty {
            table.addHeader(headers)
            table.addRow(headers.map { PythonText.str(o[$0]!) })
        }
        for k in more { build(&table, title: k, o[k]!, indent: indent + 1) }
    }

    static func subTableFromList(_ table: inout MultiTable, _ items: [JSON], indent: Int, title: String?) {
        var headerSet = Set<String>(), moreSet = Set<String>()
        for case .object(let o) in items {
            let (h, m) = groupScalarKeys(o)
            headerSet.formUnion(h)
            moreSet.formUnion(m)
        }
        let headers = headerSet.sorted(), more = moreSet.sorted()
        table.addHeader(headers)
        var first = true
        for element in items {
            let o = element.objectValue ?? [:]
            if !first && !more.isEmpty {
                table.newSection(title ?? "", indent: indent)
                table.addHeader(headers)
            }
            first = false
            table.addRow(headers.map { o[$0].map(PythonText.str) ?? "" })
            for k in more where o[k] != nil { build(&table, title: k, o[k]!, indent: indent + 1) }
        }
    }
}

/// aws-cli's `MultiTable`: sections of a title, column headers and rows, drawn in one width.
struct MultiTable {
    struct Section {
        var title = ""
        var headers: [String] = []
        var rows: [[String]] = []
        var indent = 0
        var maxWidths: [Int] = []

        mutating func addHeader(_ h: [String]) {
            updateWidths(h)
            headers = h
        }

        mutating func addRow(_ r: [String]) {
            rows.append(r)
            updateWidths(r)
        }

        mutating func updateWidths(_ row: [String]) {
            if maxWidths.isEmpty {
                maxWidths = row.map(\.count)
            } else {
                for (i, el) in row.enumerated() where i < maxWidths.count { maxWidths[i] = max(maxWidths[i], el.count) }
            }
        }

        /// Column widths (with `padding`), scaled to add up to `maxWidth` as aws-cli scales them
        /// (Python's rounding, half to even).
        func columnWidths(padding: Int, maxWidth: Int?) -> [Int] {
            let unscaled = maxWidths.map { $0 + padding }
            guard let maxWidth, !unscaled.isEmpty else { return unscaled }
            let factor = Double(maxWidth) / Double(unscaled.reduce(0, +))
            var scaled = unscaled.map { Int((factor * Double($0)).rounded(.toNearestOrEven)) }
            var off = scaled.reduce(0, +) - maxWidth
            while off != 0 {
                let order = off < 0 ? Array(scaled.indices.reversed()) : Array(scaled.indices)
                for i in order {
                    if off > 0 { scaled[i] -= 1; off -= 1 } else { scaled[i] += 1; off += 1 }
                    if off == 0 { break }
                }
            }
            return scaled
        }

        func totalWidth(padding: Int, outerPadding: Int) -> Int {
            let columns = maxWidths.reduce(0) { $0 + $1 + padding } + 2 + 2 * outerPadding
            return max(title.count + 2 + 2 * outerPadding, columns)
        }
    }

    private var sections: [Section] = []

    mutating func newSection(_ title: String, indent: Int) {
        var s = Section()
        s.title = title
        s.indent = indent
        sections.append(s)
    }

    mutating func addHeader(_ h: [String]) { sections[sections.count - 1].addHeader(h) }
    mutating func addRow(_ r: [String]) { sections[sections.count - 1].addRow(r) }

    func maxWidth() -> Int { sections.map { $0.totalWidth(padding: 4, outerPadding: $0.indent) }.max() ?? 0 }

    mutating func render(terminalWidth: Int) -> String {
        var width = maxWidth()
        if width > terminalWidth {
            // One-row sections on their side: a row per header.
            for (i, s) in sections.enumerated() where s.rows.count == 1 && !s.headers.isEmpty {
                var turned = Section()
                turned.title = s.title
                turned.indent = s.indent
                for (h, v) in zip(s.headers, s.rows[0]) { turned.addRow([h, v]) }
                sections[i] = turned
            }
            width = maxWidth()
        }
        var out = String(repeating: "-", count: width) + "\n"
        for s in sections { render(s, width: width, into: &out) }
        return out
    }

    private func render(_ s: Section, width total: Int, into out: inout String) {
        let width = total - 2 * s.indent
        let bars = String(repeating: "|", count: s.indent)
        func line(_ text: String) { out += bars + text + bars + "\n" }
        if !s.title.isEmpty {
            line(MultiTable.center(s.title, width, left: "|", right: "|"))
            if s.headers.isEmpty && s.rows.isEmpty { line("+" + String(repeating: "-", count: width - 2) + "+") }
        }
        let widths = s.columnWidths(padding: 4, maxWidth: width)
        func lineBreak() {
            var parts = ""
            for (k, w) in widths.enumerated() { parts += k == 0 ? "+" + String(repeating: "-", count: w - 2) + "+" : String(repeating: "-", count: w - 1) + "+" }
            line(parts)
        }
        if !s.headers.isEmpty {
            var text = ""
            for (k, (w, h)) in zip(widths, s.headers).enumerated() { text += MultiTable.center(h, w, left: k == 0 ? "|" : "", right: "|") }
            lineBreak()
            line(text)
        }
        guard !s.rows.isEmpty, !widths.isEmpty else { return }
        lineBreak()
        for row in s.rows {
            var text = ""
            for (k, (w, el)) in zip(widths, row).enumerated() { text += MultiTable.alignLeft(el, w, left: k == 0 ? "|" : "", right: "|") }
            line(text)
        }
        lineBreak()
    }

    static func center(_ text: String, _ length: Int, left: String, right: String) -> String {
        let start = length / 2 - text.count / 2 - 1
        var out = left + String(repeating: " ", count: max(0, start)) + text
        let soFar = left.count + start + text.count
        out += String(repeating: " ", count: max(0, length - right.count - soFar)) + right
        return out
    }

    static func alignLeft(_ text: String, _ length: Int, left: String, right: String) -> String {
        let padding = length - (text.count + 2 + left.count + right.count) >= 0 ? 2 : 0
        let soFar = left.count + padding + text.count
        return left + String(repeating: " ", count: padding) + text + String(repeating: " ", count: max(0, length - soFar - right.count)) + right
    }
}
