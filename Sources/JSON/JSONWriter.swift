/// Serialises `JSON` deterministically: object keys sorted (Swift's string order), integers without
/// a fraction, no insignificant whitespace unless `pretty`. The output is always valid UTF-8 JSON
/// on one line (compact form), so it can be framed by newlines.
public enum JSONWriter {
    public static func string(_ value: JSON, pretty: Bool = false) -> String {
        String(decoding: bytes(value, pretty: pretty), as: UTF8.self)
    }

    public static func bytes(_ value: JSON, pretty: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        write(value, into: &out, pretty: pretty, indent: 0)
        return out
    }

    public static func write(_ value: JSON, into out: inout [UInt8], pretty: Bool = false, indent: Int = 0) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): writeNumber(n, into: &out)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (k, v) in a.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(&out, indent + 1) }
                write(v, into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            if o.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            func member(_ k: Int, _ key: String, _ value: JSON) {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(&out, indent + 1) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                write(value, into: &out, pretty: pretty, indent: indent + 1)
            }
            if o.count == 1, let only = o.first {
                member(0, only.key, only.value)  // common in AWS shapes: nothing to sort
            } else {
                // Sorting the members themselves, not the keys, spares a second hash per member.
                for (k, m) in o.sorted(by: { $0.key < $1.key }).enumerated() { member(k, m.key, m.value) }
            }
            if pretty { newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<(indent * 2) { out.append(UInt8(ascii: " ")) }
    }

    public static func writeNumber(_ n: Double, into out: inout [UInt8]) {
        guard n.isFinite else { out.append(contentsOf: "null".utf8); return }
        if n.rounded() == n, abs(n) < 9_007_199_254_740_992 {
            out.append(contentsOf: String(Int64(n)).utf8)
        } else {
            // Swift's description is the shortest text that reads back as the same double, and
            // is valid JSON for finite values ("1e-05", "0.1", "1.5e+300").
            out.append(contentsOf: n.description.utf8)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// 1 for the bytes a JSON string must escape (controls, `"`, `\\`, DEL), else 0: one load per
    /// byte instead of four comparisons.
    nonisolated(unsafe) private static let mustEscape: UnsafePointer<UInt8> = {  // written once, then only read
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for b in 0..<256 { table[b] = b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F ? 1 : 0 }
        return UnsafePointer(table)
    }()

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var copy = s
        copy.withUTF8 { u in
            guard let base = u.baseAddress else { return }
            let escape = mustEscape
            // Copy runs that need no escaping in one go; escape the rest byte by byte.
            var runStart = 0
            var i = 0
            let n = u.count
            while i < n {
                let c = base[i]
                if escape[Int(c)] == 0 {
                    i += 1
                    continue
                }
                if i > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart)) }
                i += 1
                runStart = i
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(c)
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex[Int(c >> 4)])
                    out.append(hex[Int(c & 0xF)])
                }
            }
            if n > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: n - runStart)) }
        }
        out.append(UInt8(ascii: "\""))
    }
}
