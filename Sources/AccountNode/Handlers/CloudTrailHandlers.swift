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
        let key = attributes.first?["AttributeKey"]?.stringValue
        let value = attributes.first?["AttributeValue"]?.stringValue ?? ""
        let start = call.params["StartTime"]?.numberValue ?? -Double.infinity
        let end = call.params["EndTime"]?.numberValue ?? Double.infinity
        if start > end { throw AWSError(.invalidTimeRange, "StartTime must not be after EndTime") }
        let matching = core.auditTrail.newestFirst.filter { e in
            guard e.eventTime >= start && e.eventTime <= end else { return false }
            switch key {
            case nil: return true
            case "EventId": return e.eventID == value
            case "EventName": return e.eventName == value
            case "ReadOnly": return (e.readOnly ? "true" : "false") == value
            case "Username": return e.username == value
            case "ResourceType": return e.resources.contains { $0.type == value }
            case "ResourceName": return e.resources.contains { $0.name == value }
            case "EventSource": return e.eventSource == value
            case "AccessKeyId": return e.accessKeyID == value
            default: return false
            }
        }
        var offset = 0
        if let token = call.optionalString("NextToken") {
            guard let n = Int(token.dropFirst("offset-".count)), token.hasPrefix("offset-"), n >= 0 else {
                throw AWSError(.invalidNextToken, "Invalid NextToken \(token)")
            }
            offset = n
        }
        let max = call.int("MaxResults") ?? 50
        let page = matching.dropFirst(offset).prefix(max)
        let next = offset + page.count < matching.count ? "offset-\(offset + page.count)" : nil
        return .result(.compactObject(["Events": .array(page.map(\.lookupShape)), "NextToken": next.map { .string($0) }]))
    }
}
