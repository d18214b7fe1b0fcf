/// Where a parse failed and why. `line` and `column` are 1-based; `column` counts bytes.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var line: Int
    public var column: Int
    public var reason: String

    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// One step of a path into a JSON value.
public enum JSONPathComponent: Hashable, Sendable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case .key(let k): return ".\(k)"
        case .index(let i): return "[\(i)]"
        }
    }
}

/// A position in JSON text: 1-based line, 1-based byte column.
public struct JSONPosition: Hashable, Sendable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
}

/// The source span of one value: from its first byte to just past its last byte.
public struct JSONSpan: Hashable, Sendable {
    public var start: JSONPosition
    public var end: JSONPosition
}

/// A strict RFC 8259 parser.
///
/// Guarantees: it never recurses (nesting is bounded by `maxDepth`, not by the thread's stack),
/// accepts only valid UTF-8, rejects control characters in strings, lone surrogate escapes,
/// trailing garbage and (by default) duplicate object keys, and reports every failure as a
/// `JSONParseError` naming the line and column. It never traps on any input.
public struct JSONParser {
    public var maxDepth: Int
    public var allowDuplicateKeys: Bool
    /// Containers nested at most this deep get their source span recorded (0: none).
    public var spanDepth: Int

    public init(maxDepth: Int = 512, allowDuplicateKeys: Bool = false, spanDepth: Int = 0) {
        self.maxDepth = maxDepth
        self.allowDuplicateKeys = allowDuplicateKeys
        self.spanDepth = spanDepth
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try JSONParser().parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
        try JSONParser().parse(bytes)
    }

    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
        try parseWithSpans(bytes).value
    }

    public func parse<S: Sequence<UInt8>>(bytes: S) throws(JSONParseError) -> JSON {
        try parse(Array(bytes))
    }

    /// Parses and returns the value plus the spans of containers up to `spanDepth` deep.
    public func parseWithSpans(_ bytes: [UInt8]) throws(JSONParseError) -> (value: JSON, spans: [[JSONPathComponent]: JSONSpan]) {
        var state = ParseState(bytes: bytes, parser: self)
        do {
            let v = try state.run()
            return (v, state.spans)
        } catch let e as ParseFailure {
            throw state.error(at: e.offset, e.reason)
        } catch {
            throw state.error(at: 0, "internal parser error")
        }
    }
}

struct ParseFailure: Error {
    var offset: Int
    var reason: String
}

private struct ParseState {
    let bytes: [UInt8]
    let parser: JSONParser
    var i = 0
    var spans: [[JSONPathComponent]: JSONSpan] = [:]

    /// An open container. Its elements or members live in `arrays` / `objects`, not in the
    /// frame, so each value is added in place (a container carried inside an enum would be
    /// copied on every insertion).
    enum Frame {
        case array(start: Int)
        case object(key: String, keyStart: Int, start: Int)
    }
    var stack: [Frame] = []
    var arrays: [[JSON]] = []
    var objects: [[String: JSON]] = []
    var path: [JSONPathComponent] = []

    init(bytes: [UInt8], parser: JSONParser) {
        self.bytes = bytes
        self.parser = parser
    }

    func error(at offset: Int, _ reason: String) -> JSONParseError {
        let p = position(of: offset)
        return JSONParseError(offset: offset, line: p.line, column: p.column, reason: reason)
    }

    func position(of offset: Int) -> JSONPosition {
        var line = 1, col = 1
        var k = 0
        let end = min(offset, bytes.count)
        while k < end {
            if bytes[k] == UInt8(ascii: "\n") { line += 1; col = 1 } else { col += 1 }
            k += 1
        }
        return JSONPosition(line: line, column: col)
    }

    func fail(_ reason: String, at offset: Int? = nil) -> ParseFailure {
        ParseFailure(offset: offset ?? i, reason: reason)
    }

    mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func run() throws -> JSON {
        skipWhitespace()
        if i >= bytes.count { throw fail("empty document: expected a JSON value") }
        var pending: JSON? = nil  // a completed value waiting to be placed
        while true {
            if let v = pending {
                pending = nil
                // Place the completed value in its parent, or finish.
                guard let top = stack.popLast() else {
                    skipWhitespace()
                    if i < bytes.count { throw fail("unexpected content after the JSON value") }
                    return v
                }
                switch top {
                case .array(let start):
                    arrays[arrays.count - 1].append(v)
                    skipWhitespace()
                    guard i < bytes.count else { throw fail("unterminated array: expected ',' or ']'") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        stack.append(.array(start: start))
                        enter(.index(arrays[arrays.count - 1].count))
                    } else if bytes[i] == UInt8(ascii: "]") {
                        i += 1
                        pending = .array(arrays.removeLast())
                        closeContainer(start: start)
                        continue
                    } else {
                        throw fail("expected ',' or ']' after an array element")
                    }
                case .object(let key, let keyStart, let start):
                    // One hash per member: a duplicate shows when the value is stored.
                    if objects[objects.count - 1].updateValue(v, forKey: key) != nil, !parser.allowDuplicateKeys {
                        throw fail("duplicate key \"\(key)\" in an object", at: keyStart)
                    }
                    skipWhitespace()
                    guard i < bytes.count else { throw fail("unterminated object: expected ',' or '}'") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        let (k, keyStart) = try readKey()
                        stack.append(.object(key: k, keyStart: keyStart, start: start))
                        enter(.key(k))
                    } else if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        pending = .object(objects.removeLast())
                        closeContainer(start: start)
                        continue
                    } else {
                        throw fail("expected ',' or '}' after an object member")
                    }
                }
            }
            // Read the next value.
            skipWhitespace()
            guard i < bytes.count else { throw fail("unexpected end of input: expected a value") }
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"):
                try checkDepth()
                let start = i
                i += 1
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    pending = .object([:])
                    recordSpan(start: start)
                } else {
                    objects.append(Dictionary(minimumCapacity: 8))  // most objects are small: no regrowing
                    let (k, keyStart) = try readKey()
                    stack.append(.object(key: k, keyStart: keyStart, start: start))
                    enter(.key(k))
                }
            case UInt8(ascii: "["):
                try checkDepth()
                let start = i
                i += 1
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    pending = .array([])
                    recordSpan(start: start)
                } else {
                    arrays.append([])
                    stack.append(.array(start: start))
                    enter(.index(0))
                }
            case UInt8(ascii: "\""):
                pending = .string(try readString())
            case UInt8(ascii: "t"):
                try expectLiteral("true"); pending = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false"); pending = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null"); pending = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                pending = .number(try readNumber())
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                throw fail("unexpected '\(Character(Unicode.Scalar(c)))': expected a value")
            default:
                throw fail("unexpected \(describe(byte: c)): expected a value")
            }
            if pending != nil, !stack.isEmpty { leave() }
        }
    }

    func describe(byte c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "character '\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x\(String(c, radix: 16, uppercase: true))"
    }

    mutating func checkDepth() throws {
        if stack.count >= parser.maxDepth {
            throw fail("nesting deeper than \(parser.maxDepth) levels")
        }
    }

    // A container just closed and its frame is popped; `path` still names it. Records its span
    // and steps the path back out to the parent.
    mutating func closeContainer(start: Int) {
        recordSpan(start: start)
        if !stack.isEmpty { leave() }
    }

    // The path is kept only when spans are wanted: building it costs an allocation per member.
    mutating func enter(_ step: JSONPathComponent) {
        if parser.spanDepth > 0 { path.append(step) }
    }

    mutating func leave() {
        if parser.spanDepth > 0 { path.removeLast() }
    }

    mutating func recordSpan(start: Int) {
        guard parser.spanDepth > 0, path.count <= parser.spanDepth else { return }
        spans[path] = JSONSpan(start: position(of: start), end: position(of: i))
    }

    /// Reads `"key":` of an object member; `start` is where its opening quote is.
    mutating func readKey() throws -> (key: String, start: Int) {
        skipWhitespace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
            throw fail("expected a string key in an object")
        }
        let keyStart = i
        let k = try readString()
        skipWhitespace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
            throw fail("expected ':' after an object key")
        }
        i += 1
        return (k, keyStart)
    }

    mutating func expectLiteral(_ word: StaticString) throws {
        let w = word.utf8Start
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("invalid literal: expected \(word)") }
        for k in 0..<n where bytes[i + k] != w[k] {
            throw fail("invalid literal: expected \(word)")
        }
        i += n
    }

    mutating func readNumber() throws -> Double {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw fail("invalid number: expected a digit") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, isDigit(bytes[i]) { throw fail("invalid number: leading zero") }
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        let integerEnd = i
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("invalid number: expected a digit after '.'") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("invalid number: expected a digit in the exponent") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        // Integers of up to 15 digits are exact in a double: no need to go through text.
        let negative = bytes[start] == UInt8(ascii: "-")
        let digitsStart = negative ? start + 1 : start
        if i == integerEnd, i - digitsStart <= 15 {
            var v = 0
            for k in digitsStart..<i { v = v * 10 + Int(bytes[k] - 0x30) }
            return negative ? -Double(v) : Double(v)
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw fail("number out of range", at: start) }
        return d
    }

    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    mutating func readString() throws -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes, ASCII only.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[start..<i], as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") || c >= 0x80 || c < 0x20 { break }
            i += 1
        }
        var out = [UInt8]()
        out.reserveCapacity(i - start + 16)
        out.append(contentsOf: bytes[start..<i])
        while true {
            guard i < bytes.count else { throw fail("unterminated string", at: start - 1) }
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw fail("unterminated escape in a string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw fail("lone high surrogate in a \\u escape")
                        }
                        i += 2
                        let low = try readHex4()
                        guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("invalid low surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        throw fail("lone low surrogate in a \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))' in a string", at: i - 2)
                }
            case 0..<0x20:
                throw fail("control character \(describe(byte: c)) in a string must be escaped")
            case 0x80...:
                let n = try utf8SequenceLength(at: i)
                out.append(contentsOf: bytes[i..<(i + n)])
                i += n
            default:
                out.append(c)
                i += 1
            }
        }
    }

    mutating func readHex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 0x41 + 10)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// Validates one UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
    func utf8SequenceLength(at k: Int) throws -> Int {
        let b0 = bytes[k]
        func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) throws {
            guard j < bytes.count, bytes[j] >= lo, bytes[j] <= hi else {
                throw fail("invalid UTF-8 in a string", at: k)
            }
        }
        switch b0 {
        case 0xC2...0xDF: try cont(k + 1); return 2
        case 0xE0: try cont(k + 1, 0xA0, 0xBF); try cont(k + 2); return 3
        case 0xE1...0xEC, 0xEE...0xEF: try cont(k + 1); try cont(k + 2); return 3
        case 0xED: try cont(k + 1, 0x80, 0x9F); try cont(k + 2); return 3
        case 0xF0: try cont(k + 1, 0x90, 0xBF); try cont(k + 2); try cont(k + 3); return 4
        case 0xF1...0xF3: try cont(k + 1); try cont(k + 2); try cont(k + 3); return 4
        case 0xF4: try cont(k + 1, 0x80, 0x8F); try cont(k + 2); try cont(k + 3); return 4
        default: throw fail("invalid UTF-8 in a string", at: k)
        }
    }
}
