// The replacement method, the baseline fcs's inpainting is measured against (RePaint without
// resampling; Song et al.'s "replacement"): the constrained sampler's loop with no inner
// correction (K = 0), but after each outer step the known region of x_{t_next} is overwritten
// with the known latent noised to that level, x ← M ⊙ (√ᾱ'·z_y + √(1 − ᾱ')·z) + (1 − M) ⊙ x, with
// the step's own z. One forward per step, so an equal budget of forwards means (1 + 2K)× more steps.
import FCSTensor

/// A hook on the outer loop: moves x_{t_next} after each outer step.
public protocol Projection: Sendable {
    /// - Parameters:
    ///   - alphaCumprod: ᾱ of the noise level `sample` is at.
    ///   - noise: the step's fresh z.
    func project(_ sample: inout [Float], alphaCumprod: Float, noise: [Float])
}

public struct ReplacementProjection: Projection {
    let latentMask: [Float], knownLatent: [Float]

    public init(_ constraint: InpaintingConstraint) {
        (latentMask, knownLatent) = (constraint.latentMask.toArray(), constraint.knownLatent.toArray())
    }

    public func project(_ sample: inout [Float], alphaCumprod: Float, noise z: [Float]) {
        let (signal, noised) = (alphaCumprod.squareRoot(), (1 - alphaCumprod).squareRoot())
        for i in sample.indices {
            sample[i] = latentMask[i] * (signal * knownLatent[i] + noised * z[i]) + (1 - latentMask[i]) * sample[i]
        }
    }
}
