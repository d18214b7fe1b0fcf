import CleanRoomsModel
import JSON

/// The cluster file (`cluster.json`): every account of a local cluster, where its node listens,
/// its secrets, and the organizations that govern it. `crml cluster up` writes it; each
/// `crml-node --cluster FILE --account ID` reads it; `crml` commands read it to find nodes.
///
/// Secrets are in the file on purpose: it is a local simulation's configuration, readable only
/// by its owner (the launcher writes it with mode 0600).
public struct ClusterFile: Codable, Sendable {
    public var version: Int = 1
    public var region: String = "us-west-1"
    public var partition: String = "aws"
    public var accounts: [Account]
    public var organizations: [Organization] = []
    /// Deliberately broken node modes for the whole cluster (`crml check run --break`), never in
    /// normal use; each node also takes `--break`.
    public var breaks: [String] = []
    /// Seconds a node waits for another node's answer before it counts it unreachable (default 5).
    public var peerTimeout: Double? = nil
    /// The accounts run in network namespaces of their own on a bridge (`crml cluster up
    /// --hosts netns`); nil: on loopback.
    public var netns: Netns? = nil

    /// Where a cluster's namespaces are: every name derives from `id`, so a later `down` or `up`
    /// finds what a crashed command left.
    public struct Netns: Codable, Sendable, Equatable {
        public var id: String
        public var bridge: String
        /// The bridge's address on the host (`10.A.B.1`); accounts take `10.A.B.(10+k)`.
        public var bridgeAddress: String
        public var prefixLength: Int = 24

        public init(id: String, bridge: String, bridgeAddress: String) {
            (self.id, self.bridge, self.bridgeAddress) = (id, bridge, bridgeAddress)
        }

        enum CodingKeys: String, CodingKey { case id, bridge, bridgeAddress, prefixLength }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            bridge = try c.decode(String.self, forKey: .bridge)
            bridgeAddress = try c.decode(String.self, forKey: .bridgeAddress)
            prefixLength = try c.decodeIfPresent(Int.self, forKey: .prefixLength) ?? 24
        }
    }

    public struct Account: Codable, Sendable {
        public var id: AccountID
        public var host: String = "127.0.0.1"
        /// 0 until the node has started and reported the port it bound.
        public var port: Int = 0
        /// The HTTP front's port, where AWS SDKs and aws-cli reach the account: 0 until the node
        /// has bound one; nil: the node has no HTTP front.
        public var httpPort: Int?
        public var dataDir: String?
        public var logFile: String?
        public var readyFile: String?
        public var pid: Int32?
        /// The network namespace the node runs in (`--hosts netns`).
        public var namespace: String?
        /// Hex secret that proves a peer connection comes from this account's node.
        public var nodeSecret: String
        public var admin: Admin

        public init(id: AccountID, host: String = "127.0.0.1", port: Int = 0, nodeSecret: String, admin: Admin) {
            self.id = id
            self.host = host
            self.port = port
            self.nodeSecret = nodeSecret
            self.admin = admin
        }
    }

    public struct Admin: Codable, Sendable {
        public var userName: String = "admin"
        public var accessKeyId: String
        public var secretAccessKey: String

        public init(userName: String = "admin", accessKeyId: String, secretAccessKey: String) {
            self.userName = userName
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
        }
    }

    /// An AWS organization: its management account, members, and service control policies.
    public struct Organization: Codable, Sendable {
        public var id: String
        public var managementAccount: AccountID
        public var members: [AccountID]
        /// Whether AWS's default `FullAWSAccess` SCP is attached to every member (deny-list
        /// style). Set false for allow-list style: members may then do only what `policies` allow.
        public var fullAWSAccess: Bool = true
        public var policies: [ServiceControlPolicy] = []

        public init(id: String, managementAccount: AccountID, members: [AccountID], fullAWSAccess: Bool = true, policies: [ServiceControlPolicy] = []) {
            self.id = id
            self.managementAccount = managementAccount
            self.members = members
            self.fullAWSAccess = fullAWSAccess
            self.policies = policies
        }
    }

    public struct ServiceControlPolicy: Codable, Sendable {
        public var name: String
        public var document: String
        /// Member accounts it is attached to; empty means every member.
        public var targets: [AccountID] = []

        public init(name: String, document: String, targets: [AccountID] = []) {
            self.name = name
            self.document = document
            self.targets = targets
        }
    }

    public init(region: String = "us-west-1", accounts: [Account], organizations: [Organization] = []) {
        self.region = region
        self.accounts = accounts
        self.organizations = organizations
    }

    public func account(_ id: AccountID) -> Account? { accounts.first { $0.id == id } }

    /// The organization an account is a member of, and the SCPs that bind it (nil for accounts
    /// in no organization and for an organization's management account, which SCPs never bind).
    public func organization(of id: AccountID) -> (id: String, scps: [(name: String, document: String)]?)? {
        guard let org = organizations.first(where: { $0.members.contains(id) || $0.managementAccount == id }) else { return nil }
        if org.managementAccount == id { return (org.id, nil) }
        var scps: [(name: String, document: String)] = []
        if org.fullAWSAccess {
            scps.append(("FullAWSAccess", #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#))
        }
        for p in org.policies where p.targets.isEmpty || p.targets.contains(id) { scps.append((p.name, p.document)) }
        return (org.id, scps)
    }

    public static func load(_ bytes: [UInt8]) throws -> ClusterFile {
        try JSONParser.parse(bytes).decode(ClusterFile.self)
    }

    public func encoded() throws -> [UInt8] {
        JSONWriter.bytes(try JSON(encoding: self), pretty: true) + [0x0A]
    }
}

// Hand-written cluster files may leave out whatever has a default.
extension ClusterFile {
    enum CodingKeys: String, CodingKey { case version, region, partition, accounts, organizations, breaks, peerTimeout, netns }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        region = try c.decodeIfPresent(String.self, forKey: .region) ?? "us-west-1"
        partition = try c.decodeIfPresent(String.self, forKey: .partition) ?? "aws"
        accounts = try c.decode([Account].self, forKey: .accounts)
        organizations = try c.decodeIfPresent([Organization].self, forKey: .organizations) ?? []
        breaks = try c.decodeIfPresent([String].self, forKey: .breaks) ?? []
        peerTimeout = try c.decodeIfPresent(Double.self, forKey: .peerTimeout)
        netns = try c.decodeIfPresent(Netns.self, forKey: .netns)
    }
}

