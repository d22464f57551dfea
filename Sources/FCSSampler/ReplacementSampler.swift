// The replacement method, the baseline fcs's inpainting is measured against (RePaint without
// resampling; Song et al.'s "replacement"): the same outer DDIM-like steps with no inner
// correction, but after each step the known region of x_{t−1} is overwritten with the known
// latent noised to that level: x_{t−1} ← M ⊙ (√ᾱ_{t−1}·z_y + √(1 − ᾱ_{t−1})·z) + (1 − M) ⊙ x_{t−1}.
// One UNet forward per step, so an equal budget of forwards means (1 + 2K)× more steps.
import FCSModels
import FCSTensor

public struct ReplacementSampler: Sendable {
    public let unet: any NoisePredictor
    public let schedule: NoiseSchedule

    public init(unet: any NoisePredictor, schedule: NoiseSchedule = NoiseSchedule()) {
        self.unet = unet
        self.schedule = schedule
    }

    /// - Returns: x̂0 of the last step, like ``ConstrainedSampler/sample(constraint:conditioning:unconditional:noise:parameters:progress:)``
    ///   (guidance and inner-step settings in `parameters` are not used).
    public func sample(constraint: InpaintingConstraint, conditioning: Tensor?, noise: SamplerNoise, parameters: SamplerParameters,
                       progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        try parameters.validate()
        let timesteps = parameters.timesteps, shape = constraint.latentShape
        try noise.check(shape: shape, steps: timesteps.count)
        let count = noise.initialLatent.count
        let mask = constraint.latentMask.toArray(), known = constraint.knownLatent.toArray()
        let arena = ScratchArena()
        var x = noise.initialLatent.toArray(), x0 = [Float](repeating: 0, count: count)
        for step in timesteps.indices {
            let outer = OuterStep(step: step, timesteps: timesteps, schedule: schedule, convention: parameters.timestepConvention)
            try proceed(progress, step: step, of: timesteps.count)
            let epsilon = arena.scope {
                unet.predictNoise(Tensor(shape: shape, values: x), timestep: outer.unetTimestep, conditioning: conditioning, in: arena).toArray()
            }
            outer.predictClean(x, epsilon: epsilon, into: &x0)
            try requireFinite(x0, step: step)
            let z = noise.stepNoise[step].toArray()
            let (cx0, ceps, cz) = outer.updateCoefficients
            let noised = (1 - outer.alphaPrevious).squareRoot()
            for i in 0..<count {
                let stepped = cx0 * x0[i] + ceps * epsilon[i] + cz * z[i]
                x[i] = mask[i] * (cx0 * known[i] + noised * z[i]) + (1 - mask[i]) * stepped
            }
            try proceed(progress, step: step + 1, of: timesteps.count)
        }
        return Tensor(shape: shape, values: x0)
    }
}
