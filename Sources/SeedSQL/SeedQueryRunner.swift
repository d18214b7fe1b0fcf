/// Runs a `SeedQuery` over a table's rows, streamed one at a time: the selected column of
/// every row that satisfies the condition, in row order, distinct if asked, stopping at the
/// limit.
public struct SeedQueryRunner: Sendable {
    public let query: SeedQuery
    private let index: [String: Int]
    private var seen: Set<String> = []
    public private(set) var results: [String] = []

    /// `columns`: the table's column names, in the order of the fields of a row. A column the
    /// query names that is not among them is an error that names it.
    public init(_ query: SeedQuery, columns: [String]) throws(SQLError) {
        self.query = query
        var index: [String: Int] = [:]
        for (k, c) in columns.enumerated() where index[c.lowercased()] == nil { index[c.lowercased()] = k }
        for c in query.columns.sorted() where index[c] == nil {
            throw SQLError(position: 0, message: "the table \(query.table) has no column \(c) (its columns: \(columns.joined(separator: ", ")))")
        }
        self.index = index
    }

    /// Whether the limit has been reached (no more rows needed).
    public var isDone: Bool { query.limit.map { results.count >= $0 } ?? false }

    /// Takes one row; returns false once no more rows are needed.
    @discardableResult
    public mutating func add(_ row: [String]) -> Bool {
        guard !isDone else { return false }
        if query.condition.map({ holds($0, row) }) ?? true {
            let value = field(row, query.column)
            if !query.distinct || seen.insert(value).inserted { results.append(value) }
        }
        return !isDone
    }

    private func field(_ row: [String], _ column: String) -> String {
        let k = index[column] ?? 0
        return k < row.count ? row[k] : ""
    }

    private func holds(_ c: Condition, _ row: [String]) -> Bool {
        switch c {
        case .and(let l, let r): return holds(l, row) && holds(r, row)
        case .or(let l, let r): return holds(l, row) || holds(r, row)
        case .not(let inner): return !holds(inner, row)
        case .isNull(let column, let negated): return field(row, column).isEmpty != negated
        case .compare(let column, let op, let value): return compare(field(row, column), op, value)
        case .inList(let column, let values, let negated):
            let f = field(row, column)
            return values.contains { compare(f, .equal, $0) } != negated
        case .like(let column, let pattern, let negated): return SeedQueryRunner.like(Array(field(row, column)), Array(pattern)) != negated
        }
    }

    private func compare(_ field: String, _ op: Comparison, _ value: Literal) -> Bool {
        let order: Int
        if let n = value.number, let f = Double(field) {
            order = f < n ? -1 : (f > n ? 1 : 0)
        } else {
            order = field < value.text ? -1 : (field > value.text ? 1 : 0)
        }
        switch op {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }

    /// SQL `LIKE`: `%` any run of characters, `_` any one (iterative, linear in practice).
    static func like(_ s: [Character], _ p: [Character]) -> Bool {
        var i = 0, j = 0, star = -1, mark = 0
        while i < s.count {
            if j < p.count, p[j] == "_" || (p[j] != "%" && p[j] == s[i]) {
                i += 1
                j += 1
            } else if j < p.count, p[j] == "%" {
                star = j
                mark = i
                j += 1
            } else if star >= 0 {
                j = star + 1
                mark += 1
                i = mark
            } else {
                return false
            }
        }
        while j < p.count, p[j] == "%" { j += 1 }
        return j == p.count
    }
}
