import SeedSQL
import Testing

/// The seed query subset: what parses into what, where errors point, how rows are selected,
/// and that no input makes the parser trap.
@Suite struct SeedSQLTests {
    static func run(_ text: String, columns: [String] = ["user_id", "country", "age", "segment"], rows: [[String]]) throws -> [String] {
        var runner = try SeedQueryRunner(try SeedSQLParser.parse(text), columns: columns)
        for r in rows where runner.add(r) == false { break }
        return runner.results
    }

    static let rows: [[String]] = [
        ["u1", "US", "34", "sports"], ["u2", "FR", "19", "music"], ["u3", "US", "61", ""], ["u4", "DE", "34", "sports fans"],
        ["u1", "US", "34", "sports"], ["u5", "us", "9", "music"],
    ]

    @Test("PV-2: the subset's grammar: one column, one table, optional database, WHERE with AND/OR/NOT/parentheses, IN, LIKE, IS NULL, LIMIT")
    func parses() throws {
        let q = try SeedSQLParser.parse("select DISTINCT User_Id from Ads.Customers where (country = 'US' or age >= 30) and not segment like 'sp%' limit 10;")
        #expect(q.column == "user_id")
        #expect(q.distinct)
        #expect(q.database == "ads")
        #expect(q.table == "customers")
        #expect(q.limit == 10)
        #expect(q.columns == ["user_id", "country", "age", "segment"])
        let plain = try SeedSQLParser.parse("SELECT user_id FROM customers")
        #expect(plain.database == nil && plain.condition == nil && plain.limit == nil && !plain.distinct)
        #expect(try SeedSQLParser.parse(#"SELECT "user id" FROM t WHERE "the age" IS NOT NULL"#).columns == ["user id", "the age"])
    }

