/// One unit of a compiled wildcard pattern.
enum GlobUnit: Hashable, Sendable {
    case byte(UInt8)
    /// `*`: any run of bytes, possibly empty.
    case star
    /// `?`: exactly one character (one UTF-8 scalar).
    case one
    /// `*` and `?` that stay inside one ARN segment: they never match a colon.
    case starInSegment
    case oneInSegment
}

/// A wildcard pattern with IAM's `*` and `?`, compiled once and matched many times.
///
/// Matching works on UTF-8 bytes; `?` consumes one whole scalar. Common shapes (`*`, an exact
/// string, a `prefix*`) take a fast path that does no backtracking. A case-insensitive pattern
/// is folded to lowercase when compiled; `matches(_:)` folds the text to match, and callers of
/// `matches(bytes:)` pass text they have already lowercased (action names are, once per
/// request), so the hot path never folds.
final class Glob: Sendable {
    enum Kind: UInt8, Hashable, Sendable {
        case anything, exact, prefix
        /// Only literal bytes and stars: matched chunk by chunk (prefix, suffix, then a left-to-
        /// right search for each middle chunk), which is exact for `*`-only patterns.
        case chunks
        /// Has `?`: matched unit by unit with one backtrack point.
        case general
        /// Has units that may not cross a colon: matched by dynamic programming.
        case segmented
    }

    let kind: Kind
    /// The literal bytes of an `exact` or `prefix` pattern.
    let literal: [UInt8]
    /// The units of a `general` or `segmented` pattern.
    let units: [GlobUnit]
    /// The literal runs between stars of a `chunks` pattern (first and last may be empty when
    /// the pattern starts or ends with a star).
    let chunks: [[UInt8]]
    let caseInsensitive: Bool

    /// Compiles `units`; patterns are immutable once built and shared by reference.
    init(units raw: [GlobUnit], caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        let folded = caseInsensitive ? raw.map { u -> GlobUnit in
            if case .byte(let b) = u { return .byte(asciiLower(b)) }
            return u
        } : raw
        let stars = folded.filter { $0 == .star }.count
        let onlyBytesAndStars = folded.allSatisfy { $0 == .star || $0.isByte }
        chunks = onlyBytesAndStars ? folded.split(separator: .star, omittingEmptySubsequences: false).map { $0.compactMap(\.byteValue) } : []
        if folded.allSatisfy({ $0 == .star }) && stars > 0 {
            (kind, literal, units) = (.anything, [], [])
        } else if onlyBytesAndStars && stars == 0 {
            (kind, literal, units) = (.exact, folded.compactMap(\.byteValue), [])
        } else if onlyBytesAndStars && stars == 1 && folded.last == .star {
            (kind, literal, units) = (.prefix, folded.compactMap(\.byteValue), [])
        } else if onlyBytesAndStars {
            (kind, literal, units) = (.chunks, [], [])
        } else if folded.contains(where: { $0 == .starInSegment || $0 == .oneInSegment }) {
            (kind, literal, units) = (.segmented, [], folded)
        } else {
            (kind, literal, units) = (.general, [], folded)
        }
    }

    /// Compiles `text`, treating every `*` and `?` as a wildcard.
    convenience init(_ text: String, caseInsensitive: Bool = false) {
        self.init(units: Glob.units(text), caseInsensitive: caseInsensitive)
    }

    static func units(_ text: String) -> [GlobUnit] {
        text.utf8.map { b in
            switch b {
            case UInt8(ascii: "*"): return .star
            case UInt8(ascii: "?"): return .one
            default: return .byte(b)
            }
        }
    }

    var isAnything: Bool { kind == .anything }

    func matches(_ text: String) -> Bool {
        let bytes = caseInsensitive ? text.utf8.map(asciiLower) : Array(text.utf8)
        return bytes.withUnsafeBufferPointer { matches(bytes: $0) }
    }

    /// Matches bytes as they are (already folded for a case-insensitive pattern).
    @inline(__always)
    func matches(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch kind {
        case .anything:
            return true
        case .exact:
            return literal.count == bytes.count && Glob.hasPrefix(bytes, literal)
        case .prefix:
            return literal.count <= bytes.count && Glob.hasPrefix(bytes, literal)
        case .chunks:
            return Glob.matchChunks(chunks, bytes)
        case .general:
            return units.withUnsafeBufferPointer { Glob.match(units: $0, bytes) }
        case .segmented:
            return Glob.matchSegmented(units: units, bytes)
        }
    }

