import CleanRoomsModel

/// RFC 7231's IMF-fixdate (`Wed, 03 Dec 2026 06:38:26 GMT`), the timestamp format of HTTP
/// headers (botocore's `rfc822`), to and from epoch seconds.
enum HTTPDate {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ seconds: Double) -> String {
        let t = seconds.isNaN ? 0 : min(max(seconds, ISO8601.range.lowerBound), ISO8601.range.upperBound)
        let iso = ISO8601.format(t.rounded(.down))  // 2026-12-03T06:38:26Z
        let c = Array(iso)
        guard c.count >= 19, let month = Int(String(c[5..<7])) else { return iso }
        var day = Int((t / 86_400).rounded(.down)) % 7
        if day < 0 { day += 7 }
        return "\(days[day]), \(String(c[8..<10])) \(months[month - 1]) \(String(c[0..<4])) \(String(c[11..<19])) GMT"
    }

    static func parse(_ text: String) -> Double? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let month = months.firstIndex(of: String(parts[2])), parts[1].count == 2, parts[3].count == 4 else { return nil }
        let m = month + 1
        return ISO8601.parse("\(parts[3])-\(m < 10 ? "0" : "")\(m)-\(parts[1])T\(parts[4])Z")
    }
}
