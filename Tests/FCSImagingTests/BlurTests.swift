import FCSImaging
import FCSTensor
import Foundation
import XCTest

final class BlurTests: XCTestCase {
    private func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = NormalGenerator(seed: seed)
        return generator.tensor(shape, scale: 1)
    }

    private func dot(_ a: Tensor, _ b: Tensor) -> Double {
        zip(a.toArray(), b.toArray()).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// ⟨A x, r⟩ = ⟨x, Aᵀ r⟩ on images smaller than the kernel (the mirroring folds back), for a
    /// Gaussian and for an asymmetric kernel.
    func test_lift_isTheExactAdjoint() throws {
        var kernel = [Float](repeating: 0, count: 5 * 7)
        for (i, v) in [(3, 1.0), (10, 2.0), (17, 3.0), (18, 1.0), (30, 0.5)] as [(Int, Float)] { kernel[i] = v }
        for blur in [try Blur(gaussianSigma: 1.5), try Blur(kernel: kernel, height: 5, width: 7)] {
            let x = random([1, 3, 5, 9], seed: 1), r = random([1, 3, 5, 9], seed: 2)
            let (left, right) = (dot(blur(x), r), dot(x, blur.lift(r)))
            XCTAssertEqual(left, right, accuracy: 1e-4 * abs(left), "⟨Ax, r⟩ \(left), ⟨x, Aᵀr⟩ \(right)")
        }
    }

    /// The separable Gaussian equals the same kernel given whole; a constant image stays constant;
    /// a one-tap kernel is the identity.
    func test_gaussian_isItsOuterProduct_andBlursPreserveConstants() throws {
        let sigma: Float = 1, radius = 4
        let g = (-radius...radius).map { exp(-0.5 * Float($0 * $0) / (sigma * sigma)) }
        let whole = try Blur(kernel: g.flatMap { a in g.map { a * $0 } }, height: 9, width: 9)
        let x = random([1, 3, 12, 10], seed: 3)
        let separable = try Blur(gaussianSigma: sigma)(x).toArray(), direct = whole(x).toArray()
        XCTAssertEqual(zip(separable, direct).map { abs($0 - $1) }.max() ?? .nan, 0, accuracy: 1e-5)
        let constant = Tensor(shape: [1, 3, 6, 6], values: [Float](repeating: 0.25, count: 108))
        XCTAssertTrue(whole(constant).toArray().allSatisfy { abs($0 - 0.25) < 1e-6 })
        XCTAssertEqual(try Blur(kernel: [2], height: 1, width: 1)(x).toArray(), x.toArray())
    }

    /// A horizontal motion kernel moves a point into a line of equal weights: convolution, with
    /// the kernel's centre at its middle tap.
    func test_motionKernel_spreadsAPointAlongItsLine() throws {
        var point = [Float](repeating: 0, count: 9 * 9)
        point[4 * 9 + 4] = 1
        let blurred = try Blur(kernel: [0, 1, 1, 1, 0], height: 1, width: 5)(Tensor(shape: [1, 1, 9, 9], values: point)).toArray()
        let third: Float = 1 / 3, row: [Float] = Array(blurred[(4 * 9 + 2)...(4 * 9 + 6)])
        XCTAssertEqual(row, [0, third, third, third, 0])
        XCTAssertEqual(blurred.reduce(0, +), 1, accuracy: 1e-6)
    }

    func test_badKernels_areErrorsNamingTheProblem() {
        for (kernel, height, width, word) in [([Float](repeating: 1, count: 4), 2, 2, "odd"), ([1, -1, 1], 1, 3, "≥ 0"),
                                               ([0, 0, 0], 1, 3, "every weight is 0"), ([1, .nan, 1], 1, 3, "finite"),
                                               ([1, 1], 1, 3, "weights for")] as [([Float], Int, Int, String)] {
            XCTAssertThrowsError(try Blur(kernel: kernel, height: height, width: width)) {
                XCTAssertTrue("\($0)".contains(word), "\($0)")
            }
        }
        for sigma: Float in [0, -1, .nan, .infinity, 31] { XCTAssertThrowsError(try Blur(gaussianSigma: sigma)) }
    }
}
