@testable import FCSTensor
import XCTest

/// GEMMs larger than OpenBLAS's 32-bit indices go to it in pieces; the pieces give the one-call
/// result to rounding (OpenBLAS picks its kernels by size, and a few sum in another order).
/// A 2^31-row operand does not fit a test machine, so the piece is lowered instead.
final class GemmPieceTests: XCTestCase {
    func test_gemmInPieces_equalsOneCall() {
        var random = NormalGenerator(seed: 11)
        let (m, n, k) = (37, 29, 19)
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = random.tensor([m * k]), b = random.tensor([k * n]), c0 = random.tensor([m * n])
            let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
            let whole = Tensor(shape: [m * n], values: c0.toArray()), pieces = Tensor(shape: [m * n], values: c0.toArray())
            Gemm.call(transposeA, transposeB, m, n, k, 0.5, a.data, lda, b.data, ldb, 0.25, whole.data, n)
            Gemm.call(transposeA, transposeB, m, n, k, 0.5, a.data, lda, b.data, ldb, 0.25, pieces.data, n, piece: 8)
            let error = zip(pieces.toArray(), whole.toArray()).map { abs($0 - $1) / max(abs($1), 1) }.max() ?? .nan
            XCTAssertLessThanOrEqual(error, 1e-6, "transposeA \(transposeA), transposeB \(transposeB)")
        }
    }
}