    @Test("PV-2: errors say what was expected and at which character")
    func errors() {
        let cases: [(String, Int, String)] = [
            ("SELECT user_id FORM t", 16, "expected FROM"),
            ("SELECT * FROM t", 8, "not *"),
            ("SELECT user_id, age FROM t", 15, "not several"),
            ("SELECT count(user_id) FROM t", 13, "functions"),
            ("SELECT user_id FROM t JOIN u", 23, "JOIN is not in the supported SQL subset"),
            ("SELECT user_id FROM t ORDER BY age", 23, "ORDER"),
            ("SELECT user_id FROM t WHERE age > ", 35, "a quoted string or a number"),
            ("SELECT user_id FROM t WHERE name = 'open", 36, "not closed"),
            ("SELECT user_id FROM t WHERE (age = 1", 37, "')'"),
            ("SELECT user_id FROM t LIMIT -1", 29, "whole number"),
            ("SELECT user_id FROM t WHERE age ~ 3", 33, "unexpected character"),
            ("SELECT user_id FROM t WHERE age NOT = 3", 37, "IN or LIKE after NOT"),
            ("", 1, "expected SELECT"),
        ]
        for (text, position, message) in cases {
            do {
                _ = try SeedSQLParser.parse(text)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.position == position, "\(text): \(error)")
                #expect(error.message.contains(message), "\(text): \(error)")
            }
        }
    }

    @Test("PV-2: rows are selected by the condition, numbers compare as numbers, text as text; DISTINCT and LIMIT")
    func selects() throws {
        #expect(try Self.run("SELECT user_id FROM t WHERE country = 'US'", rows: Self.rows) == ["u1", "u3", "u1"])
        #expect(try Self.run("SELECT DISTINCT user_id FROM t WHERE country = 'US'", rows: Self.rows) == ["u1", "u3"])
        #expect(try Self.run("SELECT user_id FROM t WHERE age > 30 AND age < 60", rows: Self.rows) == ["u1", "u4", "u1"])
        #expect(try Self.run("SELECT user_id FROM t WHERE age < 10", rows: Self.rows) == ["u5"], "9 < 10 as numbers, not as text")
        #expect(try Self.run("SELECT user_id FROM t WHERE country IN ('FR', 'DE')", rows: Self.rows) == ["u2", "u4"])
        #expect(try Self.run("SELECT user_id FROM t WHERE country NOT IN ('US')", rows: Self.rows) == ["u2", "u4", "u5"])
        #expect(try Self.run("SELECT user_id FROM t WHERE segment LIKE 'sport%'", rows: Self.rows) == ["u1", "u4", "u1"])
        #expect(try Self.run("SELECT user_id FROM t WHERE segment LIKE '_usic'", rows: Self.rows) == ["u2", "u5"])
        #expect(try Self.run("SELECT user_id FROM t WHERE segment IS NULL", rows: Self.rows) == ["u3"])
        #expect(try Self.run("SELECT user_id FROM t WHERE NOT (country = 'US' OR country = 'us')", rows: Self.rows) == ["u2", "u4"])
        #expect(try Self.run("SELECT user_id FROM t WHERE country = 'US' OR age = 19 AND segment = 'x'", rows: Self.rows) == ["u1", "u3", "u1"], "AND binds tighter than OR")
        #expect(try Self.run("SELECT user_id FROM t LIMIT 2", rows: Self.rows) == ["u1", "u2"])
        #expect(try Self.run("SELECT user_id FROM t WHERE age <> 34 LIMIT 0", rows: Self.rows) == [])
        #expect(try Self.run("SELECT user_id FROM t WHERE age = 34", rows: [["u9"]]) == [], "a short row's missing fields are empty")
    }

    @Test("PV-2: a column the table does not have is named in the error")
    func unknownColumn() throws {
        let q = try SeedSQLParser.parse("SELECT user_id FROM t WHERE shoe_size > 40")
        #expect(throws: SQLError.self) { try SeedQueryRunner(q, columns: ["user_id", "age"]) }
        do { _ = try SeedQueryRunner(q, columns: ["user_id", "age"]) } catch { #expect(error.message.contains("shoe_size")) }
    }

    @Test("LIKE matches SQL's % and _ (table of cases)")
    func like() throws {
        for (value, pattern, expected) in [("abc", "abc", true), ("abc", "a%", true), ("abc", "%c", true), ("abc", "%b%", true), ("abc", "a_c", true),
                                           ("abc", "a_", false), ("", "%", true), ("", "_", false), ("aXbXc", "a%b%c", true), ("ab", "a%b%c", false),
                                           ("mississippi", "m%iss%pi", true), ("abc", "ABC", false)] {
            #expect(try Self.run("SELECT user_id FROM t WHERE segment LIKE '\(pattern)'", rows: [["u", "", "", value]]) == (expected ? ["u"] : []), "\(value) LIKE \(pattern)")
        }
    }

    @Test("no input traps the parser: every prefix of valid queries, and random strings of SQL's characters")
    func hostileInput() {
        let valid = "SELECT DISTINCT user_id FROM ads.customers WHERE (country IN ('US','FR') OR age >= 30.5) AND NOT segment LIKE 'it''s%' LIMIT 5;"
        let chars = Array(valid)
        for n in 0...chars.count { _ = try? SeedSQLParser.parse(String(chars[0..<n])) }
        let alphabet = Array("SELECT FROMWHERE ANDORNOT IN LIKE IS NULL LIMIT()'\",.;=<>!*-_0123456789abcxyz\n\t")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let length = Int(state % 60)
            var s = ""
            for _ in 0..<length {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                s.append(alphabet[Int(state % UInt64(alphabet.count))])
            }
            _ = try? SeedSQLParser.parse(s)
        }
        let deep = "SELECT u FROM t WHERE " + String(repeating: "(", count: 5_000)
        #expect(throws: SQLError.self) { try SeedSQLParser.parse(deep) }
        #expect(throws: SQLError.self) { try SeedSQLParser.parse(String(repeating: "NOT ", count: 2_600)) }
    }
}
