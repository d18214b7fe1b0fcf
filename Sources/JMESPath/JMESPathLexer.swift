import Foundation
import JSON

/// A `--query` expression that is not JMESPath, or uses a part of it this implementation
/// leaves out: where, and why.
public struct JMESPathError: Error, CustomStringConvertible, Equatable, Sendable {
    public var expression: String
    /// Character offset of the trouble.
    public var offset: Int
    public var reason: String

    public var description: String {
        "Bad value for --query \(expression): \(reason) (at character \(offset + 1))"
    }
}

/// A token of a JMESPath expression.
enum Token: Equatable {
    case identifier(String)      // unquoted or "quoted"
    case rawString(String)       // 'raw'
    case literal(JSON)           // `json`
    case number(Int)
    case dot, star, at, ampersand, comma, colon, pipe, or, and, not
    case lbracket, rbracket, lbrace, rbrace, lparen, rparen
    case filter                  // [?
    case flatten                 // []
    case comparator(Comparator)
    case eof

    /// How strongly the token binds to what is on its left (the JMESPath grammar's order).
    var bindingPower: Int {
        switch self {
        case .pipe: return 1
        case .or: return 2
        case .and: return 3
        case .comparator: return 5
        case .flatten: return 9
        case .star: return 20
        case .filter: return 21
        case .dot: return 40
        case .not: return 45
        case .lbrace: return 50
        case .lbracket: return 55
        case .lparen: return 60
        default: return 0
        }
    }
}

enum Comparator: String, Equatable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
}

/// Splits an expression into tokens, each with its character offset.
struct Lexer {
    let text: [Character]
    let expression: String

    init(_ expression: String) {
        self.expression = expression
        text = Array(expression)
    }

    func fail(_ at: Int, _ reason: String) -> JMESPathError { JMESPathError(expression: expression, offset: at, reason: reason) }

    func tokens() throws(JMESPathError) -> [(token: Token, offset: Int)] {
        var out: [(Token, Int)] = []
        var i = 0
        func peek(_ k: Int = 1) -> Character? { i + k < text.count ? text[i + k] : nil }
        while i < text.count {
            let c = text[i]
            let start = i
            switch c {
            case " ", "\t", "\n", "\r": i += 1; continue
            case ".": out.append((.dot, start)); i += 1
            case "*": out.append((.star, start)); i += 1
            case "@": out.append((.at, start)); i += 1
            case ",": out.append((.comma, start)); i += 1
            case ":": out.append((.colon, start)); i += 1
            case "]": out.append((.rbracket, start)); i += 1
            case "{": out.append((.lbrace, start)); i += 1
            case "}": out.append((.rbrace, start)); i += 1
            case "(": out.append((.lparen, start)); i += 1
            case ")": out.append((.rparen, start)); i += 1
            case "[":
                if peek() == "?" { out.append((.filter, start)); i += 2 } else if peek() == "]" { out.append((.flatten, start)); i += 2 } else { out.append((.lbracket, start)); i += 1 }
            case "|":
                if peek() == "|" { out.append((.or, start)); i += 2 } else { out.append((.pipe, start)); i += 1 }
            case "&":
                if peek() == "&" { out.append((.and, start)); i += 2 } else { out.append((.ampersand, start)); i += 1 }
            case "!":
                if peek() == "=" { out.append((.comparator(.ne), start)); i += 2 } else { out.append((.not, start)); i += 1 }
            case "=":
                guard peek() == "=" else { throw fail(start, "a single = is not an operator (comparisons use ==)") }
                out.append((.comparator(.eq), start)); i += 2
            case "<", ">":
                let eq = peek() == "="
                out.append((.comparator(c == "<" ? (eq ? .le : .lt) : (eq ? .ge : .gt)), start))
                i += eq ? 2 : 1
            case "'":
                i += 1
                var s = ""
                while i < text.count && text[i] != "'" {
                    // Only an escaped quote is unescaped: a backslash stays (the reference's rule).
                    if text[i] == "\\", i + 1 < text.count, text[i + 1] == "'" { i += 1 }
                    s.append(text[i]); i += 1
                }
                guard i < text.count else { throw fail(start, "a raw string is not closed with '") }
                i += 1
                out.append((.rawString(s), start))
            case "\"":
                i += 1
                var raw = "\""
                while i < text.count && text[i] != "\"" {
                    if text[i] == "\\", i + 1 < text.count { raw.append(text[i]); i += 1 }
                    raw.append(text[i]); i += 1
                }
                guard i < text.count else { throw fail(start, "a quoted identifier is not closed with \"") }
                i += 1
                raw.append("\"")
                guard let name = (try? JSONParser.parse(raw))?.stringValue else { throw fail(start, "the quoted identifier \(raw) is not a valid JSON string") }
                out.append((.identifier(name), start))
            case "`":
                i += 1
                var raw = ""
                while i < text.count && text[i] != "`" {
                    if text[i] == "\\", i + 1 < text.count, text[i + 1] == "`" { i += 1 }
                    raw.append(text[i]); i += 1
                }
                guard i < text.count else { throw fail(start, "a literal is not closed with `") }
                i += 1
                // Not JSON: taken as a string, as the reference implementation still does
                // (`Name==\`alice\``, in many an example).
                let trimmed = raw.trimmingCharacters(in: .whitespaces)
                guard let value = (try? JSONParser.parse(trimmed)) ?? (try? JSONParser.parse("\"" + raw + "\"")) else {
                    throw fail(start, "the literal `\(raw)` is not JSON")
                }
                out.append((.literal(value), start))
            case "-", "0"..."9":
                var digits = String(c)
                i += 1
                while i < text.count, text[i].isASCII, text[i].isNumber { digits.append(text[i]); i += 1 }
                guard let n = Int(digits) else { throw fail(start, "\(digits) is not a number") }
                out.append((.number(n), start))
            default:
                guard c.isASCII, c.isLetter || c == "_" else { throw fail(start, "unexpected character \(c)") }
                var name = ""
                while i < text.count, text[i].isASCII, text[i].isLetter || text[i].isNumber || text[i] == "_" { name.append(text[i]); i += 1 }
                out.append((.identifier(name), start))
            }
        }
        out.append((.eof, text.count))
        return out
    }
}