    /// Whether `bytes[offset...]` starts with `p`; the caller guarantees the length. Compares
    /// eight bytes at a time.
    @inline(__always)
    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ p: [UInt8], at offset: Int = 0) -> Bool {
        p.withUnsafeBufferPointer { pp in
            guard let pb = pp.baseAddress, let tb = bytes.baseAddress else { return pp.isEmpty }
            let a = UnsafeRawPointer(pb), b = UnsafeRawPointer(tb + offset)
            var k = 0
            while k + 8 <= pp.count {
                if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
                k += 8
            }
            while k < pp.count {
                if pp[k] != tb[offset + k] { return false }
                k += 1
            }
            return true
        }
    }

    /// `c0 * c1 * … * cn`: c0 is a prefix, cn a suffix, and each middle chunk is found, leftmost
    /// first, after the previous one. Leftmost-first is optimal when every wildcard is `*`.
    static func matchChunks(_ chunks: [[UInt8]], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let first = chunks[0], last = chunks[chunks.count - 1]
        guard first.count + last.count <= text.count,
              hasPrefix(text, first), hasPrefix(text, last, at: text.count - last.count) else { return false }
        var pos = first.count
        let end = text.count - last.count
        var k = 1
        while k < chunks.count - 1 {
            let c = chunks[k]
            var found = false
            let lead = c.first ?? 0
            while pos + c.count <= end {
                if c.isEmpty || (text[pos] == lead && hasPrefix(text, c, at: pos)) {
                    found = true
                    break
                }
                pos += 1
            }
            if !found { return false }
            pos += c.count
            k += 1
        }
        return true
    }

    /// Classic linear-time wildcard matching with one backtrack point (the last star).
    static func match(units: UnsafeBufferPointer<GlobUnit>, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0, t = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < units.count {
                switch units[p] {
                case .star:
                    starP = p
                    starT = t
                    p += 1
                    continue
                case .one, .oneInSegment:
                    t += scalarLength(text[t])
                    p += 1
                    continue
                case .starInSegment:
                    preconditionFailure("segmented patterns are matched by matchSegmented")
                case .byte(let b):
                    if b == text[t] {
                        p += 1
                        t += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            // Let the last star swallow one more character and retry from there.
            starT += scalarLength(text[starT])
            t = starT
            p = starP + 1
        }
        while p < units.count, units[p] == .star { p += 1 }
        return p == units.count && t == text.count
    }
}

extension Glob {
    /// Dynamic programming over (pattern position, text position); `reach[t]` says whether the
    /// units so far can consume exactly the first `t` bytes. O(units × bytes), no backtracking.
    static func matchSegmented(units: [GlobUnit], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = text.count
        var reach = [Bool](repeating: false, count: n + 1)
        reach[0] = true
        for u in units {
            var next = [Bool](repeating: false, count: n + 1)
            switch u {
            case .star:
                var on = false
                for t in 0...n { on = on || reach[t]; next[t] = on }
            case .starInSegment:
                var on = false
                for t in 0...n {
                    if t > 0, text[t - 1] == UInt8(ascii: ":") { on = false }
                    on = on || reach[t]
                    next[t] = on
                }
            case .one, .oneInSegment:
                for t in 0..<n where reach[t] {
                    if u == .oneInSegment, text[t] == UInt8(ascii: ":") { continue }
                    let e = t + scalarLength(text[t])
                    if e <= n { next[e] = true }
                }
            case .byte(let b):
                for t in 0..<n where reach[t] && text[t] == b { next[t + 1] = true }
            }
            reach = next
        }
        return reach[n]
    }
}

extension GlobUnit {
    var isByte: Bool { if case .byte = self { return true } else { return false } }
    var byteValue: UInt8? { if case .byte(let b) = self { return b } else { return nil } }
}

@inline(__always) func asciiLower(_ b: UInt8) -> UInt8 {
    (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
}

/// Length of the UTF-8 sequence that starts with `lead` (1 for bytes that cannot lead one, so a
/// malformed text still makes progress).
@inline(__always) func scalarLength(_ lead: UInt8) -> Int {
    switch lead {
    case 0xF0...: return 4
    case 0xE0...: return 3
    case 0xC0...: return 2
    default: return 1
    }
}
