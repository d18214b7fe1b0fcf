/// A seed audience query in the small SQL subset the simulation runs (docs/collaborations.md):
///
///     SELECT [DISTINCT] column FROM [database.]table [WHERE condition] [LIMIT n] [;]
///
/// where a condition combines, with `AND`, `OR`, `NOT` and parentheses, comparisons of a
/// column with a literal (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`), `[NOT] IN (literal, …)`,
/// `[NOT] LIKE 'pattern'` (`%` and `_`) and `IS [NOT] NULL` (an empty field). Keywords and
/// names are case-insensitive. Values compare as numbers when both sides are numbers, as text
/// otherwise. Anything else (joins, grouping, ordering, functions, several columns) is refused
/// with an `SQLError` that says where.
public struct SeedQuery: Sendable, Equatable {
    public var column: String
    public var distinct: Bool
    public var database: String?
    public var table: String
    public var condition: Condition?
    public var limit: Int?

    /// Every column the query reads.
    public var columns: Set<String> {
        var out: Set<String> = [column]
        condition?.collectColumns(into: &out)
        return out
    }
}

/// A `WHERE` condition.
public indirect enum Condition: Sendable, Equatable {
    case and(Condition, Condition)
    case or(Condition, Condition)
    case not(Condition)
    case compare(column: String, op: Comparison, value: Literal)
    case inList(column: String, values: [Literal], negated: Bool)
    case like(column: String, pattern: String, negated: Bool)
    case isNull(column: String, negated: Bool)

    func collectColumns(into out: inout Set<String>) {
        switch self {
        case .and(let l, let r), .or(let l, let r):
            l.collectColumns(into: &out)
            r.collectColumns(into: &out)
        case .not(let c): c.collectColumns(into: &out)
        case .compare(let c, _, _), .inList(let c, _, _), .like(let c, _, _), .isNull(let c, _): out.insert(c)
        }
    }
}

public enum Comparison: String, Sendable {
    case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
}

/// A literal as written: its text, and its value if it is a number.
public struct Literal: Sendable, Equatable {
    public var text: String
    public var number: Double?
}

/// A query the subset cannot take, or a row it cannot read: what is wrong and where (the
/// 1-based character of the query, 0 when the problem is not in the query's text).
public struct SQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: Int
    public var message: String

    public init(position: Int, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { position > 0 ? "at character \(position): \(message)" : message }
}
