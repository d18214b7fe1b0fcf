import CleanRoomsModel
import JSON

/// One audited API call, recorded in the caller's account (XA-10).
///
/// It keeps the call's facts; the CloudTrail record (`record`) is built from them when someone
/// reads it (LookupEvents, the audit file's writer thread), not on the request's hot path.
public struct AuditEvent: Sendable {
    public struct Resource: Sendable, Hashable {
        public var type: String
        public var name: String
        public init(type: String, name: String) { (self.type, self.name) = (type, name) }
    }

    /// Who made the call.
    public struct Identity: Sendable {
        public var principalID: String
        public var arn: String
        public var accountID: String
        public var userName: String
        /// CloudTrail's `userIdentity.type`: `IAMUser`, `AssumedRole`, `Root`, … (what a node's
        /// callers can be: access keys belong to IAM users, so `IAMUser` today).
        public var type: String = "IAMUser"

        public init(principalID: String, arn: String, accountID: String, userName: String, type: String = "IAMUser") {
            (self.principalID, self.arn, self.accountID, self.userName, self.type) = (principalID, arn, accountID, userName, type)
        }

        /// CloudTrail's name for a principal of this kind.
        public static func type(of kind: String) -> String {
            switch kind {
            case "root": return "Root"
            case "role", "assumedRole": return "AssumedRole"
            case "service": return "AWSService"
            case "anonymous": return "AWSAccount"
            default: return "IAMUser"
            }
        }
    }

    public var eventID: String
    public var eventName: String
    /// The service's endpoint, as CloudTrail names it (`cleanrooms-ml.amazonaws.com`).
    public var eventSource: String
    public var eventTime: Double
    public var readOnly: Bool
    public var accessKeyID: String?
    public var username: String?
    public var resources: [Resource]
    public var identity: Identity
    public var region: String
    public var sourceIP: String
    /// The request's parameters, bulk data and secrets left out, as JSON text: kept encoded,
    /// since the audit file needs that text for every event and lookups read few (one small
    /// array instead of a tree of dictionaries per event held in memory).
    public private(set) var requestParametersJSON: [UInt8]
    public var requestParameters: JSON { (try? JSONParser.parse(requestParametersJSON)) ?? [:] }
    public var errorCode: String?
    public var errorMessage: String?

    /// The full record, as CloudTrail's `CloudTrailEvent` JSON carries it.
    public var record: JSON {
        .compactObject([
            "eventVersion": "1.08",
            "userIdentity": .compactObject(["type": .string(identity.type), "principalId": .string(identity.principalID), "arn": .string(identity.arn),
                                            "accountId": .string(identity.accountID),
                                            "userName": identity.type == "IAMUser" ? .string(identity.userName) : nil,
                                            "accessKeyId": .string(accessKeyID ?? "")]),
            "eventTime": .string(ISO8601.format(eventTime)), "eventSource": .string(eventSource), "eventName": .string(eventName),
            "awsRegion": .string(region), "sourceIPAddress": .string(sourceIP), "requestParameters": requestParameters,
            "readOnly": .bool(readOnly), "recipientAccountId": .string(identity.accountID), "eventType": "AwsApiCall",
            "managementEvent": true, "eventCategory": "Management", "eventID": .string(eventID),
            "resources": resources.isEmpty ? nil : .array(resources.map { ["ARN": .string($0.name), "accountId": .string(ARN.accountPart(of: $0.name).map(String.init) ?? identity.accountID), "type": .string($0.type)] }),
            "errorCode": errorCode.map { .string($0) }, "errorMessage": errorMessage.map { .string($0) },
        ])
    }

    /// The event as one line of the audit file: a JSON object with its members in key order,
    /// written member by member (once per audited call); `init(json:)` reads it back.
    public var line: [UInt8] {
        var w = JSONObjectWriter(reservingCapacity: 512)
        w.member("accessKeyID", accessKeyID)
        w.member("accountID", identity.accountID)
        w.member("arn", identity.arn)
        w.member("errorCode", errorCode)
        w.member("errorMessage", errorMessage)
        w.member("eventID", eventID)
        w.member("eventName", eventName)
        w.member("eventSource", eventSource)
        w.member("eventTime", eventTime)
        w.member("principalID", identity.principalID)
        w.member("readOnly", readOnly)
        w.member("region", region)
        w.member("requestParameters", rawJSON: requestParametersJSON)
        w.member("resources", stringObjects: resources.map { [("name", $0.name), ("type", $0.type)] })
        w.member("sourceIP", sourceIP)
        w.member("userName", identity.userName)
        w.member("userType", identity.type)
        w.member("username", username)
        return w.finish()
    }

