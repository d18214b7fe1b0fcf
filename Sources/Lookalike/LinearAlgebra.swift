#if canImport(Glibc)
import Glibc
#endif
import Randomness

/// A dense matrix of doubles, row-major.
public struct DenseMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    public var data: [Double]

    public init(rows: Int, cols: Int, data: [Double]? = nil) {
        self.rows = rows
        self.cols = cols
        self.data = data ?? [Double](repeating: 0, count: rows * cols)
    }

    public subscript(r: Int, c: Int) -> Double {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    /// `selfᵀ · self` (cols × cols), accumulated row by row (cache-friendly for tall matrices).
    func gram() -> [Double] {
        var g = [Double](repeating: 0, count: cols * cols)
        data.withUnsafeBufferPointer { d in
            g.withUnsafeMutableBufferPointer { gp in
                for r in 0..<rows {
                    let row = d.baseAddress! + r * cols
                    for i in 0..<cols {
                        let a = row[i]
                        if a == 0 { continue }
                        let gi = gp.baseAddress! + i * cols
                        for j in i..<cols { gi[j] += a * row[j] }
                    }
                }
            }
        }
        for i in 0..<cols { for j in 0..<i { g[i * cols + j] = g[j * cols + i] } }
        return g
    }

    /// `self · M` for a small square `M` (cols × cols), in place.
    mutating func multiplyRight(by m: [Double], outputCols: Int) {
        var out = [Double](repeating: 0, count: rows * outputCols)
        let c = cols
        data.withUnsafeBufferPointer { d in
            m.withUnsafeBufferPointer { mp in
                out.withUnsafeMutableBufferPointer { op in
                    for r in 0..<rows {
                        let row = d.baseAddress! + r * c
                        let o = op.baseAddress! + r * outputCols
                        for i in 0..<c {
                            let a = row[i]
                            if a == 0 { continue }
                            let mi = mp.baseAddress! + i * outputCols
                            for j in 0..<outputCols { o[j] += a * mi[j] }
                        }
                    }
                }
            }
        }
        self = DenseMatrix(rows: rows, cols: outputCols, data: out)
    }

    /// Makes the columns orthonormal (Cholesky QR, done twice for stability). Columns that are
    /// numerically dependent are kept but damped by a tiny ridge, so this never fails.
    mutating func orthonormalizeColumns() {
        for _ in 0..<2 {
            var g = gram()
            var trace = 0.0
            for i in 0..<cols { trace += g[i * cols + i] }
            let ridge = max(trace, 1e-300) * 1e-12
            for i in 0..<cols { g[i * cols + i] += ridge }
            let l = LinearAlgebra.cholesky(g, cols)
            // Y ← Y · L⁻ᵀ, i.e. solve R x = y per row with R = Lᵀ (upper triangular).
            let rInverse = LinearAlgebra.invertLowerTransposed(l, cols)
            multiplyRight(by: rInverse, outputCols: cols)
        }
    }
}

/// Small dense routines the trainer needs: Cholesky, triangular inversion, symmetric
/// eigen-decomposition (cyclic Jacobi), and Gaussian random numbers.
public enum LinearAlgebra {
    /// The lower-triangular `L` with `L Lᵀ = g` (g symmetric positive definite, n × n). A pivot
    /// that is not positive is clamped to a tiny positive value.
    static func cholesky(_ g: [Double], _ n: Int) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var d = g[j * n + j]
            for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
            let pivot = d > 1e-300 ? d.squareRoot() : 1e-150
            l[j * n + j] = pivot
            for i in (j + 1)..<max(j + 1, n) {
                var s = g[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = s / pivot
            }
        }
        return l
    }

    /// `(Lᵀ)⁻¹` for lower-triangular `L` (an upper-triangular matrix).
    static func invertLowerTransposed(_ l: [Double], _ n: Int) -> [Double] {
        // Invert L (lower) by forward substitution, then transpose.
        var inv = [Double](repeating: 0, count: n * n)
        for col in 0..<n {
            for i in col..<n {
                var s = i == col ? 1.0 : 0.0
                for k in col..<i { s -= l[i * n + k] * inv[k * n + col] }
                inv[i * n + col] = s / l[i * n + i]
            }
        }
        var t = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { t[j * n + i] = inv[i * n + j] } }
        return t
    }

    /// Eigenvalues (descending) and eigenvectors (as columns, n × n row-major) of a symmetric
    /// matrix, by cyclic Jacobi rotations.
    static func symmetricEigen(_ m: [Double], _ n: Int) -> (values: [Double], vectors: [Double]) {
        var a = m
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        var vectors = [Double](repeating: 0, count: n * n)
        for (newCol, oldCol) in order.enumerated() { for k in 0..<n { vectors[k * n + newCol] = v[k * n + oldCol] } }
        return (order.map { a[$0 * n + $0] }, vectors)
    }
}

/// A seedable generator (SplitMix64) with Gaussian draws (Box–Muller): training is
/// deterministic for a given seed.
public struct SeededRandom: Sendable {
    private var bits: SplitMix64
    private var spare: Double?

    public init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { bits.next() }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Uniform integer in `0..<n`.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    public mutating func gaussian() -> Double {
        if let s = spare { spare = nil; return s }
        var u = uniform()
        while u <= 1e-300 { u = uniform() }
        let v = uniform()
        let r = (-2 * log(u)).squareRoot()
        spare = r * sin(2 * Double.pi * v)
        return r * cos(2 * Double.pi * v)
    }
}
