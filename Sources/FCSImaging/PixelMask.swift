// Inpainting's operator in pixels: y = m ⊙ x, the known pixels. fcs's inpainting constrains the
// encoded known pixels in latent space instead (spec §3.2: no decoder in the loop), but the same
// task is a linear operator like any other, and runs through the pixel-space path as one.
import FCSTensor

/// A = m ⊙ x with a `[1, 1, H, W]` mask (1 = known), L = the identity (A is a projection, so
/// A·L = A: the known pixels are corrected, the others left to the prior).
public struct PixelMask: LinearImageOperator {
    public let knownMask: Tensor

    /// - Parameter knownMask: `[1, 1, H, W]`, 1 = a known pixel, 0 = one to fill.
    public init(knownMask: Tensor) throws(FCSError) {
        guard knownMask.rank == 4, knownMask.shape[0] == 1, knownMask.shape[1] == 1 else {
            throw .invalidArgument("pixel mask must be [1, 1, H, W], not \(knownMask.shape)")
        }
        guard knownMask.toArray().allSatisfy({ $0 == 0 || $0 == 1 }) else { throw .invalidArgument("pixel mask values must be 0 or 1") }
        self.knownMask = knownMask
    }

    public func outputShape(_ shape: [Int]) -> [Int]? {
        shape.count == 4 && shape[0] == 1 && shape[2...] == knownMask.shape[2...] ? shape : nil
    }

    public func callAsFunction(_ image: Tensor) -> Tensor {
        let plane = knownMask.count, mask = knownMask.toArray()
        return Tensor(shape: image.shape, values: image.toArray().enumerated().map { $0.element * mask[$0.offset % plane] })
    }

    public func lift(_ residual: Tensor) -> Tensor { residual }
}
