import JSON

/// A compiled JMESPath expression: the `--query` language of aws-cli.
///
/// Supported: identifiers (plain and "quoted"), sub-expressions `a.b`, indexes `[N]` (negative
/// from the end), slices `[a:b:c]`, list projections `[*]`, flattening `[]`, object
/// projections `*`, filters `[?expr]` with `== != < <= > >=`, `&&`, `||`, `!` and parentheses,
/// multi-select lists `[a, b]` and hashes `{k: a}`, pipes `|`, the current node `@`, literals
/// (`` `json` ``, `'raw'`), and the functions in `functions`. Evaluation follows the
/// JMESPath specification: a projection applies the rest of the expression to each element and
/// drops the nulls, until a pipe ends it; a missing member is null. Anything else is a
/// `JMESPathError` at compile time, never a silent wrong answer.
public struct JMESPath: Sendable {
    public let expression: String
    let root: Node

    public init(_ expression: String) throws(JMESPathError) {
        self.expression = expression
        var p = Parser(try Lexer(expression).tokens(), expression: expression)
        root = try p.parse()
    }

    /// The expression applied to `value`.
    public func search(_ value: JSON) throws(JMESPathError) -> JSON {
        try Evaluator(expression: expression).eval(root, value)
    }

    /// Names of the functions an expression may call.
    public static var functions: [String] { Functions.names }
}

/// The syntax tree.
indirect enum Node: Sendable {
    case identity
    case current
    case field(String)
    case literal(JSON)
    case subexpression(Node, Node)
    case index(Int)
    case slice(Int?, Int?, Int?)
    /// Apply the right side to each element of the left side's array, dropping nulls.
    case projection(Node, Node)
    /// The same over an object's values.
    case valueProjection(Node, Node)
    case filterProjection(Node, condition: Node, Node)
    case flatten(Node)
    case multiSelectList([Node])
    case multiSelectHash([(String, Node)])
    case pipe(Node, Node)
    case or(Node, Node)
    case and(Node, Node)
    case not(Node)
    case compare(Comparator, Node, Node)
    case function(String, [Node], offset: Int)
    case expressionReference(Node)
}

/// A Pratt parser over the tokens, following the JMESPath grammar's binding powers.
struct Parser {
    var tokens: [(token: Token, offset: Int)]
    var position = 0
    let expression: String

    init(_ tokens: [(token: Token, offset: Int)], expression: String) {
        self.tokens = tokens
        self.expression = expression
    }

    var current: Token { tokens[position].token }
    var offset: Int { tokens[position].offset }
    func lookahead(_ k: Int) -> Token { tokens[min(position + k, tokens.count - 1)].token }

    func fail(_ reason: String) -> JMESPathError { JMESPathError(expression: expression, offset: offset, reason: reason) }

    mutating func advance() { position += 1 }

    mutating func expect(_ t: Token, _ what: String) throws(JMESPathError) {
        guard current == t else { throw fail("expected \(what), found \(describe(current))") }
        advance()
    }

    func describe(_ t: Token) -> String {
        switch t {
        case .eof: return "the end of the expression"
        case .identifier(let s): return "\(s)"
        case .number(let n): return "\(n)"
        case .rawString(let s): return "'\(s)'"
        case .literal(let j): return "`\(j)`"
        default: return String(expression.dropFirst(offset).prefix(2))
        }
    }

    mutating func parse() throws(JMESPathError) -> Node {
        let node = try parseExpression(0)
        guard current == .eof else { throw fail("unexpected \(describe(current))") }
        return node
    }

    mutating func parseExpression(_ bindingPower: Int) throws(JMESPathError) -> Node {
        let token = current
        advance()
        var left = try nud(token)
        while bindingPower < current.bindingPower {
            let t = current
            advance()
            left = try led(t, left)
        }
        return left
    }

    mutating func nud(_ token: Token) throws(JMESPathError) -> Node {
        switch token {
        case .identifier(let name): return .field(name)
        case .literal(let value): return .literal(value)
        case .rawString(let s): return .literal(.string(s))
        case .at: return .current
        case .star: return .valueProjection(.identity, try projectionRHS(Token.star.bindingPower))
        case .filter: return try filter(left: .identity)
        case .flatten: return .projection(.flatten(.identity), try projectionRHS(Token.flatten.bindingPower))
        case .lbrace: return try multiSelectHash()
        case .lbracket:
            if case .number = current { return try indexOrSlice(left: .identity) }
            if current == .colon { return try indexOrSlice(left: .identity) }
            if current == .star, lookahead(1) == .rbracket {
                advance(); advance()
                return .projection(.identity, try projectionRHS(Token.star.bindingPower))
            }
            return try multiSelectList()
        case .not: return .not(try parseExpression(Token.not.bindingPower))
        case .ampersand: return .expressionReference(try parseExpression(0))
        case .lparen:
            let inner = try parseExpression(0)
            try expect(.rparen, ")")
            return inner
        default:
            position -= 1
            throw fail("unexpected \(describe(token))")
        }
    }

