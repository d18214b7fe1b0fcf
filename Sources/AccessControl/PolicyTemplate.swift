/// Text from a policy that may contain policy variables: `${aws:username}`,
/// `${aws:PrincipalTag/team, 'default'}`, and the escapes `${*}`, `${?}`, `${$}`.
///
/// Variables exist only in version `2012-10-17` documents; in `2008-10-17` the same text is
/// literal. A variable whose key the request does not carry (and that has no default) makes
/// the whole element fail to match, so a missing value can never widen a grant.
struct PolicyTemplate: Hashable, Sendable {
    enum Part: Hashable, Sendable {
        /// Policy text; in a wildcard context its `*` and `?` are wildcards.
        case text(String)
        /// A character that must be taken literally even in a wildcard context (`${*}`).
        case escaped(Character)
        /// A request value, always taken literally. `key` is lowercased.
        case variable(key: String, defaultValue: String?)
    }

    let parts: [Part]
    let source: String

    /// Whether rendering needs request values (escapes alone do not).
    var hasVariables: Bool {
        parts.contains { if case .variable = $0 { return true } else { return false } }
    }

    /// Parses `text`. With `variables == false` (version 2008-10-17) the text is one literal part.
    /// Throws a reason string for a malformed variable (an unclosed `${`).
    init(_ text: String, variables: Bool) throws(TemplateError) {
        source = text
        guard variables, text.contains("${") else {
            parts = [.text(text)]
            return
        }
        var out: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "${") {
            literal += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstIndex(of: "}") else {
                throw TemplateError(reason: "unclosed policy variable in \"\(text)\"")
            }
            let body = afterOpen[..<close].trimmingSpaces()
            rest = afterOpen[afterOpen.index(after: close)...]
            switch body {
            case "*", "?", "$":
                if !literal.isEmpty { out.append(.text(literal)); literal = "" }
                out.append(.escaped(body.first!))
            default:
                var key = body
                var def: String? = nil
                if let comma = body.firstIndex(of: ",") {
                    key = body[..<comma].trimmingSpaces()
                    let d = body[body.index(after: comma)...].trimmingSpaces()
                    guard d.count >= 2, d.first == "'", d.last == "'" else {
                        throw TemplateError(reason: "the default value of policy variable ${\(key)} must be in single quotes")
                    }
                    def = String(d.dropFirst().dropLast())
                }
                guard !key.isEmpty, key.contains(":") || key.lowercased().hasPrefix("aws") else {
                    throw TemplateError(reason: "invalid policy variable ${\(body)}")
                }
                if !literal.isEmpty { out.append(.text(literal)); literal = "" }
                out.append(.variable(key: key.lowercased(), defaultValue: def))
            }
        }
        literal += rest
        if !literal.isEmpty { out.append(.text(literal)) }
        parts = out
    }

    /// The keys of the variables, for "missing context values" reports.
    var variableKeys: [String] {
        parts.compactMap { if case .variable(let k, _) = $0 { return k } else { return nil } }
    }

    /// Renders to plain text (for exact comparisons); `nil` if a variable has no value.
    func render(_ context: RequestContext?) -> String? {
        var s = ""
        for p in parts {
            switch p {
            case .text(let t): s += t
            case .escaped(let c): s.append(c)
            case .variable(let key, let def):
                guard let v = context?.singleValue(forLowercasedKey: key) ?? def else { return nil }
                s += v
            }
        }
        return s
    }

    /// Renders to wildcard units: policy text keeps its wildcards, values and escapes do not.
    func globUnits(_ context: RequestContext?) -> [GlobUnit]? {
        var units: [GlobUnit] = []
        for p in parts {
            switch p {
            case .text(let t): units += Glob.units(t)
            case .escaped(let c): units += String(c).utf8.map { .byte($0) }
            case .variable(let key, let def):
                guard let v = context?.singleValue(forLowercasedKey: key) ?? def else { return nil }
                units += v.utf8.map { .byte($0) }
            }
        }
        return units
    }
}

struct TemplateError: Error {
    var reason: String
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
