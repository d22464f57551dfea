// Images of any size (design.md): SD 1.x needs sides that are multiples of 64 px (8 px per
// latent cell × 3 halvings in the UNet). Pad by reflection up to the next multiple, sample, and
// crop the result back, as stable-diffusion.cpp and the diffusers pipelines' users do by hand.
import FCSTensor

/// Reflect-padding of NCHW tensors on the bottom and right edges, and the crop that undoes it.
public struct ImagePadding: Sendable {
    public let height: Int, width: Int
    public let paddedHeight: Int, paddedWidth: Int

    /// - Parameter multiple: the padded sides are the smallest multiples of it that hold the image.
    public init(height: Int, width: Int, multiple: Int) {
        (self.height, self.width) = (height, width)
        paddedHeight = (height + multiple - 1) / multiple * multiple
        paddedWidth = (width + multiple - 1) / multiple * multiple
    }

    public var isNeeded: Bool { paddedHeight != height || paddedWidth != width }

    /// `[N, C, height, width]` → `[N, C, paddedHeight, paddedWidth]`, mirrored without repeating
    /// the edge (PyTorch's "reflect"), folding back and forth when the padding is wider than the image.
    public func pad(_ tensor: Tensor) -> Tensor {
        let (planes, source) = (tensor.shape[0] * tensor.shape[1], tensor.toArray())
        var out = [Float](repeating: 0, count: planes * paddedHeight * paddedWidth)
        for p in 0..<planes {
            for y in 0..<paddedHeight {
                let sy = Self.reflect(y, size: height)
                for x in 0..<paddedWidth {
                    out[(p * paddedHeight + y) * paddedWidth + x] = source[(p * height + sy) * width + Self.reflect(x, size: width)]
                }
            }
        }
        return Tensor(shape: [tensor.shape[0], tensor.shape[1], paddedHeight, paddedWidth], values: out)
    }

    /// The top-left `height × width` of a padded result (`scale` for outputs larger than the input).
    public func crop(_ tensor: Tensor, scale: Int = 1) -> Tensor {
        let (h, w, fullWidth) = (height * scale, width * scale, tensor.shape[3])
        let planes = tensor.shape[0] * tensor.shape[1], fullHeight = tensor.shape[2], source = tensor.toArray()
        var out = [Float](repeating: 0, count: planes * h * w)
        for p in 0..<planes {
            for y in 0..<h {
                for x in 0..<w { out[(p * h + y) * w + x] = source[(p * fullHeight + y) * fullWidth + x] }
            }
        }
        return Tensor(shape: [tensor.shape[0], tensor.shape[1], h, w], values: out)
    }

    static func reflect(_ index: Int, size: Int) -> Int {
        guard size > 1 else { return 0 }
        let period = 2 * (size - 1), folded = index % period
        return folded < size ? folded : period - folded
    }
}
