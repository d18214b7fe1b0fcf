import Lookalike
import SeedSQL

/// Runs an SQL seed's query over its table's objects (CSV), giving the seed as one CSV of the
/// selected user ids (`user_id` header), the same form an S3 seed takes, so nothing after this
/// point can tell the two apart (PV-2).
public enum SeedSelectionRunner {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(_ selection: SeedSelection, over objects: [(source: String, bytes: [UInt8])]) throws(Failure) -> [UInt8] {
        let query: SeedQuery
        do { query = try SeedSQLParser.parse(selection.query) } catch { throw Failure(description: "the seed query: \(error)") }
        var runner: SeedQueryRunner?
        var columns = selection.columns
        if let columns {
            do { runner = try SeedQueryRunner(query, columns: columns) } catch { throw Failure(description: "the seed query: \(error)") }
        }
        for (source, bytes) in objects {
            if runner?.isDone == true { break }
            do {
                try CSV.read(bytes) { fields, line in
                    if line == 1, columns == nil {
                        // No declared columns: the table's first row names them.
                        columns = fields.map { $0.lowercased() }
                        runner = try SeedQueryRunner(query, columns: columns ?? [])
                        return
                    }
                    // A header row repeating the declared names is not data.
                    if line == 1, fields.map({ $0.lowercased() }) == columns { return }
                    runner?.add(fields)
                }
            } catch let e as CSV.Failure {
                throw Failure(description: "\(source) line \(e.line): \(e.reason)")
            } catch {
                throw Failure(description: "the seed query: \(error)")
            }
        }
        let ids = runner?.results.filter { !$0.isEmpty } ?? []
        return Array(("user_id\n" + ids.map { CSV.escape($0) + "\n" }.joined()).utf8)
    }
}
