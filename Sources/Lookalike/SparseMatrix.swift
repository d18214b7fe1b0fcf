#if canImport(Glibc)
import Glibc
#endif

/// A sparse matrix in compressed-row form (CSR): the weighted user × item matrix.
public struct SparseMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    public private(set) var rowStart: [Int]
    public private(set) var col: [Int32]
    public private(set) var value: [Double]

    public var nonZeros: Int { col.count }

    /// Builds the matrix from (row, col) pairs, summing duplicates into counts.
    public init(rows: Int, cols: Int, rowIndex: [Int32], colIndex: [Int32]) {
        self.rows = rows
        self.cols = cols
        // Counting sort by row.
        var counts = [Int](repeating: 0, count: rows + 1)
        for r in rowIndex { counts[Int(r) + 1] += 1 }
        for i in 0..<rows { counts[i + 1] += counts[i] }
        var next = counts
        var sortedCols = [Int32](repeating: 0, count: rowIndex.count)
        for k in 0..<rowIndex.count {
            let r = Int(rowIndex[k])
            sortedCols[next[r]] = colIndex[k]
            next[r] += 1
        }
        // Within each row: sort columns and merge duplicates into counts.
        var start = [Int](repeating: 0, count: rows + 1)
        var cols: [Int32] = []
        var vals: [Double] = []
        cols.reserveCapacity(rowIndex.count)
        vals.reserveCapacity(rowIndex.count)
        for r in 0..<rows {
            start[r] = cols.count
            var row = Array(sortedCols[counts[r]..<counts[r + 1]])
            row.sort()
            var k = 0
            while k < row.count {
                var n = 1
                while k + n < row.count && row[k + n] == row[k] { n += 1 }
                cols.append(row[k])
                vals.append(Double(n))
                k += n
            }
        }
        start[rows] = cols.count
        rowStart = start
        col = cols
        value = vals
    }

    /// Weights for implicit feedback: `log(1 + count) · idf(item)` with
    /// `idf = log(1 + users / users-who-touched-it)`, then every row scaled to unit length, so
    /// heavy users do not dominate and popular items say less about who is alike.
    public mutating func applyTFIDFAndNormalizeRows() {
        var df = [Int](repeating: 0, count: cols)
        for c in col { df[Int(c)] += 1 }
        let idf = df.map { $0 == 0 ? 0 : log1p(Double(rows) / Double($0)) }
        for r in 0..<rows {
            var norm = 0.0
            for k in rowStart[r]..<rowStart[r + 1] {
                let w = log1p(value[k]) * idf[Int(col[k])]
                value[k] = w
                norm += w * w
            }
            let inv = norm > 0 ? 1 / norm.squareRoot() : 0
            for k in rowStart[r]..<rowStart[r + 1] { value[k] *= inv }
        }
    }

    /// `self · x` for dense `x` (cols × l).
    public func times(_ x: DenseMatrix) -> DenseMatrix {
        precondition(x.rows == cols)
        return accumulate(x, into: DenseMatrix(rows: rows, cols: x.cols), transposed: false)
    }

    /// `selfᵀ · y` for dense `y` (rows × l).
    public func transposeTimes(_ y: DenseMatrix) -> DenseMatrix {
        precondition(y.rows == rows)
        return accumulate(y, into: DenseMatrix(rows: cols, cols: y.cols), transposed: true)
    }

    /// For each stored entry a = self[r, c]: out[r] += a · x[c], or (transposed)
    /// out[c] += a · x[r], over rows of length l. One loop for both products.
    private func accumulate(_ x: DenseMatrix, into result: DenseMatrix, transposed: Bool) -> DenseMatrix {
        var out = result
        let l = x.cols
        rowStart.withUnsafeBufferPointer { rs in
            col.withUnsafeBufferPointer { cs in
                value.withUnsafeBufferPointer { vs in
                    x.data.withUnsafeBufferPointer { xp in
                        out.data.withUnsafeMutableBufferPointer { op in
                            for r in 0..<rows {
                                for k in rs[r]..<rs[r + 1] {
                                    let a = vs[k], c = Int(cs[k])
                                    let src = xp.baseAddress! + (transposed ? r : c) * l
                                    let dst = op.baseAddress! + (transposed ? c : r) * l
                                    for j in 0..<l { dst[j] += a * src[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
