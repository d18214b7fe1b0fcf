/// Parses the seed query subset (`SeedQuery`): a hand-written lexer and recursive-descent
/// parser with one token of lookahead. Never traps on any input; input is limited to 10,000
/// characters and 64 levels of nesting.
public enum SeedSQLParser {
    public static let maxLength = 10_000
    static let maxDepth = 64

    public static func parse(_ text: String) throws(SQLError) -> SeedQuery {
        guard text.count <= maxLength else { throw SQLError(position: maxLength, message: "the query is longer than \(maxLength) characters") }
        var p = Parser(tokens: try lex(text))
        return try p.query()
    }

    // MARK: Lexer

    enum Kind: Equatable {
        case word(String)  // lower-cased identifier or keyword
        case quotedName(String)
        case string(String)
        case number(String)
        case symbol(String)
        case end
    }

    struct Token {
        var kind: Kind
        var position: Int

        var shown: String {
            switch kind {
            case .word(let w): return "'\(w)'"
            case .quotedName(let n): return "\"\(n)\""
            case .string(let s): return "'\(s)'"
            case .number(let n): return n
            case .symbol(let s): return "'\(s)'"
            case .end: return "the end of the query"
            }
        }
    }

    static func lex(_ text: String) throws(SQLError) -> [Token] {
        let chars = Array(text)
        var out: [Token] = []
        var i = 0
        while i < chars.count {
            let c = chars[i], start = i + 1
            if c.isWhitespace { i += 1; continue }
            if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {  // a comment to the end of the line
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            }
            if c.isLetter || c == "_" {
                var w = ""
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { w.append(chars[i]); i += 1 }
                out.append(Token(kind: .word(w.lowercased()), position: start))
            } else if c.isNumber || (c == "-" && i + 1 < chars.count && chars[i + 1].isNumber) || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                var n = String(c)
                i += 1
                while i < chars.count, chars[i].isNumber || chars[i] == "." { n.append(chars[i]); i += 1 }
                guard Double(n) != nil else { throw SQLError(position: start, message: "\(n) is not a number") }
                out.append(Token(kind: .number(n), position: start))
            } else if c == "'" || c == "\"" {
                var s = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c { s.append(c); i += 2; continue }  // a doubled quote
                        i += 1
                        closed = true
                        break
                    }
                    s.append(chars[i])
                    i += 1
                }
                guard closed else { throw SQLError(position: start, message: "the \(c == "'" ? "string" : "quoted name") that starts here is not closed") }
                out.append(Token(kind: c == "'" ? .string(s) : .quotedName(s.lowercased()), position: start))
            } else if "<>!".contains(c), i + 1 < chars.count, ["<=", ">=", "<>", "!="].contains(String([c, chars[i + 1]])) {
                out.append(Token(kind: .symbol(String([c, chars[i + 1]])), position: start))
                i += 2
            } else if "(),.;=<>*".contains(c) {
                out.append(Token(kind: .symbol(String(c)), position: start))
                i += 1
            } else {
                throw SQLError(position: start, message: "unexpected character '\(c)'")
            }
        }
        out.append(Token(kind: .end, position: chars.count + 1))
        return out
    }

    // MARK: Parser

    static let keywords: Set<String> = ["select", "distinct", "from", "where", "and", "or", "not", "in", "like", "is", "null", "limit"]
    static let unsupported: Set<String> = ["join", "group", "order", "having", "union", "as", "on", "inner", "left", "right", "outer", "offset", "with"]

    struct Parser {
        var tokens: [Token]
        var at = 0
        var depth = 0

        var current: Token { tokens[at] }

        mutating func advance() -> Token {
            let t = tokens[at]
            if at < tokens.count - 1 { at += 1 }
            return t
        }

        func fail(_ expected: String) -> SQLError {
            if case .word(let w) = current.kind, SeedSQLParser.unsupported.contains(w) {
                return SQLError(position: current.position, message: "\(w.uppercased()) is not in the supported SQL subset (one column, one table, WHERE, LIMIT); expected \(expected)")
            }
            return SQLError(position: current.position, message: "expected \(expected), found \(current.shown)")
        }

        func isKeyword(_ k: String) -> Bool { current.kind == .word(k) }

        mutating func take(_ k: String) -> Bool {
            guard isKeyword(k) else { return false }
            _ = advance()
            return true
        }

        mutating func expect(_ k: String) throws(SQLError) {
            guard take(k) else { throw fail(k.uppercased()) }
        }

        mutating func symbol(_ s: String) -> Bool {
            guard current.kind == .symbol(s) else { return false }
            _ = advance()
            return true
        }

        mutating func name(_ what: String) throws(SQLError) -> String {
            switch current.kind {
            case .word(let w) where !SeedSQLParser.keywords.contains(w) && !SeedSQLParser.unsupported.contains(w):
                _ = advance()
                return w
            case .quotedName(let n) where !n.isEmpty:
                _ = advance()
                return n
            default:
                throw fail(what)
            }
        }

        mutating func query() throws(SQLError) -> SeedQuery {
            try expect("select")
            let distinct = take("distinct")
            if current.kind == .symbol("*") { throw SQLError(position: current.position, message: "select one column (the user id), not *") }
            let column = try name("a column name")
            if current.kind == .symbol(",") { throw SQLError(position: current.position, message: "select one column (the user id), not several") }
            if current.kind == .symbol("(") { throw SQLError(position: current.position, message: "functions are not in the supported SQL subset") }
            try expect("from")
            var database: String?
            var table = try name("a table name")
            if symbol(".") {
                database = table
                table = try name("a table name after \(table).")
            }
            var condition: Condition?
            if take("where") { condition = try or() }
            var limit: Int?
            if take("limit") {
                guard case .number(let n) = current.kind, let value = Int(n), value >= 0 else { throw fail("a whole number after LIMIT") }
                _ = advance()
                limit = value
            }
            _ = symbol(";")
            guard current.kind == .end else { throw fail("the end of the query") }
            return SeedQuery(column: column, distinct: distinct, database: database, table: table, condition: condition, limit: limit)
        }

        mutating func or() throws(SQLError) -> Condition {
            var left = try and()
            while take("or") { left = .or(left, try and()) }
            return left
        }

        mutating func and() throws(SQLError) -> Condition {
            var left = try not()
            while take("and") { left = .and(left, try not()) }
            return left
        }

        mutating func not() throws(SQLError) -> Condition {
            depth += 1
            defer { depth -= 1 }
            guard depth <= SeedSQLParser.maxDepth else { throw SQLError(position: current.position, message: "the condition nests deeper than \(SeedSQLParser.maxDepth) levels") }
            if take("not") { return .not(try not()) }
            if symbol("(") {
                let inner = try or()
                guard symbol(")") else { throw fail("')'") }
                return inner
            }
            return try predicate()
        }

        mutating func predicate() throws(SQLError) -> Condition {
            let column = try name("a column name")
            if take("is") {
                let negated = take("not")
                try expect("null")
                return .isNull(column: column, negated: negated)
            }
            let negated = take("not")
            if take("in") {
                guard symbol("(") else { throw fail("'(' after IN") }
                var values = [try literal()]
                while symbol(",") { values.append(try literal()) }
                guard symbol(")") else { throw fail("',' or ')'") }
                return .inList(column: column, values: values, negated: negated)
            }
            if take("like") {
                guard case .string(let pattern) = current.kind else { throw fail("a quoted pattern after LIKE") }
                _ = advance()
                return .like(column: column, pattern: pattern, negated: negated)
            }
            if negated { throw fail("IN or LIKE after NOT") }
            guard case .symbol(let s) = current.kind, let op = Comparison(rawValue: s == "<>" ? "!=" : s) else { throw fail("a comparison (=, !=, <>, <, <=, >, >=), IN, LIKE or IS") }
            _ = advance()
            return .compare(column: column, op: op, value: try literal())
        }

        mutating func literal() throws(SQLError) -> Literal {
            switch current.kind {
            case .string(let s):
                _ = advance()
                return Literal(text: s, number: nil)
            case .number(let n):
                _ = advance()
                return Literal(text: n, number: Double(n))
            default:
                throw fail("a quoted string or a number")
            }
        }
    }
}
