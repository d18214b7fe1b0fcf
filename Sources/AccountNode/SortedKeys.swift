/// A set of strings kept in order, for pages of a list that cost what the page returns.
///
/// Keys live in sorted chunks of at most `chunkLimit`: an insert or removal moves at most one
/// chunk's keys, finding a key is two binary searches, and a page starts with those and then
/// walks forward. (A sorted array would move every later key on each insert: 100,000 users
/// make that the cost of each `CreateUser`.)
public struct SortedKeys: Sendable, Equatable {
    static let chunkLimit = 512
    /// Never empty chunks; every key of a chunk sorts before every key of the next.
    private var chunks: [[String]] = []
    public private(set) var count = 0

    public init() {}

    public init<S: Sequence<String>>(_ keys: S) {
        let sorted = Array(Set(keys)).sorted()
        count = sorted.count
        var i = 0
        while i < sorted.count {
            let end = min(sorted.count, i + SortedKeys.chunkLimit / 2)
            chunks.append(Array(sorted[i..<end]))
            i = end
        }
    }

    /// The first chunk whose last key is at least `key` (`chunks.count` if none).
    private func chunkIndex(for key: String) -> Int {
        var lo = 0, hi = chunks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunks[mid].last! < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The first position in `chunk` whose key is at least `key`.
    private static func position(_ chunk: [String], _ key: String) -> Int {
        var lo = 0, hi = chunk.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunk[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public func contains(_ key: String) -> Bool {
        let c = chunkIndex(for: key)
        guard c < chunks.count else { return false }
        let p = SortedKeys.position(chunks[c], key)
        return p < chunks[c].count && chunks[c][p] == key
    }

    /// Adds `key`; false if it was there.
    @discardableResult
    public mutating func insert(_ key: String) -> Bool {
        guard !chunks.isEmpty else {
            chunks = [[key]]
            count = 1
            return true
        }
        let c = min(chunkIndex(for: key), chunks.count - 1)
        let p = SortedKeys.position(chunks[c], key)
        if p < chunks[c].count && chunks[c][p] == key { return false }
        chunks[c].insert(key, at: p)
        count += 1
        if chunks[c].count > SortedKeys.chunkLimit {
            let half = chunks[c].count / 2
            let upper = Array(chunks[c][half...])
            chunks[c].removeSubrange(half...)
            chunks.insert(upper, at: c + 1)
        }
        return true
    }

    /// Removes `key`; false if it was not there.
    @discardableResult
    public mutating func remove(_ key: String) -> Bool {
        let c = chunkIndex(for: key)
        guard c < chunks.count else { return false }
        let p = SortedKeys.position(chunks[c], key)
        guard p < chunks[c].count && chunks[c][p] == key else { return false }
        chunks[c].remove(at: p)
        count -= 1
        if chunks[c].isEmpty { chunks.remove(at: c) }
        return true
    }

    /// The keys after `after` (every key when nil), in order, computed as they are taken.
    public func keys(after: String? = nil) -> Keys {
        guard let after else { return Keys(chunks: chunks, chunk: 0, position: 0) }
        let c = chunkIndex(for: after)
        guard c < chunks.count else { return Keys(chunks: chunks, chunk: c, position: 0) }
        var p = SortedKeys.position(chunks[c], after)
        if p < chunks[c].count && chunks[c][p] == after { p += 1 }
        return Keys(chunks: chunks, chunk: c, position: p)
    }

    /// The keys of a `SortedKeys` from a starting point on.
    public struct Keys: Sequence, IteratorProtocol {
        let chunks: [[String]]
        var chunk: Int
        var position: Int

        public mutating func next() -> String? {
            while chunk < chunks.count {
                if position < chunks[chunk].count {
                    defer { position += 1 }
                    return chunks[chunk][position]
                }
                chunk += 1
                position = 0
            }
            return nil
        }
    }
}

/// IAM names: in order for lists, and by lower-case form, since IAM names are unique whatever
/// their case.
public struct NameIndex: Sendable {
    public private(set) var sorted = SortedKeys()
    private var byLowercase: [String: String] = [:]

    public init() {}

    public init<S: Sequence<String>>(_ names: S) {
        sorted = SortedKeys(names)
        for n in names { byLowercase[n.lowercased()] = n }
    }

    /// Whether a name equal to `name` but for case is in use.
    public func isTaken(_ name: String) -> Bool { byLowercase[name.lowercased()] != nil }

    public mutating func insert(_ name: String) {
        sorted.insert(name)
        byLowercase[name.lowercased()] = name
    }

    public mutating func remove(_ name: String) {
        sorted.remove(name)
        if byLowercase[name.lowercased()] == name { byLowercase[name.lowercased()] = nil }
    }
}
