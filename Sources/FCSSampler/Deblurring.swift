// Deblurring end to end: y = k ∗ x (``Blur``, lifted by its adjoint), a pixel task like any other.
import FCSImaging
import FCSTensor

extension DiffusionModel {
    /// Removes a known blur from `image`.
    /// - Parameters:
    ///   - image: the blurred image y, `[1, 3, H, W]` in [-1, 1], any size.
    ///   - blur: its point-spread function.
    /// - Returns: `[1, 3, H, W]` in [-1, 1].
    public func deblur(image: Tensor, blur: Blur, parameters: PixelTaskParameters = PixelTaskParameters(), noise: SamplerNoise? = nil,
                       progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw .invalidArgument("deblurring: image must be [1, 3, H, W], not \(image.shape)")
        }
        let constraint = try LinearOperatorConstraint(measurement: image, imageOperator: blur, imageShape: image.shape)
        return try solve(constraint, parameters: parameters, noise: noise, progress: progress)
    }
}