extension ClusterFile.Account {
    enum CodingKeys: String, CodingKey { case id, host, port, httpPort, namespace, dataDir, logFile, readyFile, pid, nodeSecret, admin }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(AccountID.self, forKey: .id)
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? "127.0.0.1"
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? 0
        httpPort = try c.decodeIfPresent(Int.self, forKey: .httpPort)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir)
        logFile = try c.decodeIfPresent(String.self, forKey: .logFile)
        readyFile = try c.decodeIfPresent(String.self, forKey: .readyFile)
        pid = try c.decodeIfPresent(Int32.self, forKey: .pid)
        nodeSecret = try c.decode(String.self, forKey: .nodeSecret)
        admin = try c.decode(ClusterFile.Admin.self, forKey: .admin)
    }
}

extension ClusterFile.Admin {
    enum CodingKeys: String, CodingKey { case userName, accessKeyId, secretAccessKey }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        userName = try c.decodeIfPresent(String.self, forKey: .userName) ?? "admin"
        accessKeyId = try c.decode(String.self, forKey: .accessKeyId)
        secretAccessKey = try c.decode(String.self, forKey: .secretAccessKey)
    }
}

extension ClusterFile.Organization {
    enum CodingKeys: String, CodingKey { case id, managementAccount, members, fullAWSAccess, policies }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        managementAccount = try c.decode(AccountID.self, forKey: .managementAccount)
        members = try c.decodeIfPresent([AccountID].self, forKey: .members) ?? []
        fullAWSAccess = try c.decodeIfPresent(Bool.self, forKey: .fullAWSAccess) ?? true
        policies = try c.decodeIfPresent([ClusterFile.ServiceControlPolicy].self, forKey: .policies) ?? []
    }
}

extension ClusterFile.ServiceControlPolicy {
    enum CodingKeys: String, CodingKey { case name, document, targets }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        document = try c.decode(String.self, forKey: .document)
        targets = try c.decodeIfPresent([AccountID].self, forKey: .targets) ?? []
    }
}
