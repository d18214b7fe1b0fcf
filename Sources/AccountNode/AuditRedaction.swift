import JSON

/// What an audit record keeps of a request: everything but bulk data and secrets.
enum AuditRedaction {
    static let dropped: Set<String> = ["Body", "SecretAccessKey", "secretAccessKey"]

    static func redact(_ params: JSON) -> JSON {
        guard case .object(let o) = params, o.keys.contains(where: dropped.contains) else { return params }
        var out: [String: JSON] = [:]
        for (k, v) in o { out[k] = dropped.contains(k) ? "HIDDEN_DUE_TO_SECURITY_REASONS" : v }
        return .object(out)
    }
}
