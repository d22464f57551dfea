import FCSTensor

/// A task on the decoded image rather than on latents: given the current estimate D(x̂0), the
/// change it should make, in pixels. ``VAENewtonTransport`` carries that change into the latent
/// space the sampler works in, so a pixel task never sees a latent (and runs unchanged on
/// pixel-space models, where the transport is the identity).
public protocol PixelConstraint: Sendable {
    /// The image the constraint is on, `[1, 3, H, W]`.
    var imageShape: [Int] { get }

    /// - Parameter image: D(x̂0), `imageShape`, in [-1, 1] (not clamped).
    /// - Returns: the change `image` should make, shaped like it. Only its direction matters (the
    ///   transport normalises it); all zeros means "satisfied".
    /// - Throws: to stop sampling (a user's constraint that fails or cancels).
    func pixelChange(decoded image: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor
}
