// Colourisation end to end: y = the luminance of x (``Luminance``, lifted by a grey change), a
// pixel task like any other, and the result's luminance then set to the input's exactly (as
// inpainting pastes its known pixels back): the sampler's own fit is only as close as its last
// inner step.
import FCSImaging
import FCSTensor

extension DiffusionModel {
    /// Colours a grey image.
    /// - Parameters:
    ///   - image: `[1, 1, H, W]` (the luminance) or `[1, 3, H, W]` (its luminance is used), in
    ///     [-1, 1], any size.
    /// - Returns: `[1, 3, H, W]` in [-1, 1], whose luminance is the input's (where it is in [-1, 1]).
    public func colorize(image: Tensor, parameters: PixelTaskParameters = PixelTaskParameters(), noise: SamplerNoise? = nil,
                         progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        guard image.rank == 4, image.shape[0] == 1, [1, 3].contains(image.shape[1]) else {
            throw .invalidArgument("colourisation: image must be [1, 1, H, W] or [1, 3, H, W], not \(image.shape)")
        }
        let luminance = Luminance(), y = image.shape[1] == 1 ? image : luminance(image)
        let constraint = try LinearOperatorConstraint(measurement: y, imageOperator: luminance,
                                                      imageShape: [1, 3, image.shape[2], image.shape[3]])
        return luminance.replacing(luminanceOf: try solve(constraint, parameters: parameters, noise: noise, progress: progress), with: y)
    }
}
