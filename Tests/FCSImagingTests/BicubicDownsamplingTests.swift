import FCSImaging
import FCSTensor
import XCTest

final class BicubicDownsamplingTests: XCTestCase {
    /// A and its lift are super-resolution's resizers; the lift nearly inverts A on the low image.
    func test_operator_isTheResizer_andItsLiftNearlyInvertsIt() throws {
        var random = NormalGenerator(seed: 7)
        let low = random.tensor([1, 3, 8, 8], scale: 0.3), operation = try BicubicDownsampling(factor: 4)
        XCTAssertEqual(operation.outputShape([1, 3, 32, 32]), [1, 3, 8, 8])
        XCTAssertNil(operation.outputShape([1, 3, 30, 32]))
        let lifted = operation.lift(low)
        XCTAssertEqual(lifted.toArray(), try BicubicResizer(scale: 4)(low).toArray())
        func norm(_ values: [Float]) -> Float { values.map { $0 * $0 }.reduce(0, +).squareRoot() }
        let error = norm(zip(operation(lifted).toArray(), low.toArray()).map { $0 - $1 })
        XCTAssertLessThan(error, 0.5 * norm(low.toArray()), "A·U ≈ I even on noise: ‖AU y − y‖ = \(error)")
        XCTAssertThrowsError(try BicubicDownsampling(factor: 0))
    }
}
