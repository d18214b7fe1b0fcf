import JSON

/// What an audit record keeps of a request: everything but bulk data and what CloudTrail hides.
/// A hidden member stays, with the value `HIDDEN_DUE_TO_SECURITY_REASONS`, at any depth: object
/// bodies, secret keys, and the text of SQL seed queries (which can carry customer values).
enum AuditRedaction {
    static let hidden: Set<String> = ["Body", "SecretAccessKey", "secretAccessKey", "queryString"]
    static let marker: JSON = "HIDDEN_DUE_TO_SECURITY_REASONS"

    static func redact(_ params: JSON) -> JSON {
        guard mentionsHidden(params) else { return params }
        return replaced(params)
    }

    /// Most requests have nothing to hide: checked before anything is copied.
    private static func mentionsHidden(_ v: JSON) -> Bool {
        switch v {
        case .object(let o): return o.contains { hidden.contains($0.key) || mentionsHidden($0.value) }
        case .array(let a): return a.contains(where: mentionsHidden)
        default: return false
        }
    }

    private static func replaced(_ v: JSON) -> JSON {
        switch v {
        case .object(let o):
            var out: [String: JSON] = [:]
            for (k, x) in o { out[k] = hidden.contains(k) ? marker : replaced(x) }
            return .object(out)
        case .array(let a): return .array(a.map(replaced))
        default: return v
        }
    }
}
