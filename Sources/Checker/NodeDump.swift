import JSON

/// What one node held at the end of a run (`admin.Dump`), in the shape the checker reads.
public struct NodeDump: Sendable {
    public struct Copy: Sendable {
        public var arn: String
        public var id: String
        public var name: String
        public var role: String
        public var counterpart: String?
        public var status: String
        public var runs: Int
        public var tags: [String: String]
        /// The copy as its account's `GetAudienceGenerationJob` shows it.
        public var view: JSON
    }

    /// A peer message received (`inbound`) or sent, or (`acknowledged`) this node's successful,
    /// durable answer to a peer's delete.
    public struct PeerMessage: Sendable {
        public var time: Double
        public var inbound: Bool
        public var acknowledged: Bool
        public var peer: String
        public var method: String
        public var jobID: String?
    }

    public var account: String
    public var copies: [Copy]
    public var exports: [(id: String, jobArn: String, name: String, requestedBy: String?, view: JSON)]
    /// Tombstoned job ids and when.
    public var tombstones: [String: Double]
    public var outbox: Int
    public var startIntents: Int
    /// `bucket/key` of every S3 object.
    public var objects: [String]
    public var audienceFiles: Set<String>
    public var runsStarted: [String: Int]
    public var audit: [(eventName: String, time: Double, resources: [String], errorCode: String?)]
    public var peerMessages: [PeerMessage]
    public var peerMessagesSent: [String: Int]
    public var raw: JSON

    public init?(_ j: JSON) {
        guard let account = j["account"]?.stringValue, let jobs = j["jobs"]?.arrayValue else { return nil }
        self.account = account
        raw = j
        copies = jobs.compactMap { c in
            guard let arn = c["arn"]?.stringValue, let id = c["id"]?.stringValue else { return nil }
            return Copy(arn: arn, id: id, name: c["name"]?.stringValue ?? "", role: c["role"]?.stringValue ?? "local",
                        counterpart: c["counterpart"]?.stringValue, status: c["status"]?.stringValue ?? "",
                        runs: c["runs"]?.intValue ?? 0, tags: (c["tags"]?.objectValue ?? [:]).compactMapValues(\.stringValue), view: c["view"] ?? .null)
        }
        exports = (j["exports"]?.arrayValue ?? []).compactMap { e in
            guard let id = e["id"]?.stringValue, let jobArn = e["jobArn"]?.stringValue else { return nil }
            return (id, jobArn, e["name"]?.stringValue ?? "", e["requestedBy"]?.stringValue, e["view"] ?? .null)
        }
        var t: [String: Double] = [:]
        for x in j["tombstones"]?.arrayValue ?? [] { if let id = x["jobID"]?.stringValue { t[id] = x["deletedAt"]?.numberValue ?? 0 } }
        tombstones = t
        outbox = j["outbox"]?.arrayValue?.count ?? 0
        startIntents = j["startIntents"]?.arrayValue?.count ?? 0
        objects = (j["objects"]?.arrayValue ?? []).compactMap(\.stringValue)
        audienceFiles = Set((j["audienceFiles"]?.arrayValue ?? []).compactMap(\.stringValue))
        runsStarted = (j["runsStarted"]?.objectValue ?? [:]).compactMapValues(\.intValue)
        audit = (j["audit"]?.arrayValue ?? []).map { e in
            (e["eventName"]?.stringValue ?? "", e["time"]?.numberValue ?? 0, (e["resources"]?.arrayValue ?? []).compactMap(\.stringValue), e["errorCode"]?.stringValue)
        }
        peerMessages = (j["peerMessages"]?.arrayValue ?? []).compactMap { m in
            guard let t = m["t"]?.numberValue, let peer = m["peer"]?.stringValue, let method = m["method"]?.stringValue else { return nil }
            return PeerMessage(time: t, inbound: m["dir"]?.stringValue == "in", acknowledged: m["dir"]?.stringValue == "ack", peer: peer, method: method,
                               jobID: m["jobID"]?.stringValue)
        }
        peerMessagesSent = (j["peerMessagesSent"]?.objectValue ?? [:]).compactMapValues(\.intValue)
    }
}

/// What the workload set up, so the checker knows what belongs to whom.
public struct RunSetup: Sendable {
    public var accounts: [String]
    /// Each account's bucket names (data, outputs, seeds): none may appear in what another
    /// account holds or is told.
    public var buckets: [String: [String]]

    public init(accounts: [String], buckets: [String: [String]]) {
        self.accounts = accounts
        self.buckets = buckets
    }

    public init?(json: JSON) {
        guard let accounts = json["accounts"]?.arrayValue?.compactMap(\.stringValue) else { return nil }
        self.accounts = accounts
        buckets = (json["buckets"]?.objectValue ?? [:]).mapValues { ($0.arrayValue ?? []).compactMap(\.stringValue) }
    }

    public var json: JSON {
        ["accounts": .array(accounts.map { .string($0) }), "buckets": .object(buckets.mapValues { .array($0.map { .string($0) }) })]
    }
}
