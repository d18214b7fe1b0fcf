/// ISO 8601 dates and times as AWS writes them, to and from epoch seconds (UTC, proleptic
/// Gregorian calendar). Pure arithmetic: no Foundation, no time zones beyond fixed offsets.
public enum ISO8601 {
    /// Seconds since the Unix epoch from an ISO 8601 date or date-time (`2026-01-02`,
    /// `2026-01-02T03:04:05Z`, with optional fraction and `±hh:mm` offset); `nil` otherwise.
    public static func parse(_ text: String) -> Double? {
        var s = Scanner(text)
        guard let year = s.digits(4), s.take("-"), let month = s.digits(2), s.take("-"), let day = s.digits(2) else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        if s.atEnd { return seconds }
        guard s.take("T") || s.take("t") || s.take(" ") else { return nil }
        guard let hh = s.digits(2), s.take(":"), let mm = s.digits(2) else { return nil }
        var ss = 0
        if s.take(":") { guard let v = s.digits(2) else { return nil }; ss = v }
        guard hh < 24, mm < 60, ss < 61 else { return nil }
        seconds += Double(hh * 3600 + mm * 60 + ss)
        if s.take(".") {
            var frac = 0.0, scale = 0.1
            guard let first = s.peekDigit(), first >= 0 else { return nil }
            while let d = s.peekDigit() { frac += Double(d) * scale; scale /= 10; s.advance() }
            seconds += frac
        }
        if s.atEnd { return seconds }  // no zone: UTC, as IAM reads it
        if s.take("Z") || s.take("z") { return s.atEnd ? seconds : nil }
        let sign: Double
        if s.take("+") { sign = 1 } else if s.take("-") { sign = -1 } else { return nil }
        guard let oh = s.digits(2) else { return nil }
        _ = s.take(":")
        let om = s.digits(2) ?? 0
        guard s.atEnd, oh < 24, om < 60 else { return nil }
        return seconds - sign * Double(oh * 3600 + om * 60)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Days in a month (1–12) of a year.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Formats epoch seconds as ISO 8601 UTC (`2026-01-02T03:04:05Z`).
    /// The instants that have an ISO 8601 form (years 0001 to 9999); others are clamped to them.
    public static let range: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799

    public static func format(_ seconds: Double) -> String {
        // Total: a value from outside (a NaN, 1e300) is clamped, never trapped on.
        let clamped = seconds.isNaN ? 0 : min(max(seconds, range.lowerBound), range.upperBound)
        let total = Int(clamped.rounded(.down))
        var days = total / 86_400
        var rem = total % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        // Inverse of daysFromCivil.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        guard (0...9999).contains(y) else {
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            return "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))Z"
        }
        // Written byte by byte: answers carry several of these each.
        return String(unsafeUninitializedCapacity: 20) { out in
            func put(_ v: Int, _ at: Int, _ width: Int) {
                var v = v
                for k in stride(from: at + width - 1, through: at, by: -1) { out[k] = UInt8(48 + v % 10); v /= 10 }
            }
            put(y, 0, 4); out[4] = UInt8(ascii: "-"); put(m, 5, 2); out[7] = UInt8(ascii: "-"); put(d, 8, 2)
            out[10] = UInt8(ascii: "T"); put(rem / 3600, 11, 2); out[13] = UInt8(ascii: ":"); put(rem % 3600 / 60, 14, 2)
            out[16] = UInt8(ascii: ":"); put(rem % 60, 17, 2); out[19] = UInt8(ascii: "Z")
            return 20
        }
    }

}

/// A tiny cursor over ASCII text for the date parser.
private struct Scanner {
    let bytes: [UInt8]
    var i = 0
    init(_ s: String) { bytes = Array(s.utf8) }
    var atEnd: Bool { i >= bytes.count }
    mutating func take(_ c: Character) -> Bool {
        guard i < bytes.count, let a = c.asciiValue, bytes[i] == a else { return false }
        i += 1
        return true
    }
    mutating func digits(_ n: Int) -> Int? {
        guard i + n <= bytes.count else { return nil }
        var v = 0
        for k in 0..<n {
            let b = bytes[i + k]
            guard b >= 0x30 && b <= 0x39 else { return nil }
            v = v * 10 + Int(b - 0x30)
        }
        i += n
        return v
    }
    func peekDigit() -> Int? {
        guard i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 else { return nil }
        return Int(bytes[i] - 0x30)
    }
    mutating func advance() { i += 1 }
}
