/// Generated interaction data with planted groups, to play with and to test quality against.
///
/// Every user belongs to one of `groups` groups; the items are split into one block per group.
/// An interaction picks a user uniformly, then with probability `affinity` an item from the
/// user's group's block (popular ones more often) and otherwise any item. So users of one group
/// like the same items, and a seed drawn from one group should bring back that group. The same
/// options always give the same bytes.
public enum SyntheticData {
    public struct Options: Sendable {
        public var users = 10_000
        public var items = 1_000
        public var interactions = 100_000
        public var groups = 10
        public var seed: UInt64 = 1
        /// How many users of group 0 go into the seed audience.
        public var seedUsers = 200
        public var affinity = 0.8
        /// First timestamp (2026-01-01T00:00:00Z); interactions spread over 90 days.
        public var startTime: Int = 1_767_225_600

        public init() {}
    }

    public struct Files: Sendable {
        /// `user_id,item_id,timestamp`
        public var interactions: [UInt8]
        /// `user_id,group`: the truth, for checking.
        public var groups: [UInt8]
        /// `user_id`: users drawn from group 0.
        public var seed: [UInt8]
        public var groupOf: [Int]
        public var seedUsers: [Int]
    }

    public static func userID(_ u: Int) -> String { pad("u", u, 7) }
    public static func itemID(_ i: Int) -> String { pad("i", i, 6) }

    static func pad(_ prefix: String, _ n: Int, _ width: Int) -> String {
        let s = String(n)
        return prefix + String(repeating: "0", count: max(0, width - s.count)) + s
    }

    public static func generate(_ o: Options) -> Files {
        var rng = SeededRandom(seed: o.seed)
        let groups = max(1, o.groups)
        let groupOf = (0..<o.users).map { _ in rng.below(groups) }
        // Block g holds the items i with i % groups == g.
        var out = Array("user_id,item_id,timestamp\n".utf8)
        out.reserveCapacity(o.interactions * 26)
        let span = 90 * 86_400
        for i in 0..<o.interactions {
            let u = rng.below(o.users)
            let item: Int
            if rng.uniform() < o.affinity {
                let blockSize = max(1, (o.items - groupOf[u] + groups - 1) / groups)
                let r = rng.uniform()
                item = min(o.items - 1, Int(r * r * Double(blockSize)) * groups + groupOf[u])
            } else {
                item = rng.below(o.items)
            }
            let t = o.startTime + Int(Double(i) / Double(max(1, o.interactions)) * Double(span))
            out += Array(userID(u).utf8)
            out.append(UInt8(ascii: ","))
            out += Array(itemID(item).utf8)
            out.append(UInt8(ascii: ","))
            out += Array(String(t).utf8)
            out.append(0x0A)
        }
        var groupsCSV = Array("user_id,group\n".utf8)
        for u in 0..<o.users { groupsCSV += Array("\(userID(u)),\(groupOf[u])\n".utf8) }
        var members = (0..<o.users).filter { groupOf[$0] == 0 }
        for i in stride(from: members.count - 1, to: 0, by: -1) { members.swapAt(i, rng.below(i + 1)) }
        let seedUsers = Array(members.prefix(o.seedUsers)).sorted()
        var seedCSV = Array("user_id\n".utf8)
        for u in seedUsers { seedCSV += Array("\(userID(u))\n".utf8) }
        return Files(interactions: out, groups: groupsCSV, seed: seedCSV, groupOf: groupOf, seedUsers: seedUsers)
    }
}