    public init(eventID: String, eventName: String, eventSource: String, eventTime: Double, readOnly: Bool, accessKeyID: String?,
                username: String?, resources: [Resource], identity: Identity, region: String, sourceIP: String,
                requestParameters: JSON, errorCode: String?, errorMessage: String?) {
        self.eventID = eventID
        self.eventName = eventName
        self.eventSource = eventSource
        self.eventTime = eventTime
        self.readOnly = readOnly
        self.accessKeyID = accessKeyID
        self.username = username
        self.resources = resources
        self.identity = identity
        self.region = region
        self.sourceIP = sourceIP
        self.requestParametersJSON = JSONWriter.bytes(requestParameters)
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    /// Reads an event back from `json`; nil if it is not one.
    public init?(json j: JSON) {
        guard let id = j["eventID"]?.stringValue, let name = j["eventName"]?.stringValue, let source = j["eventSource"]?.stringValue,
              let time = j["eventTime"]?.numberValue, let ro = j["readOnly"]?.boolValue else { return nil }
        let identity = Identity(principalID: j["principalID"]?.stringValue ?? "", arn: j["arn"]?.stringValue ?? "",
                                accountID: j["accountID"]?.stringValue ?? "", userName: j["userName"]?.stringValue ?? "",
                                type: j["userType"]?.stringValue ?? "IAMUser")
        self.init(eventID: id, eventName: name, eventSource: source, eventTime: time, readOnly: ro, accessKeyID: j["accessKeyID"]?.stringValue,
                  username: j["username"]?.stringValue,
                  resources: (j["resources"]?.arrayValue ?? []).compactMap { r in
                      guard let t = r["type"]?.stringValue, let n = r["name"]?.stringValue else { return nil }
                      return Resource(type: t, name: n)
                  }, identity: identity, region: j["region"]?.stringValue ?? "", sourceIP: j["sourceIP"]?.stringValue ?? "",
                  requestParameters: j["requestParameters"] ?? [:], errorCode: j["errorCode"]?.stringValue, errorMessage: j["errorMessage"]?.stringValue)
    }

    /// The `Event` shape of `LookupEvents`.
    var lookupShape: JSON {
        .compactObject([
            "EventId": .string(eventID), "EventName": .string(eventName), "EventSource": .string(eventSource),
            "EventTime": .number(eventTime), "ReadOnly": .string(readOnly ? "true" : "false"),
            "AccessKeyId": accessKeyID.map { .string($0) }, "Username": username.map { .string($0) },
            "Resources": .array(resources.map { ["ResourceType": .string($0.type), "ResourceName": .string($0.name)] }),
            "CloudTrailEvent": .string(JSONWriter.string(record)),
        ])
    }
}

/// The account's recent audit events, bounded by `capacity` (the oldest are dropped first, as
/// CloudTrail's lookup window drops old events), indexed so that a lookup costs what it returns.
///
/// Every event gets a sequence number, in the order it was recorded. Events are kept in a ring;
/// each lookup attribute (`EventName`, `Username`, `ResourceName`, …) maps each value to the
/// sequence numbers of the events that have it, oldest first. A lookup walks back from the
/// newest (or from its page token) through the ring or one such list; the time window is found
/// by binary search over the order of recording, widened by the most any event was recorded
/// late (a call that waited for another node is stamped when it came in but recorded when it was
/// answered), and then filtered exactly.
public struct AuditTrail: Sendable {
    public let capacity: Int
    /// The ring: `events[start]` is the oldest, with sequence number `firstSeq`.
    private var events: [AuditEvent] = []
    private var start = 0
    public private(set) var firstSeq: UInt64 = 1
    /// Sequence numbers by lookup attribute (`Attribute.position`) and value, oldest first;
    /// event ids, each unique, map straight to their event's sequence number.
    private var index: [[String: SeqList]] = Array(repeating: [:], count: Attribute.allCases.count)
    private var byEventID: [String: UInt64] = [:]
    /// One copy of each name events repeat (principals, services, operations, resources).
    private var strings = StringInterner()
    /// Events are recorded when a call is answered but stamped when it came in, so a call that
    /// waited for another node is recorded after later ones: the latest time recorded so far,
    /// and the most an event has come behind it. Lookups widen their window by this much and
    /// then filter exactly.
    private var latestTime = -Double.infinity
    public private(set) var maxLateness = 0.0

