// A known linear degradation of an image, y = A(x), with the lift that carries a residual in y's
// space back to an image-space change. The constrained sampler's pixel tasks (super-resolution,
// deblurring, colourisation) are each one such operator: the sampler only ever calls these two.
import FCSTensor

/// A linear operator on `[1, C, H, W]` images in [-1, 1] and its lift.
///
/// The lift L maps a residual r = y − A(x) to the change of x that should remove it. The loop
/// normalises the change, so only its direction matters; any L with A·L positive semi-definite
/// moves towards y. Two choices recur: an approximate right inverse (A·L ≈ I, every component of
/// the residual corrected at the same rate) where A has one cheaply, and the adjoint Aᵀ (the
/// gradient of ½‖y − A(x)‖²) where an inverse would amplify noise.
public protocol LinearImageOperator: Sendable {
    /// The shape of A(x) for an image of `shape`, or nil when A does not take that shape.
    func outputShape(_ shape: [Int]) -> [Int]?
    /// A(x).
    func callAsFunction(_ image: Tensor) -> Tensor
    /// L(r): a residual shaped like A(x) back to the image's shape.
    func lift(_ residual: Tensor) -> Tensor
}
