// Fast constrained sampling (Graikos, Jojic & Samaras, arXiv 2410.18804), spec §2.1 — the loop
// of the official notebooks (cvlab-stonybrook/fast-constrained-sampling, stable-diffusion/
// inpaint.ipynb).
//
// Notation: x = x_t (noisy latent), ε̃ = guided noise prediction, x̂0 = x/√ᾱ − ε̃·√((1−ᾱ)/ᾱ),
// e = the constraint's error direction, J·e ≈ (x̂0(x + δe) − x̂0(x))/δ with δ = h/‖e‖∞.
import FCSModels
import FCSTensor

/// Runs the constrained sampler over a denoiser for any ``Constraint``, with any outer
/// ``Scheduler`` (the paper's DDIM-like step by default).
public struct ConstrainedSampler: Sendable {
    public let unet: any NoisePredictor
    public let scheduler: any Scheduler
    /// Applied to x after every outer step (the replacement baseline); nil for the paper's method.
    public let projection: (any Projection)?

    public init(unet: any NoisePredictor, scheduler: any Scheduler = PaperDDIMScheduler(), projection: (any Projection)? = nil) {
        self.unet = unet
        self.scheduler = scheduler
        self.projection = projection
    }

    /// - Parameters:
    ///   - conditioning: the prompt's conditioning (text states `[1, 77, d]`, …); nil for an
    ///     unconditional (pixel-space) denoiser.
    ///   - unconditional: the conditioning of "", needed when guidance is on.
    ///   - noise: x_T and one z per outer step, shaped like `constraint.latentShape`.
    ///   - progress: called with (completed outer steps, steps) before every network evaluation
    ///     and after each outer step, so values repeat; return false to cancel before the next one.
    /// - Returns: x̂0 of the last step (spec §2.1 note 6), `[1, 4, h, w]`, scaled latents.
    /// - Throws: `.invalidArgument` for bad parameters or noise, `.format` when the denoiser's
    ///   output is not finite (corrupt weights), `.cancelled` when `progress` says so.
    public func sample(constraint: Constraint, conditioning: Conditioning?, unconditional: Conditioning? = nil,
                       noise: SamplerNoise, parameters: SamplerParameters,
                       progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        try parameters.validate()
        let timesteps = try scheduler.timesteps(steps: parameters.steps), shape = constraint.latentShape
        try noise.check(shape: shape, steps: timesteps.count)
        // classifier-free guidance, unless the network takes w itself (LCM: always, as diffusers' pipeline passes it)
        let guided = parameters.usesClassifierFreeGuidance(unet), embeddedWeight = unet.embedsGuidance ? parameters.guidanceScale : nil
        guard !guided || (unconditional != nil && conditioning != nil) else {
            throw .invalidArgument("guidance needs a text-conditioned model and the unconditional text states")
        }
        let arena = ScratchArena()
        // Each J·e is the difference of a forward at x and one at x + δe: the second replays the
        // first's bf16 linear operations as differences (DifferenceTape), so bf16 rounding does not
        // swamp it. Layers in other precisions ignore the tape.
        let tape = DifferenceTape()
        let count = noise.initialLatent.count
        var x = noise.initialLatent.toArray()
        var x0 = [Float](repeating: 0, count: count), epsilon = x0
        var run = scheduler.makeRun(timesteps: timesteps)

        for step in timesteps.indices {
            let t = timesteps[step]
            // The UNet sees the training index t − 1 at which ᾱ is read (ours), or t as the notebooks do.
            let unetTimestep = Float(parameters.timestepConvention == .consistent ? t - 1 : t)
            // x̂0 and ε̃ at a latent: recorded as the base of the next J·e, or replaying the last
            // recording as the perturbed side of one
            func predict(_ latent: [Float], perturbing: Bool = false) throws(FCSError) -> (x0: [Float], epsilon: [Float]) {
                try proceed(progress, step: step, of: timesteps.count)
                if perturbing { tape.beginReplay() } else { tape.beginRecording() }
                arena.differenceTape = tape
                defer { arena.differenceTape = nil }  // the constraint's own networks run without it
                return arena.scope {
                    let output = guidedOutput(latent, shape: shape, timestep: unetTimestep, conditioning: conditioning, unconditional: unconditional,
                                              weight: guided ? parameters.guidanceScale : nil, embeddedWeight: embeddedWeight, arena: arena)
                    return scheduler.prediction(sample: latent, modelOutput: output, timestep: t)
                }
            }
            (x0, epsilon) = try predict(x)
            for k in 0..<parameters.newtonSteps {
                try proceed(progress, step: step, of: timesteps.count)  // the constraint may run networks too (super-resolution's VAE passes)
                let e = arena.scope {
                    constraint.errorDirection(predictedClean: Tensor(shape: shape, values: x0), in: arena).toArray()
                }
                let eMax = e.map(abs).max() ?? 0
                guard eMax > 0, eMax.isFinite else { break }  // constraint met (or broken): nothing to correct
                let delta = parameters.finiteDifferenceStep / eMax
                let perturbed = try predict(zip(x, e).map { $0 + delta * $1 }, perturbing: true).x0
                var v = zip(perturbed, x0).map { ($0 - $1) / delta }  // ≈ J·e
                let vMax = v.map(abs).max() ?? 0
                guard vMax > 0, vMax.isFinite else { break }
                v = v.map { $0 / vMax }
                let rate = parameters.learningRate(innerStep: k)
                x = zip(x, v).map { $0 + rate * $1 }
                (x0, epsilon) = try predict(x)
            }
            try requireFinite(x0, step: step)
            let z = noise.stepNoise[step].toArray()
            x = run.step(index: step, sample: x, x0: x0, epsilon: epsilon, noise: z)
            projection?.project(&x, alphaCumprod: run.alphaCumprodAfter(index: step), noise: z)
            try proceed(progress, step: step + 1, of: timesteps.count)
        }
        return Tensor(shape: shape, values: x0)
    }

    /// The guided model output ε̃: the conditional prediction, or (1 + w)·ε(c) − w·ε(∅) in one
    /// batch of 2 when guided (spec §2.4; for v-prediction the same combination of v).
    private func guidedOutput(_ latent: [Float], shape: [Int], timestep: Float, conditioning: Conditioning?, unconditional: Conditioning?,
                               weight: Float?, embeddedWeight: Float?, arena: ScratchArena) -> [Float] {
        guard let weight, let unconditional, let conditioning else {
            return unet.predictNoise(Tensor(shape: shape, values: latent), timestep: timestep, conditioning: conditioning,
                                     guidanceWeight: embeddedWeight, in: arena).toArray()
        }
        let batch = Tensor(shape: [2] + shape.dropFirst(), values: latent + latent)
        let out = unet.predictNoise(batch, timestep: timestep, conditioning: conditioning.guidanceBatch(unconditional: unconditional, in: arena),
                                    in: arena).toArray()
        let half = latent.count
        return (0..<half).map { (1 + weight) * out[half + $0] - weight * out[$0] }
    }
}

/// Throws when the denoiser's prediction has NaN or infinite values: a model with corrupt
/// weights must end in an error, not in an image of garbage (or a trap converting it).
func requireFinite(_ x0: [Float], step: Int) throws(FCSError) {
    guard x0.allSatisfy(\.isFinite) else {
        throw .format("the model's prediction is not finite (NaN or infinity) at step \(step + 1): its weights may be corrupt")
    }
}