    /// The lookup attributes `LookupEvents` takes.
    public enum Attribute: String, Sendable, CaseIterable {
        case eventId = "EventId", eventName = "EventName", readOnly = "ReadOnly", username = "Username", resourceType = "ResourceType",
             resourceName = "ResourceName", eventSource = "EventSource", accessKeyId = "AccessKeyId"

        /// Where the attribute's index is in `index`.
        var position: Int {
            switch self {
            case .eventId: return 0
            case .eventName: return 1
            case .readOnly: return 2
            case .username: return 3
            case .resourceType: return 4
            case .resourceName: return 5
            case .eventSource: return 6
            case .accessKeyId: return 7
            }
        }
    }

    /// Ascending sequence numbers; the front is dropped as events leave the ring.
    struct SeqList: Sendable {
        var seqs: [UInt64] = []
        var head = 0
        var isEmpty: Bool { head >= seqs.count }
    }

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var count: Int { events.count }
    /// The sequence number the next event gets.
    public var nextSeq: UInt64 { firstSeq + UInt64(events.count) }

    /// The event with sequence number `seq`, if still kept.
    public func event(_ seq: UInt64) -> AuditEvent? {
        guard seq >= firstSeq, seq < nextSeq else { return nil }
        return events[(start + Int(seq - firstSeq)) % events.count]
    }

    /// Records `event`. Events read back from the audit file (`restored`) have every string of
    /// their own, so all are shared; a live event's caller, region and service already share
    /// their storage with the node's own copies, so only what each call makes anew is.
    public mutating func append(_ event: AuditEvent, restored: Bool = false) {
        var e = event
        if restored { strings.intern(&e) } else { strings.internPerCall(&e) }
        let seq = nextSeq
        if e.eventTime < latestTime { maxLateness = max(maxLateness, latestTime - e.eventTime) }
        latestTime = max(latestTime, e.eventTime)
        if events.count < capacity {
            events.append(e)
        } else {
            unindex(events[start], seq: firstSeq)
            events[start] = e
            start = (start + 1) % capacity
            firstSeq += 1
        }
        byEventID[e.eventID] = seq
        AuditTrail.forEachAttribute(of: e) { attribute, value in
            index[attribute.position][value, default: SeqList()].seqs.append(seq)
        }
    }

    private mutating func unindex(_ e: AuditEvent, seq: UInt64) {
        if byEventID[e.eventID] == seq { byEventID[e.eventID] = nil }
        AuditTrail.forEachAttribute(of: e) { attribute, value in
            let p = attribute.position
            // Changed in place (`values[i]`): copying a list out and back would copy its array.
            guard let i = index[p].index(forKey: value), !index[p].values[i].isEmpty, index[p].values[i].seqs[index[p].values[i].head] == seq else { return }
            index[p].values[i].head += 1
            if index[p].values[i].isEmpty {
                index[p].remove(at: i)
            } else if index[p].values[i].head > 64 && index[p].values[i].head * 2 > index[p].values[i].seqs.count {
                index[p].values[i].seqs.removeFirst(index[p].values[i].head)
                index[p].values[i].head = 0
            }
        }
    }

    /// Each attribute and value an event can be looked up by but its id, once each.
    static func forEachAttribute(of e: AuditEvent, _ body: (Attribute, String) -> Void) {
        body(.eventName, e.eventName)
        body(.readOnly, e.readOnly ? "true" : "false")
        body(.eventSource, e.eventSource)
        if let u = e.username { body(.username, u) }
        if let k = e.accessKeyID { body(.accessKeyId, k) }
        for (i, r) in e.resources.enumerated() {
            let earlier = e.resources[..<i]
            if !earlier.contains(where: { $0.type == r.type }) { body(.resourceType, r.type) }
            if !earlier.contains(where: { $0.name == r.name }) { body(.resourceName, r.name) }
        }
    }

