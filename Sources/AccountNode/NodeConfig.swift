import AccessControl
import CleanRoomsModel

/// What a node knows about itself and its place in the cluster: its account, the region and
/// partition, the bootstrap administrator, and the organization rules (SCPs) that bind it.
public struct NodeConfig: Sendable {
    public var account: AccountID
    public var region: String
    public var partition: String
    /// The `admin` user created on first start, with full access and this access key.
    public var admin: BootstrapAdmin
    /// The organization this account belongs to, if any.
    public var organizationID: String?
    /// SCP texts that govern this account (nil: no organization, or its management account).
    public var serviceControlPolicies: [(name: String, document: String)]?
    /// How many audit events the node keeps for `LookupEvents`.
    public var auditCapacity: Int

    public struct BootstrapAdmin: Sendable {
        public var userName: String
        public var accessKeyID: String
        public var secretAccessKey: String

        public init(userName: String = "admin", accessKeyID: String, secretAccessKey: String) {
            self.userName = userName
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }
    }

    public init(account: AccountID, region: String = "us-west-1", partition: String = "aws", admin: BootstrapAdmin,
                organizationID: String? = nil, serviceControlPolicies: [(name: String, document: String)]? = nil, auditCapacity: Int = 50_000) {
        self.account = account
        self.region = region
        self.partition = partition
        self.admin = admin
        self.organizationID = organizationID
        self.serviceControlPolicies = serviceControlPolicies
        self.auditCapacity = auditCapacity
    }

    /// The policy that gives the bootstrap administrator full access.
    public static let administratorAccess = #"{"Version":"2012-10-17","Statement":[{"Sid":"AdministratorAccess","Effect":"Allow","Action":"*","Resource":"*"}]}"#
}
