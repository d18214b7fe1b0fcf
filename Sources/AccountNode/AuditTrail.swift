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
    }

    /// Who made the call.
    public struct Identity: Sendable {
        public var principalID: String
        public var arn: String
        public var accountID: String
        public var userName: String
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
    /// The request's parameters, bulk data and secrets left out.
    public var requestParameters: JSON
    public var errorCode: String?
    public var errorMessage: String?

    /// The full record, as CloudTrail's `CloudTrailEvent` JSON carries it.
    public var record: JSON {
        .compactObject([
            "eventVersion": "1.08",
            "userIdentity": ["type": "IAMUser", "principalId": .string(identity.principalID), "arn": .string(identity.arn),
                             "accountId": .string(identity.accountID), "userName": .string(identity.userName),
                             "accessKeyId": .string(accessKeyID ?? "")],
            "eventTime": .string(ISO8601.format(eventTime)), "eventSource": .string(eventSource), "eventName": .string(eventName),
            "awsRegion": .string(region), "sourceIPAddress": .string(sourceIP), "requestParameters": requestParameters,
            "readOnly": .bool(readOnly), "recipientAccountId": .string(identity.accountID), "eventType": "AwsApiCall",
            "managementEvent": true, "eventID": .string(eventID),
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
        w.member("requestParameters", requestParameters)
        w.member("resources", stringObjects: resources.map { [("name", $0.name), ("type", $0.type)] })
        w.member("sourceIP", sourceIP)
        w.member("userName", identity.userName)
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
        self.requestParameters = requestParameters
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    /// Reads an event back from `json`; nil if it is not one.
    public init?(json j: JSON) {
        guard let id = j["eventID"]?.stringValue, let name = j["eventName"]?.stringValue, let source = j["eventSource"]?.stringValue,
              let time = j["eventTime"]?.numberValue, let ro = j["readOnly"]?.boolValue else { return nil }
        let identity = Identity(principalID: j["principalID"]?.stringValue ?? "", arn: j["arn"]?.stringValue ?? "",
                                accountID: j["accountID"]?.stringValue ?? "", userName: j["userName"]?.stringValue ?? "")
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

/// The account's recent audit events, newest last, bounded by `capacity` (the oldest are
/// dropped first, as CloudTrail's lookup window drops old events).
public struct AuditTrail: Sendable {
    public let capacity: Int
    public private(set) var events: [AuditEvent] = []
    private var start = 0  // ring start when full

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public mutating func append(_ e: AuditEvent) {
        if events.count < capacity {
            events.append(e)
        } else {
            events[start] = e
            start = (start + 1) % capacity
        }
    }

    /// Events newest first.
    public var newestFirst: [AuditEvent] {
        let ordered = Array(events[start...]) + Array(events[..<start])
        return ordered.reversed()
    }
}
