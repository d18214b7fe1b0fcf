import CleanRoomsModel
import JSON

/// A key–value tag, in the order the caller gave it (IAM keeps tag order).
public struct Tag: Codable, Hashable, Sendable {
    public var key: String
    public var value: String
}

public struct AccessKey: Codable, Hashable, Sendable {
    public var id: String
    public var secret: String
    public var status: String
    public var createDate: Double
}

public struct IAMUser: Codable, Sendable {
    public var name: String
    public var path: String
    public var userID: String
    public var createDate: Double
    public var tags: [Tag]
    /// Inline policies by name, as the text the caller put.
    public var policies: [String: String]
    public var accessKeys: [AccessKey]
}

public struct IAMRole: Codable, Sendable {
    public var name: String
    public var path: String
    public var roleID: String
    public var createDate: Double
    public var assumeRolePolicy: String
    public var description: String?
    public var maxSessionDuration: Int
    public var tags: [Tag]
    public var policies: [String: String]
}

public struct S3Object: Codable, Sendable {
    public var key: String
    public var size: Int
    public var etag: String
    public var lastModified: Double
    public var contentType: String?
    /// The file under the node's blob store that holds the bytes.
    public var blob: String
}

public struct Bucket: Codable, Sendable {
    public var name: String
    public var createDate: Double
    public var objects: [String: S3Object]
}

public struct GlueTable: Codable, Sendable {
    public var name: String
    public var databaseName: String
    public var createTime: Double
    /// The `TableInput` as given (columns, storage location, parameters).
    public var input: JSON
}

public struct GlueDatabase: Codable, Sendable {
    public var name: String
    public var description: String?
    public var locationUri: String?
    public var createTime: Double
    public var tables: [String: GlueTable]
}

public struct TrainingDataset: Codable, Sendable {
    public var arn: String
    public var name: String
    public var description: String?
    public var roleArn: String
    public var trainingData: JSON
    public var tags: [String: String]
    public var createTime: Double
    public var updateTime: Double
}

/// Everything an account node owns that must survive a restart. Changed only by applying
/// `StateEvent`s, so that replaying the write-ahead log rebuilds exactly this value.
public struct NodeState: Codable, Sendable {
    public var bootstrapped = false
    public var users: [String: IAMUser] = [:]
    public var roles: [String: IAMRole] = [:]
    public var buckets: [String: Bucket] = [:]
    public var databases: [String: GlueDatabase] = [:]
    public var trainingDatasets: [String: TrainingDataset] = [:]

    public init() {}

    /// Index from access key id to the user that holds it (rebuilt, not stored).
    func userOwning(accessKey id: String) -> (IAMUser, AccessKey)? {
        for u in users.values {
            if let k = u.accessKeys.first(where: { $0.id == id }) { return (u, k) }
        }
        return nil
    }
}
