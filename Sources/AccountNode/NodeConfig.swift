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
    /// The other accounts of the cluster (nil: do not check); a start on a CAM of any other
    /// account is refused as a resource policy would refuse it.
    public var peers: Set<String>?
    /// The organization of each account of the cluster that is in one (`aws:PrincipalOrgID` for
    /// principals of other accounts).
    public var organizations: [String: String] = [:]
    /// Deliberately broken behaviours, for showing that the checker can fail (never in normal
    /// use): `no-tombstones` (a delete leaves no tombstone), `drop-outbox` (undelivered deletes
    /// are forgotten on restart, and digests carry no tombstones).
    public var breaks: Set<String> = []
    public static let breakNames = ["no-tombstones", "drop-outbox"]
    /// How the node talks to other accounts' nodes.
    public var crossAccount = CrossAccountTiming()

    /// Timing of the cross-account protocols (docs/cross-account.md).
    public struct CrossAccountTiming: Sendable {
        /// How long a start or export waits for the other account's node before giving up.
        public var callTimeout = 5.0
        /// Redelivery of a message that must arrive: the first retry after `retryBase` seconds,
        /// doubling each time up to `retryCap`, each with up to 50% random jitter below it.
        public var retryBase = 0.02
        public var retryCap = 2.0
        /// A copy the other side has no trace of is removed by sync only once it is this old
        /// (so a sync crossing a start in flight cannot remove the new job).
        public var orphanGrace = 60.0
        /// Seconds between syncs with the accounts this node shares jobs with.
        public var syncInterval = 5.0
        /// How long after its delete a tombstone is kept at least, and never while the other
        /// account has not acknowledged the delete (`DeletePropagation.expireTombstones`):
        /// longer than any message about the job can still be on its way.
        public var tombstoneRetention = 86_400.0
        public init() {}
    }

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
