import CleanRoomsModel
import JSON

/// `cloudtrail.LookupEvents` over the account's own audit trail: newest first, one lookup
/// attribute at most, a time window, pages of up to 50.
enum CloudTrailHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["cloudtrail.LookupEvents"] = lookupEvents
    }

    static func lookupEvents(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "cloudtrail:LookupEvents", "*")
        let attributes = call.params["LookupAttributes"]?.arrayValue ?? []
        if attributes.count > 1 {
            throw AWSError(.invalidLookupAttributes, "You cannot have more than one lookup attribute in a request")
        }
        var attribute: (AuditTrail.Attribute, String)? = nil
        if let first = attributes.first {
            let key = first["AttributeKey"]?.stringValue ?? ""
            guard let a = AuditTrail.Attribute(rawValue: key) else {
                throw AWSError(.invalidLookupAttributes, "AttributeKey \(key) is not one of \(AuditTrail.Attribute.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            attribute = (a, first["AttributeValue"]?.stringValue ?? "")
        }
        let start = call.params["StartTime"]?.numberValue ?? -Double.infinity
        let end = call.params["EndTime"]?.numberValue ?? Double.infinity
        if start > end { throw AWSError(.invalidTimeRange, "StartTime must not be after EndTime") }
        var before: UInt64? = nil
        if let token = call.optionalString("NextToken") {
            guard token.hasPrefix("before-"), let n = UInt64(token.dropFirst("before-".count)) else {
                throw AWSError(.invalidNextToken, "Invalid NextToken \(token)")
            }
            before = n
        }
        let page = core.auditTrail.lookup(attribute, from: start, to: end, before: before, limit: min(50, max(1, call.int("MaxResults") ?? 50)))
        let next = page.next.map { "before-\($0)" }
        return .result(.compactObject(["Events": .array(page.events.map(\.lookupShape)), "NextToken": next.map { .string($0) }]))
    }
}
