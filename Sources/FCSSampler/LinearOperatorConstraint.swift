import FCSImaging
import FCSTensor

/// y = A(x) for a known linear degradation A (``LinearImageOperator``): the change D(x̂0) should
/// make is the operator's lift of the residual, L(y − A(D(x̂0))). Super-resolution, deblurring
/// and colourisation are this constraint with A = the bicubic downsampler, a blur and luminance.
public struct LinearOperatorConstraint: PixelConstraint {
    /// y, shaped like A(x).
    public let measurement: Tensor
    public let imageOperator: any LinearImageOperator
    public let imageShape: [Int]

    /// - Throws: `.invalidArgument` when `imageOperator` does not map `imageShape` to
    ///   `measurement`'s shape, or `measurement` is not finite.
    public init(measurement: Tensor, imageOperator: any LinearImageOperator, imageShape: [Int]) throws(FCSError) {
        guard let expected = imageOperator.outputShape(imageShape), expected == measurement.shape else {
            throw .invalidArgument("constraint: the operator does not map \(imageShape) to the measurement's \(measurement.shape)")
        }
        guard measurement.toArray().allSatisfy(\.isFinite) else { throw .invalidArgument("constraint: image contains NaN or infinity") }
        (self.measurement, self.imageOperator, self.imageShape) = (measurement, imageOperator, imageShape)
    }

    /// y − A(image).
    public func residual(_ image: Tensor) -> Tensor {
        Tensor(shape: measurement.shape, values: zip(measurement.toArray(), imageOperator(image).toArray()).map { $0 - $1 })
    }

    /// ‖y − A(image)‖₂.
    public func residualNorm(_ image: Tensor) -> Float {
        residual(image).toArray().map { $0 * $0 }.reduce(0, +).squareRoot()
    }

    public func pixelChange(decoded image: Tensor, in arena: ScratchArena) -> Tensor {
        imageOperator.lift(residual(image))
    }
}
