/// Generates a lookalike audience: the users most similar to a seed audience.
///
/// - Scoring: the seed's matched users are averaged into a centroid (normalized); every user's
///   score is the cosine similarity of their embedding to it, in [-1, 1].
/// - Ranking: users by score, highest first; seed users are left out unless `includeSeed`.
/// - Relevance (per audience size N): the mean of max(0, score) over the top N of the ranked
///   audience, in [0, 1]: 1 would be an audience exactly as similar as the seed's own direction.
/// - Recall: a fifth of the matched seed (at least one user) is held out, the centroid is built
///   from the rest, and recall is the fraction of held-out seed users that rank in the top 20%
///   of all other users. It says how well the model finds users like the seed that it was not
///   shown.
public enum AudienceGenerator {
    public struct Request: Sendable {
        public var seedUserIDs: [String]
        public var includeSeed: Bool
        public var minMatchingSeedSize: Int
        /// Audience sizes to report relevance for; the ranked audience is cut at the largest.
        public var sizes: [Int]
        public var seed: UInt64

        public init(seedUserIDs: [String], includeSeed: Bool, minMatchingSeedSize: Int, sizes: [Int], seed: UInt64 = 1) {
            self.seedUserIDs = seedUserIDs
            self.includeSeed = includeSeed
            self.minMatchingSeedSize = minMatchingSeedSize
            self.sizes = sizes
            self.seed = seed
        }
    }

    public struct Result: Sendable {
        /// The audience, best first: user id and score.
        public var ranked: [(user: String, score: Float)]
        public var matchedSeeds: Int
        public var seedSize: Int
        /// Relevance per requested size, in the order of `Request.sizes`.
        public var relevance: [(size: Int, score: Double)]
        public var recall: Double
        /// Users the audience was chosen from (all but the seed unless it is included).
        public var candidates: Int
    }

    public struct TooFewSeeds: Error, CustomStringConvertible, Sendable {
        public var matched: Int
        public var seedSize: Int
        public var required: Int
        public var description: String {
            "The seed audience has \(seedSize) distinct users, of which \(matched) match users of the model's training data; at least \(required) (minMatchingSeedSize) must match"
        }
    }

    public static func generate(_ model: LookalikeModel, _ request: Request) throws(TooFewSeeds) -> Result {
        let distinct = Array(Set(request.seedUserIDs)).sorted()
        let matched = distinct.compactMap { model.userIndex[$0] }
        guard matched.count >= request.minMatchingSeedSize, !matched.isEmpty else {
            throw TooFewSeeds(matched: matched.count, seedSize: distinct.count, required: request.minMatchingSeedSize)
        }
        let seedSet = Set(matched)
        let scores = score(model, centroid: centroid(model, matched))
        var order = (0..<model.userCount).filter { request.includeSeed || !seedSet.contains(Int32($0)) }
        let candidates = order.count
        let maxSize = min(candidates, request.sizes.max() ?? candidates)
        order = topK(order, scores, maxSize)
        let ranked = order.map { (model.userIDs[$0], scores[$0]) }
        let relevance = request.sizes.map { size -> (Int, Double) in
            let n = min(size, ranked.count)
            guard n > 0 else { return (size, 0) }
            var s = 0.0
            for k in 0..<n { s += Double(max(0, ranked[k].1)) }
            return (size, s / Double(n))
        }
        return Result(ranked: ranked, matchedSeeds: matched.count, seedSize: distinct.count, relevance: relevance,
                      recall: recall(model, matched, seed: request.seed), candidates: candidates)
    }

    static func centroid(_ model: LookalikeModel, _ users: [Int32]) -> [Float] {
        let k = model.dimensions
        var c = [Float](repeating: 0, count: k)
        for u in users { for d in 0..<k { c[d] += model.embeddings[Int(u) * k + d] } }
        var norm: Float = 0
        for d in 0..<k { norm += c[d] * c[d] }
        let inv = norm > 0 ? 1 / norm.squareRoot() : 0
        return c.map { $0 * inv }
    }

    static func score(_ model: LookalikeModel, centroid c: [Float]) -> [Float] {
        let k = model.dimensions
        var out = [Float](repeating: 0, count: model.userCount)
        model.embeddings.withUnsafeBufferPointer { e in
            for u in 0..<model.userCount {
                var s: Float = 0
                let row = e.baseAddress! + u * k
                for d in 0..<k { s += row[d] * c[d] }
                out[u] = s
            }
        }
        return out
    }

    /// The `k` best of `candidates` by score, best first (ties by user order, for determinism).
    static func topK(_ candidates: [Int], _ scores: [Float], _ k: Int) -> [Int] {
        let sorted = candidates.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return Array(sorted.prefix(k))
    }

    static func recall(_ model: LookalikeModel, _ matched: [Int32], seed: UInt64) -> Double {
        guard matched.count >= 2 else { return 0 }
        var rng = SeededRandom(seed: seed)
        var shuffled = matched
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.below(i + 1)) }
        let heldOut = max(1, shuffled.count / 5)
        let held = Array(shuffled.prefix(heldOut)), training = Array(shuffled.dropFirst(heldOut))
        let trainingSet = Set(training)
        let scores = score(model, centroid: centroid(model, training))
        let others = (0..<model.userCount).filter { !trainingSet.contains(Int32($0)) }
        let cut = max(1, Int((Double(others.count) * 0.2).rounded()))
        let top = Set(topK(others, scores, cut))
        return Double(held.filter { top.contains(Int($0)) }.count) / Double(held.count)
    }
}
