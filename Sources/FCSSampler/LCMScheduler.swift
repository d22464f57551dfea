// Latent consistency models' multistep sampling (Luo et al., arXiv 2310.04378), as diffusers'
// LCMScheduler runs it: the timesteps are picked from the distillation's schedule of
// `original_inference_steps` steps; the model's x̂0 goes through the consistency boundary
// conditions, denoised = c_out·x̂0 + c_skip·x_t with c_skip = σ_d²/((10t)² + σ_d²),
// c_out = 10t/√((10t)² + σ_d²) (σ_d = 0.5, 10 = `timestep_scaling`), and each step but the last
// re-noises the denoised sample to the next level with fresh noise. The inner Newton loop corrects
// this denoised prediction (it is the consistency model's clean-image predictor), and the run's
// result is the last one, as diffusers' LCM pipeline returns it.
import FCSModels
import FCSTensor

public struct LCMScheduler: Scheduler {
    public let schedule: NoiseSchedule
    public let predictionType: PredictionType
    public let originalInferenceSteps: Int
    public let timestepScaling: Double

    public init(schedule: NoiseSchedule = NoiseSchedule(), predictionType: PredictionType = .epsilon,
                originalInferenceSteps: Int = 50, timestepScaling: Double = 10) {
        (self.schedule, self.predictionType) = (schedule, predictionType)
        (self.originalInferenceSteps, self.timestepScaling) = (originalInferenceSteps, timestepScaling)
    }

    /// The scheduler diffusers' `LCMScheduler.from_config` builds from a model's config.
    public init(_ config: SchedulerConfig) throws(FCSError) {
        self.init(schedule: NoiseSchedule(config), predictionType: try PredictionType(config),
                  originalInferenceSteps: config.originalInferenceSteps, timestepScaling: config.timestepScaling)
    }

    /// diffusers' `set_timesteps(steps)`: the distillation's timesteps k·(1 … N) − 1 (k = T // N,
    /// N = original_inference_steps), noisiest first, at indices floor(linspace(0, N, steps,
    /// endpoint=False)); plus one for fcs's t.
    public func timesteps(steps n: Int) throws(FCSError) -> [Int] {
        let original = originalInferenceSteps, k = schedule.alphasCumprod.count / max(originalInferenceSteps, 1)
        guard n >= 1, n <= original, k >= 1 else {
            throw .invalidArgument("LCM takes 1 … \(original) steps (the model's original_inference_steps), not \(n)")
        }
        let distilled = (1...original).reversed().map { $0 * k - 1 }
        return (0..<n).map { distilled[Int((Double($0) * (Double(original) / Double(n))).rounded(.down))] + 1 }
    }

    /// c_skip and c_out at training index `timestep`.
    func boundaryConditionScalings(timestep: Int) -> (skip: Float, out: Float) {
        let sigmaData = 0.5, scaled = Double(timestep) * timestepScaling
        let skip = sigmaData * sigmaData / (scaled * scaled + sigmaData * sigmaData)
        return (Float(skip), Float(scaled / (scaled * scaled + sigmaData * sigmaData).squareRoot()))
    }

    /// The consistency function's output c_out·x̂0 + c_skip·x_t as x̂0; ε as the model gives it.
    public func prediction(sample x: [Float], modelOutput output: [Float], timestep t: Int) -> (x0: [Float], epsilon: [Float]) {
        let (x0, epsilon) = predictionType.convert(sample: x, modelOutput: output, alphaCumprod: schedule.alphasCumprod[t - 1])
        let (skip, out) = boundaryConditionScalings(timestep: t - 1)
        return (zip(x0, x).map { out * $0 + skip * $1 }, epsilon)
    }

    public func makeRun(timesteps: [Int]) -> any SchedulerRun { Run(schedule: schedule, timesteps: timesteps) }

    struct Run: SchedulerRun {
        let schedule: NoiseSchedule
        let timesteps: [Int]

        /// ᾱ of the next timestep; 1 after the last step, which returns the denoised sample.
        func alphaCumprodAfter(index: Int) -> Float {
            index + 1 < timesteps.count ? schedule.alphasCumprod[timesteps[index + 1] - 1] : 1
        }

        func step(index: Int, sample: [Float], x0 denoised: [Float], epsilon: [Float], noise z: [Float]) -> [Float] {
            guard index + 1 < timesteps.count else { return denoised }
            let alphaNext = alphaCumprodAfter(index: index)
            let (signal, noised) = (alphaNext.squareRoot(), (1 - alphaNext).squareRoot())
            return (0..<denoised.count).map { signal * denoised[$0] + noised * z[$0] }
        }
    }
}
