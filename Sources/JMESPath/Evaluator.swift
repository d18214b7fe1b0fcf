import Foundation
import JSON

/// Applies a syntax tree to a value, as the JMESPath specification says.
struct Evaluator {
    let expression: String

    func fail(_ offset: Int, _ reason: String) -> JMESPathError { JMESPathError(expression: expression, offset: offset, reason: reason) }

    func eval(_ node: Node, _ value: JSON) throws(JMESPathError) -> JSON {
        switch node {
        case .identity, .current: return value
        case .field(let name): return value[name] ?? .null
        case .literal(let j): return j
        case .subexpression(let l, let r): return try eval(r, try eval(l, value))
        case .index(let i):
            guard let a = value.arrayValue else { return .null }
            let k = i < 0 ? a.count + i : i
            return a.indices.contains(k) ? a[k] : .null
        case .slice(let start, let stop, let step):
            guard let a = value.arrayValue else { return .null }
            return .array(Evaluator.slice(a, start, stop, step ?? 1))
        case .projection(let l, let r):
            guard let base = try eval(l, value).arrayValue else { return .null }
            return .array(try project(r, over: base))
        case .valueProjection(let l, let r):
            guard let base = try eval(l, value).objectValue else { return .null }
            return .array(try project(r, over: base.keys.sorted().map { base[$0]! }))
        case .filterProjection(let l, let condition, let r):
            guard let base = try eval(l, value).arrayValue else { return .null }
            var out: [JSON] = []
            for e in base where Evaluator.isTruthy(try eval(condition, e)) {
                let v = try eval(r, e)
                if !v.isNull { out.append(v) }
            }
            return .array(out)
        case .flatten(let inner):
            guard let a = try eval(inner, value).arrayValue else { return .null }
            return .array(a.flatMap { $0.arrayValue ?? [$0] })
        case .multiSelectList(let items):
            if value.isNull { return .null }
            var out: [JSON] = []
            for n in items { out.append(try eval(n, value)) }
            return .array(out)
        case .multiSelectHash(let pairs):
            if value.isNull { return .null }
            var o: [String: JSON] = [:]
            for (k, n) in pairs { o[k] = try eval(n, value) }
            return .object(o)
        case .pipe(let l, let r): return try eval(r, try eval(l, value))
        case .or(let l, let r):
            let left = try eval(l, value)
            return Evaluator.isTruthy(left) ? left : try eval(r, value)
        case .and(let l, let r):
            let left = try eval(l, value)
            return Evaluator.isTruthy(left) ? try eval(r, value) : left
        case .not(let n): return .bool(!Evaluator.isTruthy(try eval(n, value)))
        case .compare(let c, let l, let r): return Evaluator.compare(c, try eval(l, value), try eval(r, value))
        case .function(let name, let args, let offset):
            var values: [Argument] = []
            for a in args {
                if case .expressionReference(let e) = a { values.append(.expression(e)) } else { values.append(.value(try eval(a, value))) }
            }
            return try Functions.call(name, values, evaluator: self, offset: offset)
        case .expressionReference:
            throw fail(0, "an expression reference (&…) is only allowed as a function's argument")
        }
    }

    /// `node` applied to each element, the nulls dropped.
    func project(_ node: Node, over elements: [JSON]) throws(JMESPathError) -> [JSON] {
        var out: [JSON] = []
        for e in elements {
            let v = try eval(node, e)
            if !v.isNull { out.append(v) }
        }
        return out
    }

    /// false, null, "", [] and {} are false; everything else (0 included) is true.
    static func isTruthy(_ v: JSON) -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): return b
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .number: return true
        }
    }

    /// Equality on any values; order on two numbers or two strings (strings by code point, as
    /// the reference implementation orders them); anything else compares as null.
    static func compare(_ c: Comparator, _ a: JSON, _ b: JSON) -> JSON {
        switch c {
        case .eq: return .bool(a == b)
        case .ne: return .bool(a != b)
        default:
            let order: Int
            if let x = a.numberValue, let y = b.numberValue {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else if let x = a.stringValue, let y = b.stringValue {
                order = x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : (x == y ? 0 : 1)
            } else {
                return .null
            }
            switch c {
            case .lt: return .bool(order < 0)
            case .le: return .bool(order <= 0)
            case .gt: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        }
    }

    /// Python's slice rules.
    static func slice(_ a: [JSON], _ start: Int?, _ stop: Int?, _ step: Int) -> [JSON] {
        let n = a.count
        func clamp(_ v: Int?, _ dflt: Int, low: Int, high: Int) -> Int {
            guard var v else { return dflt }
            if v < 0 { v += n }
            return min(max(v, low), high)
        }
        var out: [JSON] = []
        if step > 0 {
            var i = clamp(start, 0, low: 0, high: n)
            let end = clamp(stop, n, low: 0, high: n)
            while i < end { out.append(a[i]); i += step }
        } else {
            var i = clamp(start, n - 1, low: -1, high: n - 1)
            let end = clamp(stop, -1, low: -1, high: n - 1)
            while i > end { out.append(a[i]); i += step }
        }
        return out
    }
}

/// A function's argument: a value, or an expression (`&field`) for the `…_by` functions.
enum Argument {
    case value(JSON)
    case expression(Node)
}
