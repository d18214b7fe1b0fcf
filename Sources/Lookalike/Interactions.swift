import CleanRoomsModel

/// Which columns of the training data hold what (the training dataset's schema).
public struct InteractionSchema: Sendable {
    public var userColumn: String
    public var itemColumn: String
    public var timestampColumn: String

    public init(userColumn: String, itemColumn: String, timestampColumn: String) {
        self.userColumn = userColumn
        self.itemColumn = itemColumn
        self.timestampColumn = timestampColumn
    }
}

/// Why training data could not be read: the file and line, and what was wrong there.
public struct TrainingDataError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// User–item interactions, with users and items numbered densely from 0 in order of first
/// appearance. Duplicate (user, item) pairs are kept: repeated interactions weigh more.
public struct Interactions: Sendable {
    public private(set) var userIDs: [String] = []
    public private(set) var itemIDs: [String] = []
    private var userIndex: [String: Int32] = [:]
    private var itemIndex: [String: Int32] = [:]
    public private(set) var users: [Int32] = []
    public private(set) var items: [Int32] = []
    /// Rows skipped for falling outside the time window.
    public private(set) var outsideWindow = 0

    public init() {}

    public var count: Int { users.count }

    public mutating func add(user: String, item: String) {
        users.append(Interactions.intern(user, &userIDs, &userIndex))
        items.append(Interactions.intern(item, &itemIDs, &itemIndex))
    }

    /// Static, so that passing two of `self`'s arrays `inout` does not copy them.
    private static func intern(_ id: String, _ ids: inout [String], _ index: inout [String: Int32]) -> Int32 {
        if let k = index[id] { return k }
        let k = Int32(ids.count)
        ids.append(id)
        index[id] = k
        return k
    }

    /// Reads one CSV object (with a header row) into the interactions, keeping rows whose
    /// timestamp lies in `[start, end]`. `source` names the object in errors (`s3://b/key`).
    public mutating func load(csv bytes: [UInt8], source: String, schema: InteractionSchema, start: Double? = nil, end: Double? = nil) throws(TrainingDataError) {
        var columns: (user: Int, item: Int, time: Int)? = nil
        var width = 0
        // Work on a local value: mutating `self` inside the row closure would copy its arrays.
        var local = self
        self = Interactions()
        defer { self = local }
        do {
            try CSV.read(bytes) { fields, line in
                guard let cols = columns else {
                    func find(_ name: String, _ role: String) throws -> Int {
                        guard let k = fields.firstIndex(where: { $0.lowercased() == name.lowercased() }) else {
                            throw TrainingDataError("\(source): no column \"\(name)\" (\(role)) in its header; the header has \(fields.joined(separator: ", "))")
                        }
                        return k
                    }
                    columns = (try find(schema.userColumn, "USER_ID"), try find(schema.itemColumn, "ITEM_ID"), try find(schema.timestampColumn, "TIMESTAMP"))
                    width = fields.count
                    return
                }
                guard fields.count == width else {
                    throw TrainingDataError("\(source) line \(line): expected \(width) fields, got \(fields.count)")
                }
                let user = fields[cols.user], item = fields[cols.item], time = fields[cols.time]
                if user.isEmpty { throw TrainingDataError("\(source) line \(line): the user id (column \(schema.userColumn)) is empty") }
                if item.isEmpty { throw TrainingDataError("\(source) line \(line): the item id (column \(schema.itemColumn)) is empty") }
                guard let t = Interactions.timestamp(time) else {
                    throw TrainingDataError("\(source) line \(line): \"\(time)\" in column \(schema.timestampColumn) is not a timestamp (epoch seconds or ISO 8601)")
                }
                if let start, t < start { local.outsideWindow += 1; return }
                if let end, t > end { local.outsideWindow += 1; return }
                local.add(user: user, item: item)
            }
        } catch let e as TrainingDataError {
            throw e
        } catch let e as CSV.Failure {
            throw TrainingDataError("\(source) line \(e.line): \(e.reason)")
        } catch {
            throw TrainingDataError("\(source): \(error)")
        }
        if columns == nil { throw TrainingDataError("\(source): the object is empty (a header row naming the columns is required)") }
    }

    /// Epoch seconds (an integer or decimal) or an ISO 8601 date-time.
    static func timestamp(_ s: String) -> Double? {
        if let d = Double(s), d.isFinite { return d }
        return ISO8601.parse(s)
    }
}
