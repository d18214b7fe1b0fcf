/// A JSON value.
///
/// The one JSON representation of the project: the wire protocol, the write-ahead log, policy
/// documents and configuration files all go through it. Objects keep no key order; the writer
/// emits keys sorted, so the same value always serialises to the same bytes.
///
/// Numbers are IEEE-754 doubles: integers are exact up to 2^53, which covers every integer the
/// AWS shapes carry (sizes, counts, epoch seconds).
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

// MARK: - Accessors

extension JSON {
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    public var numberValue: Double? { if case .number(let n) = self { return n } else { return nil } }

    /// The number as an `Int` when it is integral and in range.
    public var intValue: Int? {
        guard case .number(let n) = self, n.rounded() == n, abs(n) <= 9_007_199_254_740_992 else { return nil }
        return Int(n)
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }

    public var objectValue: [String: JSON]? { if case .object(let o) = self { return o } else { return nil } }

    /// Member of an object; `nil` for a missing key or a non-object.
    public subscript(key: String) -> JSON? {
        get { if case .object(let o) = self { return o[key] } else { return nil } }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    /// Element of an array; `nil` when out of range or not an array.
    public subscript(index: Int) -> JSON? {
        guard case .array(let a) = self, a.indices.contains(index) else { return nil }
        return a[index]
    }

    /// A short name of the value's JSON type, for error messages ("expected string, got number").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: - Literals

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        var o: [String: JSON] = [:]
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}

extension JSON {
    /// `.number` from an integer.
    public static func int(_ value: Int) -> JSON { .number(Double(value)) }

    /// An object built from optional members: `nil` members are left out, as AWS leaves out
    /// absent optional members.
    public static func compactObject(_ members: [String: JSON?]) -> JSON {
        var o: [String: JSON] = [:]
        for (k, v) in members { if let v { o[k] = v } }
        return .object(o)
    }
}

extension JSON: CustomStringConvertible {
    public var description: String { JSONWriter.string(self) }
}
