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
        let timesteps = parameters.timesteps, stride = 1000 / parameters.steps
        guard noise.stepNoise.count >= timesteps.count else {
            throw .invalidArgument("noise has \(noise.stepNoise.count) step tensors for \(timesteps.count) steps")
        }
        let shape = noise.initialLatent.shape, count = noise.initialLatent.count
        let mask = constraint.latentMask.toArray(), known = constraint.knownLatent.toArray()
        let arena = ScratchArena()
        var x = noise.initialLatent.toArray(), x0 = [Float](repeating: 0, count: count)
        for (step, t) in timesteps.enumerated() {
            let alpha = schedule.alphasCumprod[t - 1]
            let alphaPrevious = schedule.alphasCumprod[max(t - 1 - stride, 1)]
            let betaTilde = schedule.betas[t - 1] * (1 - alphaPrevious) / (1 - alpha)
            let unetTimestep = Float(parameters.timestepConvention == .consistent ? t - 1 : t)
            let epsilon = arena.scope {
                unet.predictNoise(Tensor(shape: shape, values: x), timestep: unetTimestep, conditioning: conditioning, in: arena).toArray()
            }
            let (a, b) = (1 / alpha.squareRoot(), ((1 - alpha) / alpha).squareRoot())
            for i in 0..<count { x0[i] = a * x[i] - b * epsilon[i] }
            let z = noise.stepNoise[step].toArray()
            let (cx0, ceps, cz) = (alphaPrevious.squareRoot(), max(0, 1 - alphaPrevious - betaTilde).squareRoot(), betaTilde.squareRoot())
            let noised = (1 - alphaPrevious).squareRoot()
            for i in 0..<count {
                let stepped = cx0 * x0[i] + ceps * epsilon[i] + cz * z[i]
                x[i] = mask[i] * (cx0 * known[i] + noised * z[i]) + (1 - mask[i]) * stepped
            }
            guard progress(step + 1, timesteps.count) else { throw FCSError(.cancelled, "sampling cancelled at step \(step + 1)") }
        }
        return Tensor(shape: shape, values: x0)
    }
}
