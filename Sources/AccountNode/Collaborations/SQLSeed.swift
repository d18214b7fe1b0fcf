import CleanRoomsModel
import JSON
import SeedSQL

/// A seed audience given as SQL (`seedAudience.sqlParameters.queryString`, PV-2): the query
/// runs over one of the submitter's own Glue tables. The core checks it when the job starts
/// (syntax, table, columns: a `ValidationException` that says where); the shell runs it when it
/// reads the table's objects, so only the selected user ids ever leave the account.
public struct SeedSelection: Codable, Sendable, Equatable {
    /// The query as the caller wrote it.
    public var query: String
    /// The table's columns as declared in Glue, in field order; nil: the first row of the
    /// table's data names them.
    public var columns: [String]?

    public init(query: String, columns: [String]?) {
        self.query = query
        self.columns = columns
    }
}

enum SQLSeed {
    static let member = "seedAudience.sqlParameters.queryString"
    static let maxTableBytes = 8 << 20

    /// The table's objects and the selection to run over them.
    static func resolve(_ core: AccountNodeCore, _ text: String, collaboration: String?) throws(AWSError) -> (objects: [DataObject], selection: SeedSelection, uri: String) {
        guard collaboration != nil else {
            throw AWSError(.validation, "\(member): an SQL seed runs inside a collaboration; give collaborationId, or give seedAudience.dataSource.s3Uri")
        }
        let query: SeedQuery
        do { query = try SeedSQLParser.parse(text) } catch {
            throw AWSError(.validation, "\(member): \(error)")
        }
        let tables = core.state.databases.values.flatMap { db in db.tables.values.map { (db.name, $0) } }
            .filter { $0.1.name == query.table && (query.database == nil || $0.0 == query.database) }
        let qualified = query.database.map { "\($0).\(query.table)" } ?? query.table
        guard let (_, table) = tables.first else {
            throw AWSError(.validation, "\(member): there is no Glue table \(qualified) in account \(core.config.account)")
        }
        guard tables.count == 1 else {
            throw AWSError(.validation, "\(member): more than one database has a table \(query.table); name it as database.table")
        }
        let declared = table.input["StorageDescriptor"]?["Columns"]?.arrayValue?.compactMap { $0["Name"]?.stringValue?.lowercased() }
        let columns = (declared?.isEmpty ?? true) ? nil : declared
        if let columns {
            for c in query.columns.sorted() where !columns.contains(c) {
                throw AWSError(.validation, "\(member): table \(qualified) has no column \(c) (its columns: \(columns.joined(separator: ", ")))")
            }
        }
        guard let location = table.input["StorageDescriptor"]?["Location"]?.stringValue, let (bucket, prefix) = S3Location.parse(location) else {
            throw AWSError(.validation, "\(member): table \(qualified) has no s3:// location")
        }
        let objects = S3Location.objects(core, bucket: bucket, prefix: prefix)
        guard !objects.isEmpty else { throw AWSError(.validation, "\(member): table \(qualified) holds no data (\(location) is empty)") }
        // The node reads the whole table when the job starts; the simulation keeps that small.
        let bytes = S3Location.size(core, bucket: bucket, prefix: prefix)
        guard bytes <= maxTableBytes else {
            throw AWSError(.validation, "\(member): table \(qualified) holds \(bytes) bytes; this simulation runs seed queries over tables of at most \(maxTableBytes)")
        }
        return (objects, SeedSelection(query: text, columns: columns), location)
    }
}
