import FCSTensor

/// A task for the constrained sampler: how far the current clean-latent prediction x̂0 is from
/// satisfying it, as a direction in latent space. (Tasks on the decoded image are written as a
/// ``PixelConstraint`` instead, and carried here by ``VAENewtonTransport``.)
///
/// The inner loop knows nothing about tasks: it moves x_t along J·e (spec §2.1), where e is what
/// ``errorDirection(predictedClean:in:)`` returns — the change x̂0 should make (e.g. known latent
/// minus predicted latent). Its scale does not matter: the loop normalises it.
public protocol Constraint: Sendable {
    /// The shape of the latents the constraint is defined on, `[1, C, h, w]`: the sampler's noise
    /// must have it.
    var latentShape: [Int] { get }

    /// - Parameter predictedClean: x̂0, `[1, 4, h, w]` (scaled latents, as the UNet sees them).
    /// - Returns: e, shaped like x̂0, in `arena`.
    /// - Throws: to stop sampling; the sampler passes the error on.
    func errorDirection(predictedClean: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor
}
