/// Parsers for the typed values condition operators compare: dates, numbers, booleans, IP
/// addresses and CIDR blocks. Pure functions; `nil` means "not a value of this type", which makes
/// the comparison false rather than an error, as IAM does at evaluation time.
enum ConditionValueTypes {
    /// Seconds since the Unix epoch from an ISO 8601 date or date-time (`2026-01-02`,
    /// `2026-01-02T03:04:05Z`, with optional fraction and `±hh:mm` offset) or from epoch
    /// seconds written as a number.
    static func date(_ text: String) -> Double? {
        if let n = number(text) { return n }
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

    /// A decimal number: optional sign, digits, optional fraction and exponent.
    static func number(_ text: String) -> Double? {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B || $0 == 0x65 || $0 == 0x45 }) else {
            return nil
        }
        guard let first = text.utf8.first, first != 0x65, first != 0x45 else { return nil }
        guard let d = Double(text), d.isFinite else { return nil }
        return d
    }

    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Formats epoch seconds as ISO 8601 UTC (`2026-01-02T03:04:05Z`).
    static func iso8601(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
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
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let yyyy = String(repeating: "0", count: max(0, 4 - String(y).count)) + String(y)
        return "\(yyyy)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))Z"
    }

    // MARK: IP addresses

    /// An IPv4 or IPv6 address as 128 bits (IPv4 mapped into ::ffff:0:0/96) with its family.
    struct IPAddress: Equatable {
        var high: UInt64
        var low: UInt64
        var isV4: Bool
    }

    /// A CIDR block; a bare address is a /32 (IPv4) or /128 (IPv6).
    struct CIDR: Equatable {
        var address: IPAddress
        var prefix: Int  // in bits of the 128-bit form

        func contains(_ ip: IPAddress) -> Bool {
            guard ip.isV4 == address.isV4 else { return false }
            let (mh, ml) = CIDR.mask(prefix)
            return ip.high & mh == address.high & mh && ip.low & ml == address.low & ml
        }

        static func mask(_ bits: Int) -> (UInt64, UInt64) {
            let h: UInt64 = bits >= 64 ? ~0 : (bits <= 0 ? 0 : ~0 << UInt64(64 - bits))
            let l: UInt64 = bits >= 128 ? ~0 : (bits <= 64 ? 0 : ~0 << UInt64(128 - bits))
            return (h, l)
        }
    }

    static func cidr(_ text: String) -> CIDR? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let ip = ipAddress(String(parts[0])) else { return nil }
        let maxBits = ip.isV4 ? 32 : 128
        var bits = maxBits
        if parts.count == 2 {
            guard let b = Int(parts[1]), (0...maxBits).contains(b), parts[1].allSatisfy(\.isASCII) else { return nil }
            bits = b
        }
        return CIDR(address: ip, prefix: ip.isV4 ? 96 + bits : bits)
    }

    static func ipAddress(_ text: String) -> IPAddress? {
        if let v4 = ipv4(text) { return IPAddress(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(v4), isV4: true) }
        return ipv6(text)
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    static func ipv6(_ text: String) -> IPAddress? {
        guard text.contains(":") else { return nil }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = s.split(separator: ":", omittingEmptySubsequences: false)
            for (k, f) in fields.enumerated() {
                if k == fields.count - 1, f.contains("."), let v4 = ipv4(String(f)) {
                    out.append(UInt16(v4 >> 16)); out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard !f.isEmpty, f.count <= 4, let g = UInt16(f, radix: 16) else { return nil }
                out.append(g)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for k in 0..<4 { hi = hi << 16 | UInt64(all[k]) }
        for k in 4..<8 { lo = lo << 16 | UInt64(all[k]) }
        return IPAddress(high: hi, low: lo, isV4: false)
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
