/// A condition operator as written in a policy: an optional set prefix (`ForAnyValue:`,
/// `ForAllValues:`), a base comparison, and an optional `IfExists` suffix.
public struct ConditionOperator: Hashable, Sendable, CustomStringConvertible {
    public enum SetQualifier: String, Hashable, Sendable {
        case forAnyValue = "ForAnyValue"
        case forAllValues = "ForAllValues"
    }

    /// The comparison itself. `isNegated` operators are true when no policy value matches.
    public enum Base: String, CaseIterable, Hashable, Sendable {
        case stringEquals = "StringEquals"
        case stringNotEquals = "StringNotEquals"
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase"
        case stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
        case stringLike = "StringLike"
        case stringNotLike = "StringNotLike"
        case numericEquals = "NumericEquals"
        case numericNotEquals = "NumericNotEquals"
        case numericLessThan = "NumericLessThan"
        case numericLessThanEquals = "NumericLessThanEquals"
        case numericGreaterThan = "NumericGreaterThan"
        case numericGreaterThanEquals = "NumericGreaterThanEquals"
        case dateEquals = "DateEquals"
        case dateNotEquals = "DateNotEquals"
        case dateLessThan = "DateLessThan"
        case dateLessThanEquals = "DateLessThanEquals"
        case dateGreaterThan = "DateGreaterThan"
        case dateGreaterThanEquals = "DateGreaterThanEquals"
        case bool = "Bool"
        case binaryEquals = "BinaryEquals"
        case ipAddress = "IpAddress"
        case notIpAddress = "NotIpAddress"
        case arnEquals = "ArnEquals"
        case arnLike = "ArnLike"
        case arnNotEquals = "ArnNotEquals"
        case arnNotLike = "ArnNotLike"
        case null = "Null"

        public var isNegated: Bool {
            switch self {
            case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotLike, .numericNotEquals,
                .dateNotEquals, .notIpAddress, .arnNotEquals, .arnNotLike:
                return true
            default:
                return false
            }
        }

        /// The kind of value the operator compares, which decides how values are validated.
        enum ValueKind { case string, number, date, bool, binary, ip, arn, null }

        var valueKind: ValueKind {
            switch self {
            case .stringEquals, .stringNotEquals, .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase, .stringLike, .stringNotLike:
                return .string
            case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
                return .number
            case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
                return .date
            case .bool: return .bool
            case .binaryEquals: return .binary
            case .ipAddress, .notIpAddress: return .ip
            case .arnEquals, .arnLike, .arnNotEquals, .arnNotLike: return .arn
            case .null: return .null
            }
        }

        /// Policy variables are substituted in string and ARN comparisons only (as IAM does).
        var allowsVariables: Bool { valueKind == .string || valueKind == .arn }
    }

    public let qualifier: SetQualifier?
    public let base: Base
    public let ifExists: Bool

    public init(qualifier: SetQualifier? = nil, base: Base, ifExists: Bool = false) {
        self.qualifier = qualifier
        self.base = base
        self.ifExists = ifExists
    }

    /// Parses an operator name; `nil` if it is not one IAM knows. Operator names are matched
    /// case-insensitively, as IAM does; `Null` takes neither `IfExists` nor a set prefix.
    public init?(_ text: String) {
        var rest = Substring(text)
        var qualifier: SetQualifier? = nil
        if let colon = rest.firstIndex(of: ":") {
            let prefix = rest[..<colon].lowercased()
            if prefix == "foranyvalue" { qualifier = .forAnyValue } else if prefix == "forallvalues" { qualifier = .forAllValues } else { return nil }
            rest = rest[rest.index(after: colon)...]
        }
        var ifExists = false
        if rest.lowercased().hasSuffix("ifexists") {
            ifExists = true
            rest = rest.dropLast("IfExists".count)
        }
        let lowered = rest.lowercased()
        guard let base = Base.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else { return nil }
        if base == .null && (ifExists || qualifier != nil) { return nil }
        self.init(qualifier: qualifier, base: base, ifExists: ifExists)
    }

    public var description: String {
        (qualifier.map { "\($0.rawValue):" } ?? "") + base.rawValue + (ifExists ? "IfExists" : "")
    }
}
