// Inpainting large images (design.md "Images of any size"), as inpainting tools do it: crop a
// context window around the hole, shrink it to the model's working size, sample, enlarge the
// result and blend it into the untouched original with the paste-back seam. Only the window is
// sampled, so time and memory depend on the hole, not on the photo's size.
import FCSImaging
import FCSModels
import FCSTensor

extension DiffusionModel {
    /// Inpaints the context window of a large image (see the file comment).
    /// - Parameter noise: noise for the (shrunk, padded) window's latents, or nil for the seed's.
    func inpaintThroughContextCrop(_ crop: ContextCrop, image: Tensor, fillMask: Tensor, parameters: InpaintingParameters,
                                   noise: SamplerNoise?, progress: (Int, Int) -> Bool) throws(FCSError) -> Tensor {
        var inner = parameters
        inner.contextCropAbove = 0
        let (window, windowMask) = (crop.cut(image), crop.cut(fillMask))
        var sampled: Tensor
        if crop.factor == 1 {
            sampled = try inpaint(image: window, fillMask: windowMask, parameters: inner, noise: noise, progress: progress)
        } else {
            let shrink = try BicubicResizer(scale: 1 / Double(crop.factor)), enlarge = try BicubicResizer(scale: Double(crop.factor))
            // a shrunk cell is filled when any pixel it covers is: the hole never shrinks away
            let small = Tensor(shape: [1, 1, crop.height / crop.factor, crop.width / crop.factor],
                               values: shrink(windowMask).toArray().map { $0 > 1e-3 ? 1 : 0 })
            inner.pasteBack = false
            let filled = try inpaint(image: shrink(window), fillMask: small, parameters: inner, noise: noise, progress: progress)
            sampled = Tensor(shape: window.shape, values: enlarge(filled).toArray().map { min(1, max(-1, $0)) })
        }
        let alpha = seamAlpha(windowMask.toArray(), height: crop.height, width: crop.width, radius: max(1, parameters.seamWidth / 2))
        return crop.blend(sampled, into: image, alpha: alpha)
    }
}