    mutating func led(_ token: Token, _ left: Node) throws(JMESPathError) -> Node {
        switch token {
        case .dot:
            if current == .star {
                advance()
                return .valueProjection(left, try projectionRHS(Token.dot.bindingPower))
            }
            return .subexpression(left, try dotRHS(Token.dot.bindingPower))
        case .pipe: return .pipe(left, try parseExpression(Token.pipe.bindingPower))
        case .or: return .or(left, try parseExpression(Token.or.bindingPower))
        case .and: return .and(left, try parseExpression(Token.and.bindingPower))
        case .comparator(let c): return .compare(c, left, try parseExpression(token.bindingPower))
        case .flatten: return .projection(.flatten(left), try projectionRHS(Token.flatten.bindingPower))
        case .filter: return try filter(left: left)
        case .lbracket:
            if case .number = current { return try indexOrSlice(left: left) }
            if current == .colon { return try indexOrSlice(left: left) }
            guard current == .star, lookahead(1) == .rbracket else { throw fail("expected a number, : or * after [") }
            advance(); advance()
            return .projection(left, try projectionRHS(Token.star.bindingPower))
        case .lparen:
            guard case .field(let name) = left else { throw fail("only a function name can be called") }
            let at = tokens[position - 2].offset
            var args: [Node] = []
            while current != .rparen {
                args.append(try parseExpression(0))
                if current == .comma { advance() } else if current != .rparen { throw fail("expected , or ) in the arguments of \(name)") }
            }
            advance()
            try Functions.check(name, arity: args.count, expression: expression, offset: at)
            return .function(name, args, offset: at)
        default:
            throw fail("unexpected \(describe(token))")
        }
    }

    /// What follows a projection: nothing (it ends), or `.x`, `[…]`, `[?…]`.
    mutating func projectionRHS(_ bindingPower: Int) throws(JMESPathError) -> Node {
        if current.bindingPower < 10 { return .identity }
        switch current {
        case .lbracket, .filter: return try parseExpression(bindingPower)
        case .dot:
            advance()
            return try dotRHS(bindingPower)
        default:
            throw fail("unexpected \(describe(current)) after a projection")
        }
    }

    mutating func dotRHS(_ bindingPower: Int) throws(JMESPathError) -> Node {
        switch current {
        case .identifier, .star: return try parseExpression(bindingPower)
        case .lbracket:
            advance()
            return try multiSelectList()
        case .lbrace:
            advance()
            return try multiSelectHash()
        default:
            throw fail("expected a name, [ or { after .")
        }
    }

    mutating func filter(left: Node) throws(JMESPathError) -> Node {
        let condition = try parseExpression(0)
        try expect(.rbracket, "] to close the filter")
        let right = current == .flatten ? Node.identity : try projectionRHS(Token.filter.bindingPower)
        return .filterProjection(left, condition: condition, right)
    }

    /// After `[`: `N]`, or a slice `a:b:c]` (a projection).
    mutating func indexOrSlice(left: Node) throws(JMESPathError) -> Node {
        var parts: [Int?] = [nil]
        while current != .rbracket {
            switch current {
            case .number(let n):
                guard parts[parts.count - 1] == nil else { throw fail("expected : or ] in a slice") }
                parts[parts.count - 1] = n
            case .colon:
                guard parts.count < 3 else { throw fail("a slice has at most three parts") }
                parts.append(nil)
            default:
                throw fail("expected a number, : or ] in an index or slice")
            }
            advance()
        }
        advance()
        if parts.count == 1 {
            guard let n = parts[0] else { throw fail("an index needs a number") }
            return .subexpression(left, .index(n))
        }
        let step = parts.count == 3 ? parts[2] : nil
        if step == 0 { throw fail("a slice's step cannot be 0") }
        return .projection(.subexpression(left, .slice(parts[0], parts[1], step)), try projectionRHS(Token.star.bindingPower))
    }

    mutating func multiSelectList() throws(JMESPathError) -> Node {
        var items: [Node] = []
        repeat {
            if current == .comma { advance() }
            items.append(try parseExpression(0))
        } while current == .comma
        try expect(.rbracket, "] to close the list")
        return .multiSelectList(items)
    }

    mutating func multiSelectHash() throws(JMESPathError) -> Node {
        var pairs: [(String, Node)] = []
        repeat {
            if current == .comma { advance() }
            guard case .identifier(let key) = current else { throw fail("expected a key name in {…}") }
            advance()
            try expect(.colon, ": after the key \(key)")
            pairs.append((key, try parseExpression(0)))
        } while current == .comma
        try expect(.rbrace, "} to close the hash")
        return .multiSelectHash(pairs)
    }
}
