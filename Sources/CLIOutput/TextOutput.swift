import JSON

/// aws-cli's `--output text`: scalars as they are, lists of scalars as one tab-separated line,
/// objects as a line of their scalar values (keys in order) followed by their lists and
/// objects, each under the upper-cased key that holds it. The layout is aws-cli's own
/// (`awscli/text.py`), so scripts written against aws-cli read it the same way.
public enum TextOutput {
    public static func render(_ value: JSON) -> String {
        var out = ""
        format(value, identifier: nil, scalarKeys: nil, into: &out)
        return out
    }

    static func isScalar(_ v: JSON) -> Bool {
        switch v {
        case .array, .object: return false
        default: return true
        }
    }

    private static func format(_ item: JSON, identifier: String?, scalarKeys: [String]?, into out: inout String) {
        switch item {
        case .object(let o): formatObject(o, identifier: identifier, scalarKeys: scalarKeys, into: &out)
        case .array(let a): formatList(a, identifier: identifier, into: &out)
        default: out += PythonText.str(item) + "\n"
        }
    }

    private static func formatList(_ items: [JSON], identifier: String?, into out: inout String) {
        guard !items.isEmpty else { return }
        if items.contains(where: { $0.objectValue != nil }) {
            var keys = Set<String>()
            for case .object(let o) in items { for (k, v) in o where isScalar(v) { keys.insert(k) } }
            let all = keys.sorted()
            for element in items { format(element, identifier: identifier, scalarKeys: all, into: &out) }
        } else if items.contains(where: { $0.arrayValue != nil }) {
            let scalars = items.filter(isScalar), others = items.filter { !isScalar($0) }
            if !scalars.isEmpty { scalarList(scalars, identifier: identifier, into: &out) }
            for o in others { format(o, identifier: identifier, scalarKeys: nil, into: &out) }
        } else {
            scalarList(items, identifier: identifier, into: &out)
        }
    }

    private static func scalarList(_ items: [JSON], identifier: String?, into out: inout String) {
        if let identifier {
            for i in items { out += identifier.uppercased() + "\t" + PythonText.str(i) + "\n" }
        } else {
            out += items.map(PythonText.str).joined(separator: "\t") + "\n"
        }
    }

    private static func formatObject(_ o: [String: JSON], identifier: String?, scalarKeys: [String]?, into out: inout String) {
        var scalars: [String] = []
        var others: [(String, JSON)] = []
        if let scalarKeys {
            for k in scalarKeys { scalars.append(o[k].map(PythonText.str) ?? "") }
            for k in Set(o.keys).subtracting(scalarKeys).sorted() { others.append((k, o[k]!)) }
        } else {
            for k in o.keys.sorted() {
                if isScalar(o[k]!) { scalars.append(PythonText.str(o[k]!)) } else { others.append((k, o[k]!)) }
            }
        }
        if !scalars.isEmpty {
            if let identifier { scalars.insert(identifier.uppercased(), at: 0) }
            out += scalars.joined(separator: "\t") + "\n"
        }
        for (k, v) in others { format(v, identifier: k, scalarKeys: nil, into: &out) }
    }
}

/// Values as Python's `str()` prints them, which is how aws-cli's text and table output show
/// them: `None`, `True`, `False`, integers without a decimal point.
enum PythonText {
    static func str(_ v: JSON) -> String {
        switch v {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .string(let s): return s
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e16 { return String(Int(n)) }
            return "\(n)"
        case .array, .object: return JSONWriter.string(v)
        }
    }
}
