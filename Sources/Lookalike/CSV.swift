/// A streaming CSV reader for interaction and seed files: RFC 4180 fields (quotes, doubled
/// quotes, commas and newlines inside quotes), `\n` or `\r\n` rows. Rows are handed to a
/// callback one at a time, so a million-row file is never held as strings all at once.
/// Errors name the line.
public enum CSV {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var reason: String

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }

        public var description: String { "line \(line): \(reason)" }
    }

    /// Calls `row` with each row's fields (unquoted, surrounding blanks trimmed from unquoted
    /// fields) and the row's 1-based first line. Blank lines are skipped.
    public static func read(_ bytes: [UInt8], row: ([String], Int) throws -> Void) throws {
        var field: [UInt8] = []
        var record: [String] = []
        record.reserveCapacity(8)
        var inQuotes = false, quoted = false
        var line = 1, recordLine = 1
        var i = 0
        func endField() throws {
            guard let s = String(validating: field, as: UTF8.self) else { throw Failure(line: line, reason: "a field is not valid UTF-8") }
            record.append(quoted ? s : trim(s))
            field.removeAll(keepingCapacity: true)
            quoted = false
        }
        func endRecord() throws {
            try endField()
            if !(record.count == 1 && record[0].isEmpty) { try row(record, recordLine) }
            record.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let c = bytes[i]
            if inQuotes {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                    inQuotes = false
                } else {
                    if c == 0x0A { line += 1 }
                    field.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                guard field.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { throw Failure(line: line, reason: "a quote in the middle of an unquoted field") }
                field.removeAll()
                inQuotes = true
                quoted = true
            case UInt8(ascii: ","):
                try endField()
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break
            case 0x0A:
                try endRecord()
                line += 1
                recordLine = line
            default:
                field.append(c)
            }
            i += 1
        }
        if inQuotes { throw Failure(line: recordLine, reason: "a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty { try endRecord() }
    }

    static func trim(_ s: String) -> String {
        guard let f = s.utf8.first, let l = s.utf8.last, f == 0x20 || f == 0x09 || l == 0x20 || l == 0x09 else { return s }
        var sub = Substring(s)
        while sub.first == " " || sub.first == "\t" { sub = sub.dropFirst() }
        while sub.last == " " || sub.last == "\t" { sub = sub.dropLast() }
        return String(sub)
    }

    /// Quotes a field for writing when it needs it.
    public static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
