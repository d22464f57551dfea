// Inpainting large images (design.md "Images of any size"), as inpainting tools do it: crop a
// context window around the hole, shrink it to the model's working size, sample, enlarge the
// result and blend it into the untouched original with the paste-back seam. Only the window is
// sampled, so time and memory depend on the hole, not on the photo's size.
import FCSModels
import FCSTensor

/// The window of a large image that is sampled, and how it is scaled.
struct ContextCrop {
    let left: Int, top: Int, width: Int, height: Int
    /// The window is shrunk by this integer factor (1: sampled at full resolution).
    let factor: Int

    /// A window around the fill pixels' bounding box with a margin of half its size (at least
    /// 32 px), grown towards `contextSize` per side where the image allows, and cut to whole
    /// multiples of the shrink factor so that shrinking and enlarging are exact.
    init?(fill: [Float], height imageHeight: Int, width imageWidth: Int, contextSize: Int) {
        var (x0, y0, x1, y1) = (imageWidth, imageHeight, -1, -1)
        for y in 0..<imageHeight {
            for x in 0..<imageWidth where fill[y * imageWidth + x] != 0 {
                (x0, y0, x1, y1) = (min(x0, x), min(y0, y), max(x1, x), max(y1, y))
            }
        }
        guard x1 >= 0 else { return nil }
        func span(_ low: Int, _ high: Int, size: Int) -> (start: Int, length: Int) {
            let extent = high - low + 1, margin = max(32, extent / 2)
            let length = min(size, max(extent + 2 * margin, contextSize))
            let start = min(max(0, (low + high + 1) / 2 - length / 2), size - length)
            return (start, length)
        }
        let (columns, rows) = (span(x0, x1, size: imageWidth), span(y0, y1, size: imageHeight))
        factor = max(1, (max(columns.length, rows.length) + contextSize - 1) / contextSize)
        (left, width) = (columns.start, columns.length / factor * factor)
        (top, height) = (rows.start, rows.length / factor * factor)
    }

    /// The window of `[1, C, H, W]`.
    func cut(_ image: Tensor) -> Tensor {
        let (channels, fullHeight, fullWidth) = (image.shape[1], image.shape[2], image.shape[3]), source = image.toArray()
        var out = [Float](repeating: 0, count: channels * height * width)
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width { out[(c * height + y) * width + x] = source[(c * fullHeight + top + y) * fullWidth + left + x] }
            }
        }
        return Tensor(shape: [1, channels, height, width], values: out)
    }

    /// `image` with its window replaced by `alpha · window + (1 − alpha) · image`.
    func blend(_ window: Tensor, into image: Tensor, alpha: [Float]) -> Tensor {
        let (channels, fullHeight, fullWidth) = (image.shape[1], image.shape[2], image.shape[3])
        var out = image.toArray()
        let generated = window.toArray()
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let a = alpha[y * width + x], i = (c * fullHeight + top + y) * fullWidth + left + x
                    out[i] = a * generated[(c * height + y) * width + x] + (1 - a) * out[i]
                }
            }
        }
        return Tensor(shape: image.shape, values: out)
    }
}

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
