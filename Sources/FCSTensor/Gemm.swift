import COpenBLAS

/// Row-major single-precision GEMM on OpenBLAS, split across ``ComputeThreads``.
///
/// `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`. The larger of the two output
/// dimensions is cut into `ComputeThreads.count` parts (multiples of 16 so each part keeps full
/// micro-tiles), and each part is one single-threaded OpenBLAS call.
enum Gemm {
    static func multiply(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        // Below ~1 MFLOP a second thread costs more than it saves.
        let parallel = ComputeThreads.count > 1 && m * n * k >= 1 << 19
        let splitN = n >= m
        let units = ((splitN ? n : m) + 15) / 16
        let parts = parallel ? min(ComputeThreads.count, units) : 1
        ComputeThreads.run(maxParts: parts) { part, parts in
            let unitRange = ComputeThreads.partRange(units, part: part, parts: parts)
            let total = splitN ? n : m
            let start = unitRange.lowerBound * 16, end = min(unitRange.upperBound * 16, total)
            guard start < end else { return }
            if splitN {
                call(transposeA, transposeB, m, end - start, k, alpha, a, lda,
                     b + (transposeB ? start * ldb : start), ldb, beta, c + start, ldc)
            } else {
                call(transposeA, transposeB, end - start, n, k, alpha,
                     a + (transposeA ? start : start * lda), lda, b, ldb, beta, c + start * ldc, ldc)
            }
        }
    }

    /// OpenBLAS on the current thread (for callers that already run in parallel). `m` and `n`
    /// (rows and pixels: they grow with the image) go to OpenBLAS in pieces its 32-bit indices
    /// can hold; each output is summed in the same order whatever the pieces.
    /// - Precondition: `k` and the leading dimensions fit 32 bits. They are channel and feature
    ///   widths, fixed by the weights: only a weight tensor of 2^31 elements or more reaches this.
    static func call(
        _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, piece: Int = Int(Int32.max)
    ) {
        precondition(max(k, lda, ldb, ldc) <= Int(Int32.max), "GEMM: k or a leading dimension exceeds OpenBLAS's 32-bit index")
        for row in stride(from: 0, to: m, by: piece) {
            for column in stride(from: 0, to: n, by: piece) {
                let rows = min(piece, m - row), columns = min(piece, n - column)
                cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            blasint(rows), blasint(columns), blasint(k), alpha, a + (transposeA ? row : row * lda), blasint(lda),
                            b + (transposeB ? column * ldb : column), blasint(ldb), beta, c + row * ldc + column, blasint(ldc))
            }
        }
    }
}
