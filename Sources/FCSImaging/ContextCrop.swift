// Large images (design.md "Images of any size"), as inpainting tools do it: the window around a
// hole that is sampled instead of the whole image — cut out, and blended back into the original.
import FCSTensor

/// The window of a large image that is sampled, and how it is scaled.
public struct ContextCrop: Sendable {
    public let left: Int, top: Int, width: Int, height: Int
    /// The window is shrunk by this integer factor (1: sampled at full resolution).
    public let factor: Int

    /// A window around the fill pixels' bounding box with a margin of half its size (at least
    /// 32 px), grown towards `contextSize` per side where the image allows, and cut to whole
    /// multiples of the shrink factor so that shrinking and enlarging are exact.
    public init?(fill: [Float], height imageHeight: Int, width imageWidth: Int, contextSize: Int) {
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
    public func cut(_ image: Tensor) -> Tensor {
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
    public func blend(_ window: Tensor, into image: Tensor, alpha: [Float]) -> Tensor {
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