    /// Up to `limit` events newest first, older than sequence number `before` (from the newest
    /// when nil), with the attribute (if any) and within the time window; and the sequence
    /// number to continue from, if more may match.
    public func lookup(_ attribute: (Attribute, String)?, from: Double, to: Double, before: UInt64?, limit: Int) -> (events: [AuditEvent], next: UInt64?) {
        let bound = min(before ?? nextSeq, nextSeq)
        var out: [AuditEvent] = []
        if let (a, v) = attribute, a == .eventId {
            guard let seq = byEventID[v], seq < bound, let e = event(seq), e.eventTime >= from, e.eventTime <= to, limit > 0 else { return ([], nil) }
            return ([e], nil)
        }
        if let (a, v) = attribute {
            guard let list = index[a.position][v] else { return ([], nil) }
            // The last position before `bound` whose event may not be after `to`.
            var hi = AuditTrail.upperBound(list.head, list.seqs.count) { list.seqs[$0] < bound }
            hi = AuditTrail.upperBound(list.head, hi) { event(list.seqs[$0])!.eventTime <= to + maxLateness }
            var k = hi - 1
            while k >= list.head {
                let e = event(list.seqs[k])!
                if e.eventTime < from - maxLateness { return (out, nil) }
                if e.eventTime >= from && e.eventTime <= to {
                    if out.count == limit { return (out, list.seqs[k] + 1) }
                    out.append(e)
                }
                k -= 1
            }
            return (out, nil)
        }
        guard bound > firstSeq else { return ([], nil) }
        var hi = Int(bound - firstSeq)
        hi = AuditTrail.upperBound(0, hi) { event(firstSeq + UInt64($0))!.eventTime <= to + maxLateness }
        var k = hi - 1
        while k >= 0 {
            let e = event(firstSeq + UInt64(k))!
            if e.eventTime < from - maxLateness { return (out, nil) }
            if e.eventTime >= from && e.eventTime <= to {
                if out.count == limit { return (out, firstSeq + UInt64(k) + 1) }
                out.append(e)
            }
            k -= 1
        }
        return (out, nil)
    }

    /// The first position in `lo..<hi` where `isBefore` stops holding (it holds for a prefix).
    static func upperBound(_ lo: Int, _ hi: Int, _ isBefore: (Int) -> Bool) -> Int {
        var lo = lo, hi = hi
        while lo < hi {
            let mid = (lo + hi) / 2
            if isBefore(mid) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Events oldest first.
    public var oldestFirst: [AuditEvent] { Array(events[start...]) + Array(events[..<start]) }
}

/// Gives repeated strings one shared copy: an audit trail of 50,000 events holds a few hundred
/// distinct principals, operations and resources, not 50,000 copies of each. Strings of up to
/// 15 bytes are stored inside the `String` itself and need no sharing. Bounded: past `limit`
/// distinct strings the table starts again (interning saves memory, it is never needed).
struct StringInterner: Sendable {
    private var table: [String: String] = [:]
    let limit = 20_000

    mutating func intern(_ s: inout String) {
        guard s.utf8.count > 15 else { return }
        if let shared = table[s] { s = shared; return }
        if table.count >= limit { table.removeAll(keepingCapacity: true) }
        table[s] = s
    }

    mutating func intern(_ s: inout String?) {
        guard var v = s else { return }
        intern(&v)
        s = v
    }

    /// What a live call makes anew: its operation's name and its resources.
    mutating func internPerCall(_ e: inout AuditEvent) {
        intern(&e.eventName)
        for k in e.resources.indices {
            intern(&e.resources[k].type)
            intern(&e.resources[k].name)
        }
    }

    mutating func intern(_ e: inout AuditEvent) {
        intern(&e.eventName)
        intern(&e.eventSource)
        intern(&e.region)
        intern(&e.sourceIP)
        intern(&e.accessKeyID)
        intern(&e.username)
        intern(&e.identity.principalID)
        intern(&e.identity.arn)
        intern(&e.identity.accountID)
        intern(&e.identity.userName)
        intern(&e.identity.type)
        for k in e.resources.indices {
            intern(&e.resources[k].type)
            intern(&e.resources[k].name)
        }
    }
}
