/// A trained lookalike model: one unit-length embedding per user of the training data, so that
/// the cosine similarity of two users is the dot product of their rows.
///
/// Stored as a small binary file: `CRMLLAM1`, dimensions and user count (u32 LE), each user id
/// (u16 LE length, UTF-8), then the embeddings as f32 LE, row by row.
public struct LookalikeModel: Sendable {
    public let dimensions: Int
    public let userIDs: [String]
    /// users × dimensions, row-major, each row of unit length (or zero).
    public let embeddings: [Float]
    public let userIndex: [String: Int32]

    public init(dimensions: Int, userIDs: [String], embeddings: [Float]) {
        self.dimensions = dimensions
        self.userIDs = userIDs
        self.embeddings = embeddings
        var index: [String: Int32] = [:]
        index.reserveCapacity(userIDs.count)
        for (k, u) in userIDs.enumerated() { index[u] = Int32(k) }
        userIndex = index
    }

    public var userCount: Int { userIDs.count }

    static let magic = Array("CRMLLAM1".utf8)

    public func encoded() -> [UInt8] {
        var out = LookalikeModel.magic
        out.reserveCapacity(16 + userIDs.count * 12 + embeddings.count * 4)
        func u32(_ v: Int) { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }
        u32(dimensions)
        u32(userIDs.count)
        for id in userIDs {
            let b = Array(id.utf8.prefix(65535))
            out.append(UInt8(b.count & 0xFF))
            out.append(UInt8(b.count >> 8))
            out += b
        }
        for f in embeddings {
            let bits = f.bitPattern
            for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k)))) }
        }
        return out
    }

    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(decoding b: [UInt8]) throws(Unreadable) {
        guard b.count >= 16, Array(b[0..<8]) == LookalikeModel.magic else { throw Unreadable(description: "not a lookalike model file") }
        func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        let dims = u32(8), users = u32(12)
        var i = 16
        var ids: [String] = []
        ids.reserveCapacity(users)
        for _ in 0..<users {
            guard i + 2 <= b.count else { throw Unreadable(description: "the model file is cut short") }
            let n = Int(b[i]) | Int(b[i + 1]) << 8
            i += 2
            guard i + n <= b.count else { throw Unreadable(description: "the model file is cut short") }
            ids.append(String(decoding: b[i..<(i + n)], as: UTF8.self))
            i += n
        }
        guard b.count - i == users * dims * 4 else { throw Unreadable(description: "the model file's embeddings have the wrong size") }
        var e = [Float](repeating: 0, count: users * dims)
        for k in 0..<(users * dims) {
            let j = i + 4 * k
            e[k] = Float(bitPattern: UInt32(b[j]) | UInt32(b[j + 1]) << 8 | UInt32(b[j + 2]) << 16 | UInt32(b[j + 3]) << 24)
        }
        self.init(dimensions: dims, userIDs: ids, embeddings: e)
    }
}

/// Trains lookalike models: user embeddings from a truncated SVD of the weighted user × item
/// matrix, computed with a randomized range finder (Halko, Martinsson and Tropp) and two power
/// iterations. Why this method: it needs no tuning or learning rate, costs a few sparse–dense
/// products (seconds for a million interactions), is deterministic for a seed, and puts users
/// who interact with the same items close together, which is what "lookalike" means here.
public enum Trainer {
    public struct Options: Sendable {
        public var dimensions = 32
        public var oversampling = 10
        public var powerIterations = 2
        public var seed: UInt64 = 1

        public init() {}
    }

    public static func train(_ data: Interactions, options: Options = Options()) -> LookalikeModel {
        let n = data.userIDs.count, m = data.itemIDs.count
        var a = SparseMatrix(rows: n, cols: m, rowIndex: data.users, colIndex: data.items)
        a.applyTFIDFAndNormalizeRows()
        let k = max(1, min(options.dimensions, n, m))
        let l = min(k + options.oversampling, n, m)
        var rng = SeededRandom(seed: options.seed)
        var omega = DenseMatrix(rows: m, cols: l)
        for i in 0..<omega.data.count { omega.data[i] = rng.gaussian() }
        var q = a.times(omega)
        q.orthonormalizeColumns()
        for _ in 0..<options.powerIterations {
            var z = a.transposeTimes(q)
            z.orthonormalizeColumns()
            q = a.times(z)
            q.orthonormalizeColumns()
        }
        // B = Qᵀ A = Zᵀ with Z = Aᵀ Q; B Bᵀ = Zᵀ Z is small (l × l): its eigenvectors are B's left
        // singular vectors, its eigenvalues the squared singular values.
        let z = a.transposeTimes(q)
        let (values, vectors) = LinearAlgebra.symmetricEigen(z.gram(), l)
        // User embeddings U Σ = Q · W · Σ for the top k.
        var w = [Double](repeating: 0, count: l * k)
        for r in 0..<l { for c in 0..<k { w[r * k + c] = vectors[r * l + c] * max(0, values[c]).squareRoot() } }
        q.multiplyRight(by: w, outputCols: k)
        var embeddings = [Float](repeating: 0, count: n * k)
        for u in 0..<n {
            var norm = 0.0
            for c in 0..<k { norm += q.data[u * k + c] * q.data[u * k + c] }
            let inv = norm > 0 ? 1 / norm.squareRoot() : 0
            for c in 0..<k { embeddings[u * k + c] = Float(q.data[u * k + c] * inv) }
        }
        return LookalikeModel(dimensions: k, userIDs: data.userIDs, embeddings: embeddings)
    }
}
