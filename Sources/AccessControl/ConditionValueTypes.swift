/// Parsers for the typed values condition operators compare: dates, numbers, booleans, IP
/// addresses and CIDR blocks. Pure functions; `nil` means "not a value of this type", which makes
/// the comparison false rather than an error, as IAM does at evaluation time.
import CleanRoomsModel

enum ConditionValueTypes {
    /// Seconds since the Unix epoch from an ISO 8601 date or date-time, or epoch seconds.
    static func date(_ text: String) -> Double? {
        if let n = number(text) { return n }
        return ISO8601.parse(text)
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

