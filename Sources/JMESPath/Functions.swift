import Foundation
import JSON

/// The JMESPath functions this implementation has: the specification's, each checking its
/// arguments' types as the specification says (a wrong type is an error, not null).
enum Functions {
    /// Name → how many arguments it takes (nil: one or more).
    static let arity: [String: Int?] = [
        "abs": 1, "avg": 1, "ceil": 1, "contains": 2, "ends_with": 2, "floor": 1, "join": 2, "keys": 1, "length": 1,
        "max": 1, "max_by": 2, "min": 1, "min_by": 2, "not_null": nil, "reverse": 1, "sort": 1, "sort_by": 2,
        "starts_with": 2, "sum": 1, "to_array": 1, "to_number": 1, "to_string": 1, "type": 1, "values": 1,
    ]

    static var names: [String] { arity.keys.sorted() }

    static func check(_ name: String, arity n: Int, expression: String, offset: Int) throws(JMESPathError) {
        guard let expected = arity[name] else {
            throw JMESPathError(expression: expression, offset: offset, reason: "unknown function \(name)(); known: \(names.joined(separator: ", "))")
        }
        if let expected, expected != n {
            throw JMESPathError(expression: expression, offset: offset, reason: "\(name)() takes \(expected) argument\(expected == 1 ? "" : "s"), not \(n)")
        }
        if expected == nil && n == 0 {
            throw JMESPathError(expression: expression, offset: offset, reason: "\(name)() takes at least one argument")
        }
    }

    static func call(_ name: String, _ args: [Argument], evaluator: Evaluator, offset: Int) throws(JMESPathError) -> JSON {
        func fail(_ reason: String) -> JMESPathError { evaluator.fail(offset, "\(name)(): \(reason)") }
        func value(_ k: Int) throws(JMESPathError) -> JSON {
            guard case .value(let v) = args[k] else { throw fail("argument \(k + 1) must be a value, not an expression reference") }
            return v
        }
        func array(_ k: Int) throws(JMESPathError) -> [JSON] {
            guard let a = try value(k).arrayValue else { throw fail("argument \(k + 1) must be an array, got \(try value(k).typeName)") }
            return a
        }
        func string(_ k: Int) throws(JMESPathError) -> String {
            guard let s = try value(k).stringValue else { throw fail("argument \(k + 1) must be a string, got \(try value(k).typeName)") }
            return s
        }
        func number(_ k: Int) throws(JMESPathError) -> Double {
            guard let n = try value(k).numberValue else { throw fail("argument \(k + 1) must be a number, got \(try value(k).typeName)") }
            return n
        }
        func expression(_ k: Int) throws(JMESPathError) -> Node {
            guard case .expression(let e) = args[k] else { throw fail("argument \(k + 1) must be an expression reference (&field)") }
            return e
        }
        /// Numbers, or strings, all of one kind: what sort, max and min take.
        func sortable(_ a: [JSON]) throws(JMESPathError) -> [JSON] {
            if a.allSatisfy({ $0.numberValue != nil }) || a.allSatisfy({ $0.stringValue != nil }) { return a }
            throw fail("the values must be all numbers or all strings")
        }
        func less(_ x: JSON, _ y: JSON) -> Bool {
            if let a = x.numberValue, let b = y.numberValue { return a < b }
            return (x.stringValue ?? "") < (y.stringValue ?? "")
        }
        /// `&expr` applied to each element, for the `…_by` functions.
        func keyed(_ a: [JSON], _ e: Node) throws(JMESPathError) -> [(JSON, JSON)] {
            var out: [(JSON, JSON)] = []
            for x in a { out.append((x, try evaluator.eval(e, x))) }
            _ = try sortable(out.map(\.1))
            return out
        }

        switch name {
        case "abs": return .number(abs(try number(0)))
        case "ceil": return .number((try number(0)).rounded(.up))
        case "floor": return .number((try number(0)).rounded(.down))
        case "avg":
            let a = try array(0)
            guard a.allSatisfy({ $0.numberValue != nil }) else { throw fail("the array must hold numbers") }
            return a.isEmpty ? .null : .number(a.reduce(0) { $0 + $1.numberValue! } / Double(a.count))
        case "sum":
            let a = try array(0)
            guard a.allSatisfy({ $0.numberValue != nil }) else { throw fail("the array must hold numbers") }
            return .number(a.reduce(0) { $0 + $1.numberValue! })
        case "contains":
            let subject = try value(0), search = try value(1)
            if let s = subject.stringValue {
                guard let needle = search.stringValue else { return .bool(false) }
                return .bool(needle.isEmpty || s.contains(needle))
            }
            guard let a = subject.arrayValue else { throw fail("argument 1 must be an array or a string, got \(subject.typeName)") }
            return .bool(a.contains(search))
        case "starts_with": return .bool((try string(0)).hasPrefix(try string(1)))
        case "ends_with": return .bool((try string(0)).hasSuffix(try string(1)))
        case "join":
            let separator = try string(0)
            let parts = try array(1)
            guard parts.allSatisfy({ $0.stringValue != nil }) else { throw fail("argument 2 must be an array of strings") }
            return .string(parts.map { $0.stringValue! }.joined(separator: separator))
        case "keys":
            guard let o = try value(0).objectValue else { throw fail("argument 1 must be an object") }
            return .array(o.keys.sorted().map { .string($0) })
        case "values":
            guard let o = try value(0).objectValue else { throw fail("argument 1 must be an object") }
            return .array(o.keys.sorted().map { o[$0]! })
        case "length":
            switch try value(0) {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            case let v: throw fail("argument 1 must be a string, an array or an object, got \(v.typeName)")
            }
        case "max", "min":
            let a = try sortable(try array(0))
            guard !a.isEmpty else { return .null }
            return name == "max" ? a.max(by: less)! : a.min(by: less)!
        case "max_by", "min_by":
            let pairs = try keyed(try array(0), try expression(1))
            guard !pairs.isEmpty else { return .null }
            let pick = name == "max_by" ? pairs.max { less($0.1, $1.1) }! : pairs.min { less($0.1, $1.1) }!
            return pick.0
        case "sort": return .array(try sortable(try array(0)).sorted(by: less))
        case "sort_by":
            let pairs = try keyed(try array(0), try expression(1))
            // Stable, as the specification asks.
            return .array(pairs.enumerated().sorted { l, r in
                less(l.element.1, r.element.1) || (!less(r.element.1, l.element.1) && l.offset < r.offset)
            }.map(\.element.0))
        case "reverse":
            let v = try value(0)
            if let s = v.stringValue { return .string(String(s.reversed())) }
            guard let a = v.arrayValue else { throw fail("argument 1 must be an array or a string") }
            return .array(a.reversed())
        case "not_null":
            for k in args.indices { let v = try value(k); if !v.isNull { return v } }
            return .null
        case "to_array":
            let v = try value(0)
            return v.arrayValue != nil ? v : .array([v])
        case "to_string":
            let v = try value(0)
            return v.stringValue != nil ? v : .string(JSONWriter.string(v))
        case "to_number":
            switch try value(0) {
            case .number(let n): return .number(n)
            case .string(let s): return Double(s).map { .number($0) } ?? .null
            default: return .null
            }
        case "type": return .string(try value(0).typeName)  // the same names as JMESPath's
        default:
            throw fail("unknown function")
        }
    }
}
