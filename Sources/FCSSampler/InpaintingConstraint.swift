// Inpainting as a latent-space constraint, spec §3.2 (official stable-diffusion/inpaint.ipynb):
// a latent cell is constrained only if its whole 8×8 pixel block is known; the constraint latent
// is the VAE posterior mean of the masked image (unknown pixels set to 0, mid-grey), scaled;
// e = M ⊙ (z_y − x̂0).
import FCSModels
import FCSTensor

public struct InpaintingConstraint: Constraint {
    /// M, `[1, 4, h, w]`: 1 where the latent cell's whole pixel block is known.
    public let latentMask: Tensor
    /// z_y = scaling_factor · E(x ⊙ m).mean, `[1, 4, h, w]`.
    public let knownLatent: Tensor

    /// - Parameters:
    ///   - image: `[1, 3, H, W]` in [-1, 1]; H and W multiples of the codec's factor (8 for SD's VAE).
    ///   - fillMask: `[1, 1, H, W]`, non-zero = pixels to fill (diffusers' convention; the
    ///     paper's code has known = 1, so it is inverted here).
    ///   - shouldContinue: asked before each piece of the encoder's work; false cancels.
    public init(image: Tensor, fillMask: Tensor, codec: any LatentCodec, shouldContinue: () -> Bool = { true }) throws(FCSError) {
        let factor = codec.downsamplingFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw .invalidArgument("inpainting: image must be [1, 3, H, W], not \(image.shape)")
        }
        let (height, width) = (image.shape[2], image.shape[3])
        guard fillMask.shape == [1, 1, height, width] else {
            throw .invalidArgument("inpainting: mask is \(fillMask.shape), the image needs [1, 1, \(height), \(width)]")
        }
        guard height % factor == 0, width % factor == 0, height >= factor, width >= factor else {
            throw .invalidArgument("inpainting: image sides must be positive multiples of \(factor), not \(width)×\(height)")
        }
        let pixels = image.toArray(), fill = fillMask.toArray()
        guard pixels.allSatisfy(\.isFinite), fill.allSatisfy(\.isFinite) else {
            throw .invalidArgument("inpainting: image or mask contains NaN or infinity")
        }
        // masked image: unknown pixels 0 (mid-grey)
        let plane = height * width
        var masked = pixels
        for c in 0..<3 { for i in 0..<plane where fill[i] != 0 { masked[c * plane + i] = 0 } }
        let arena = ScratchArena()
        let mean = try codec.encodeMean(Tensor(shape: image.shape, values: masked), in: arena, shouldContinue: shouldContinue)
        let latentChannels = mean.shape[1], (h, w) = (height / factor, width / factor)
        knownLatent = Tensor(shape: mean.shape, values: mean.toArray().map { $0 * codec.scalingFactor })
        var cells = [Float](repeating: 0, count: latentChannels * h * w)
        for y in 0..<h {
            for x in 0..<w {
                var known = true
                for dy in 0..<factor where known {
                    for dx in 0..<factor where fill[(y * factor + dy) * width + x * factor + dx] != 0 { known = false }
                }
                if known { for c in 0..<latentChannels { cells[(c * h + y) * w + x] = 1 } }
            }
        }
        latentMask = Tensor(shape: mean.shape, values: cells)
    }

    public var latentShape: [Int] { knownLatent.shape }

    public func errorDirection(predictedClean x0: Tensor, in arena: ScratchArena) -> Tensor {
        let e = arena.tensor(x0.shape)
        for i in 0..<x0.count { e.data[i] = latentMask.data[i] * (knownLatent.data[i] - x0.data[i]) }
        return e
    }
}
