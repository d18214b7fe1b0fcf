import CleanRoomsModel
import JSON

/// `glue.*`: the account's data catalog. A table describes CSV objects in the account's own S3
/// (`StorageDescriptor.Location` = `s3://bucket/prefix/`). Names are stored in lower case, as
/// Glue stores them.
enum GlueHandlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["glue.CreateDatabase"] = createDatabase
        h["glue.GetDatabase"] = getDatabase
        h["glue.CreateTable"] = createTable
        h["glue.GetTable"] = getTable
        h["glue.GetTables"] = getTables
        h["glue.DeleteTable"] = deleteTable
    }

    static func catalogARN(_ core: AccountNodeCore) -> String { "arn:aws:glue:\(core.config.region):\(core.config.account):catalog" }
    static func databaseARN(_ core: AccountNodeCore, _ db: String) -> String { "arn:aws:glue:\(core.config.region):\(core.config.account):database/\(db)" }
    static func tableARN(_ core: AccountNodeCore, _ db: String, _ t: String) -> String { "arn:aws:glue:\(core.config.region):\(core.config.account):table/\(db)/\(t)" }

    /// Glue authorizes on the catalog, the database and (for table calls) the table: all must allow.
    static func authorize(_ core: AccountNodeCore, _ call: Call, _ action: String, database: String, table: String? = nil) throws(AWSError) {
        try core.authorize(call, action, catalogARN(core))
        try core.authorize(call, action, databaseARN(core, database))
        if let table { try core.authorize(call, action, tableARN(core, database, table)) }
    }

    static func checkCatalog(_ core: AccountNodeCore, _ call: Call) throws(AWSError) {
        if let c = call.optionalString("CatalogId"), c != core.config.account.rawValue {
            throw AWSError(AWSErrorCode("AccessDeniedException", 400), "Catalog \(c) is not this account's catalog (\(core.config.account))")
        }
    }

    static func database(_ core: AccountNodeCore, _ name: String) throws(AWSError) -> GlueDatabase {
        guard let db = core.state.databases[name] else { throw AWSError(.entityNotFound, "Database \(name) not found.") }
        return db
    }

    static func databaseShape(_ core: AccountNodeCore, _ db: GlueDatabase) -> JSON {
        .compactObject(["Name": .string(db.name), "CatalogId": .string(core.config.account.rawValue), "CreateTime": .number(db.createTime),
                        "Description": db.description.map { .string($0) }, "LocationUri": db.locationUri.map { .string($0) }])
    }

    static func tableShape(_ core: AccountNodeCore, _ t: GlueTable) -> JSON {
        var o = t.input.objectValue ?? [:]
        o["Name"] = .string(t.name)
        o["DatabaseName"] = .string(t.databaseName)
        o["CatalogId"] = .string(core.config.account.rawValue)
        o["CreateTime"] = .number(t.createTime)
        o["UpdateTime"] = .number(t.createTime)
        o["IsRegisteredWithLakeFormation"] = false
        return .object(o)
    }

    static func createDatabase(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try checkCatalog(core, call)
        let input = call.params["DatabaseInput"] ?? [:]
        let name = (input["Name"]?.stringValue ?? "").lowercased()
        call.auditResource("AWS::Glue::Database", name)
        try core.authorize(call, "glue:CreateDatabase", catalogARN(core))
        try core.authorize(call, "glue:CreateDatabase", databaseARN(core, name))
        if core.state.databases[name] != nil { throw AWSError(.alreadyExists, "Database already exists: \(name)") }
        core.emit(.databaseCreated(GlueDatabase(name: name, description: input["Description"]?.stringValue, locationUri: input["LocationUri"]?.stringValue,
                                                createTime: call.now, tables: [:])))
        return .result([:])
    }

    static func getDatabase(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try checkCatalog(core, call)
        let name = try call.string("Name").lowercased()
        call.auditResource("AWS::Glue::Database", name)
        try authorize(core, call, "glue:GetDatabase", database: name)
        return .result(["Database": databaseShape(core, try database(core, name))])
    }

    static func createTable(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try checkCatalog(core, call)
        let db = try call.string("DatabaseName").lowercased()
        guard let input = call.params["TableInput"], let tableName = input["Name"]?.stringValue?.lowercased() else {
            throw AWSError(.glueInvalidInput, "TableInput is required: this catalog keeps CSV tables (TableInput.Name, TableInput.StorageDescriptor)")
        }
        call.auditResource("AWS::Glue::Table", "\(db)/\(tableName)")
        try authorize(core, call, "glue:CreateTable", database: db, table: tableName)
        let database = try database(core, db)
        if database.tables[tableName] != nil { throw AWSError(.alreadyExists, "Table already exists: \(db).\(tableName)") }
        if let location = input["StorageDescriptor"]?["Location"]?.stringValue, !location.hasPrefix("s3://") {
            throw AWSError(.glueInvalidInput, "StorageDescriptor.Location must be an s3:// location in this account, got \(location)")
        }
        core.emit(.tableCreated(GlueTable(name: tableName, databaseName: db, createTime: call.now, input: input)))
        return .result([:])
    }

    static func getTable(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try checkCatalog(core, call)
        let db = try call.string("DatabaseName").lowercased()
        let name = try call.string("Name").lowercased()
        call.auditResource("AWS::Glue::Table", "\(db)/\(name)")
        try authorize(core, call, "glue:GetTable", database: db, table: name)
        guard let t = try database(core, db).tables[name] else { throw AWSError(.entityNotFound, "Table \(name) not found.") }
        return .result(["Table": tableShape(core, t)])
    }

    static func getTables(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try checkCatalog(core, call)
        let db = try call.string("DatabaseName").lowercased()
        call.auditResource("AWS::Glue::Database", db)
        try authorize(core, call, "glue:GetTables", database: db, table: "*")
        var tables = try database(core, db).tables.values.sorted { $0.name < $1.name }
        if let expr = call.optionalString("Expression"), !expr.isEmpty {
            let glob = expr.replacingOccurrences(".*", with: "*")
            tables = tables.filter { matchesGlob($0.name, glob) }
        }
        let page = try Page.slice(tables, key: \.name, token: call.optionalString("NextToken"), max: call.int("MaxResults") ?? 100, errorCode: .glueInvalidInput)
        return .result(.compactObject(["TableList": .array(page.items.map { tableShape(core, $0) }), "NextToken": page.next.map { .string($0) }]))
    }

    static func deleteTable(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try checkCatalog(core, call)
        let db = try call.string("DatabaseName").lowercased()
        let name = try call.string("Name").lowercased()
        call.auditResource("AWS::Glue::Table", "\(db)/\(name)")
        try authorize(core, call, "glue:DeleteTable", database: db, table: name)
        guard try database(core, db).tables[name] != nil else { throw AWSError(.entityNotFound, "Table \(name) not found.") }
        core.emit(.tableDeleted(database: db, name: name))
        return .result([:])
    }

    /// Glue's `Expression` is a regular expression; the common `prefix.*` forms are matched here.
    static func matchesGlob(_ text: String, _ pattern: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix("*") { return text.hasPrefix(String(pattern.dropLast())) }
        return text == pattern
    }
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
