/// An operation's `http.requestUri` (`/audience-generation-job/{audienceGenerationJobArn}`,
/// `/{Bucket}/{Key+}`, `/{Bucket}?list-type=2`) as a matcher of request paths.
struct RestRoute: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case label(String)
        /// `{Key+}`: the rest of the path, slashes included.
        case greedy(String)
    }

    let operation: String
    let method: String
    let segments: [Segment]
    /// Query parameters the template requires (`list-type=2`, or a bare `uploads`).
    let queryLiterals: [(name: String, value: String?)]

    init(operation: String, method: String, template: String) {
        self.operation = operation
        self.method = method
        let parts = template.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        segments = RestRoute.pathSegments(parts[0]).map { s in
            if s.hasPrefix("{") && s.hasSuffix("+}") { return .greedy(String(s.dropFirst().dropLast(2))) }
            if s.hasPrefix("{") && s.hasSuffix("}") { return .label(String(s.dropFirst().dropLast())) }
            return .literal(String(s))
        }
        queryLiterals = parts.count > 1 ? parts[1].split(separator: "&").map { q in
            let kv = q.split(separator: "=", maxSplits: 1)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : nil)
        } : []
    }

    var specificity: Int {
        segments.reduce(0) { n, s in if case .literal = s { return n + 2 } else { return n } } + queryLiterals.count * 3 + segments.count
    }

    /// A path's segments: `/` is none, a trailing slash adds none.
    static func pathSegments<S: StringProtocol>(_ path: S) -> [Substring] {
        let whole = Substring(path)
        var segs: [Substring] = []
        var start = whole.utf8.startIndex
        for i in whole.utf8.indices where whole.utf8[i] == UInt8(ascii: "/") {
            segs.append(whole[start..<i])
            start = whole.utf8.index(after: i)
        }
        segs.append(whole[start...])
        if segs.first == "" { segs.removeFirst() }
        // A trailing slash stays as an empty last segment: `{Key+}` keeps it (`folder/` is not
        // `folder`); other routes ignore it.
        if segs == [""] { segs = [] }
        return segs
    }

    /// The labels' values (percent-decoded) if this route takes the request; nil otherwise.
    func match(method: String, segments raw: [Substring], query: [String: [String]]) -> [String: String]? {
        guard method == self.method else { return nil }
        for q in queryLiterals {
            guard let values = query[q.name] else { return nil }
            if let v = q.value, !values.contains(v) { return nil }
        }
        // Literals and the number of segments first: most routes fail there, before any decoding.
        let greedy: Bool
        if case .greedy = segments.last { greedy = true } else { greedy = false }
        var raw = raw
        if !greedy, raw.count == segments.count + 1, raw.last == "" { raw.removeLast() }
        guard greedy ? raw.count >= segments.count : raw.count == segments.count else { return nil }
        for (n, s) in segments.enumerated() {
            if case .literal(let l) = s, raw[n] != l { return nil }
        }
        var labels: [String: String] = [:]
        var i = 0
        for (n, s) in segments.enumerated() {
            switch s {
            case .literal(let l):
                guard i < raw.count, raw[i] == l else { return nil }
                i += 1
            case .label(let name):
                guard i < raw.count, !raw[i].isEmpty, let v = PercentCoding.decode(raw[i]) else { return nil }
                labels[name] = v
                i += 1
            case .greedy(let name):
                guard n == segments.count - 1, i < raw.count else { return nil }
                var parts: [String] = []
                for r in raw[i...] {
                    guard let v = PercentCoding.decode(r) else { return nil }
                    parts.append(v)
                }
                let value = parts.joined(separator: "/")
                guard !value.isEmpty else { return nil }  // `/bucket/` is the bucket, not an empty key
                labels[name] = value
                i = raw.count
            }
        }
        return i == raw.count ? labels : nil
    }
}

/// Percent-decoding of paths, query strings and form bodies.
enum PercentCoding {
    /// Decodes `%XX` (and `+` as a space when `plusIsSpace`); nil if an escape is malformed or
    /// the bytes are not UTF-8.
    static func decode<S: StringProtocol>(_ s: S, plusIsSpace: Bool = false) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hex(it[it.startIndex]), let lo = hex(it[it.startIndex + 1]) else { return nil }
                out.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else if b == UInt8(ascii: "+") && plusIsSpace {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - 55
        default: return nil
        }
    }

    /// `a=1&b=2&b=3` as names to values in order; nil if an escape is malformed.
    static func parameters<S: StringProtocol>(_ s: S, plusIsSpace: Bool) -> [(String, String)]? {
        var out: [(String, String)] = []
        for part in s.split(separator: "&") where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = decode(kv[0], plusIsSpace: plusIsSpace), let v = decode(kv.count > 1 ? kv[1] : "", plusIsSpace: plusIsSpace) else { return nil }
            out.append((k, v))
        }
        return out
    }
}
