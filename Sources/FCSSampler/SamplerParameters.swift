import CFCS
import FCSModels
import FCSTensor

/// The knobs of the constrained sampler (spec §2.1–§2.4), with the official inpainting
/// notebook's values as defaults (Include/fcs.h's FCS_DEFAULT_* macros).
public struct SamplerParameters: Sendable {
    /// How the UNet's timestep and ᾱ's index relate.
    public enum TimestepConvention: Sendable {
        /// The UNet sees the training index i = t − 1 that ᾱ is read at (fcs's default; spec §2.1 note 4).
        case consistent
        /// As the official notebooks: the UNet sees t (1000 … 50) while ᾱ is read at t − 1.
        case official

        /// The convention of C's official_timesteps flag.
        public init(official: Bool) { self = official ? .official : .consistent }
    }

    /// Outer (denoising) steps; the scheduler spaces their timesteps (``Scheduler/timesteps(steps:)``).
    public var steps = Int(FCS_DEFAULT_STEPS)
    /// K, inner inexact-Newton steps per outer step (each costs 2 UNet forwards).
    public var newtonSteps = Int(FCS_DEFAULT_INPAINT_NEWTON_STEPS)
    /// λ_1 … λ_K; the last value repeats if there are fewer than K. nil: `linspace(0.5, 0.1, K)`,
    /// as the official notebooks write it (0.5, 0.4, 0.3, 0.2, 0.1 for K = 5).
    public var learningRates: [Float]?
    /// h: the ∞-norm of the finite-difference perturbation of x_t.
    public var finiteDifferenceStep: Float = FCS_DEFAULT_FD_STEP
    /// w of ε̃ = (1 + w)·ε(c) − w·ε(∅); as in the official code, guidance is on only when w > 1.
    /// A network that takes w as an input (an LCM UNet) gets it with every forward instead.
    public var guidanceScale: Float = FCS_DEFAULT_GUIDANCE_SCALE
    public var timestepConvention = TimestepConvention(official: FCS_DEFAULT_OFFICIAL_TIMESTEPS != 0)
    /// The outer step: the paper's by default.
    public var outerSampler = OuterSampler.headerDefault

    public init() {}

    /// Whether sampling with `denoiser` runs classifier-free guidance (w > 1, and the network does
    /// not take w as an input).
    public func usesClassifierFreeGuidance(_ denoiser: any NoisePredictor) -> Bool { guidanceScale > 1 && !denoiser.embedsGuidance }

    /// λ of inner step `k` (0-based).
    public func learningRate(innerStep k: Int) -> Float {
        if let learningRates, !learningRates.isEmpty { return learningRates[min(k, learningRates.count - 1)] }
        let (first, last) = (Double(FCS_DEFAULT_INPAINT_LEARNING_RATE_FIRST), Double(FCS_DEFAULT_INPAINT_LEARNING_RATE_LAST))
        guard newtonSteps > 1 else { return Float(first) }  // numpy's linspace(first, last, 1) is [first]
        return Float(first + Double(k) * (last - first) / Double(newtonSteps - 1))
    }

    func validate() throws(FCSError) {
        guard steps >= 1, steps <= 1000 else { throw .invalidArgument("steps must be 1 … 1000, not \(steps)") }
        guard newtonSteps >= 0 else { throw .invalidArgument("newton_steps must be ≥ 0, not \(newtonSteps)") }
        guard learningRates.map({ !$0.isEmpty && $0.allSatisfy(\.isFinite) }) ?? true else {
            throw .invalidArgument("learning rates must be finite numbers, one per inner step")
        }
        guard finiteDifferenceStep > 0, finiteDifferenceStep.isFinite else {
            throw .invalidArgument("finite-difference step h must be positive, not \(finiteDifferenceStep)")
        }
        guard guidanceScale.isFinite, guidanceScale >= 0 else { throw .invalidArgument("guidance_scale must be ≥ 0, not \(guidanceScale)") }
    }
}

/// The noise a sampling run consumes: the initial latent x_T and one z per outer step.
///
/// ``seeded(_:shape:steps:)`` draws x_T first, then z_0 … z_{n−1}, from fcs's documented
/// ``NormalGenerator`` (SplitMix64 + Box–Muller); supplying the tensors instead lets another
/// implementation be compared step for step.
public struct SamplerNoise: Sendable {
    public let initialLatent: Tensor
    public let stepNoise: [Tensor]
    /// Where the noise came from (a noise file's path), for error messages.
    public let source: String

    public init(initialLatent: Tensor, stepNoise: [Tensor], source: String = "noise") throws(FCSError) {
        guard stepNoise.allSatisfy({ $0.shape == initialLatent.shape }) else {
            throw .invalidArgument("\(source): every step's noise must have the initial latent's shape \(initialLatent.shape)")
        }
        guard initialLatent.toArray().allSatisfy(\.isFinite), stepNoise.allSatisfy({ $0.toArray().allSatisfy(\.isFinite) }) else {
            throw .invalidArgument("\(source): the noise has NaN or infinite values")
        }
        self.initialLatent = initialLatent
        self.stepNoise = stepNoise
        self.source = source
    }

    /// A noise file: safetensors with `x_T` (`[1, 4, H/8, W/8]` float32) and `z_0` … `z_{n−1}`
    /// (same shape; step 0 is the first, noisiest step).
    public init(contentsOf path: String, steps: Int) throws(FCSError) {
        guard steps >= 0 else { throw .invalidArgument("\(path): a noise file for \(steps) steps: steps must be ≥ 0") }
        let file = try SafeTensorsFile(path: path)
        guard file.contains("x_T") else { throw .format("\(path): a noise file needs a tensor x_T") }
        var stepNoise: [Tensor] = []
        for i in 0..<steps {
            guard file.contains("z_\(i)") else { throw .format("\(path): no z_\(i) for step \(i) of \(steps)") }
            stepNoise.append(try file.tensor("z_\(i)"))
        }
        try self.init(initialLatent: try file.tensor("x_T"), stepNoise: stepNoise, source: path)
    }

    public static func seeded(_ seed: UInt64, shape: [Int], steps: Int) -> SamplerNoise {
        var generator = NormalGenerator(seed: seed)
        let initial = generator.tensor(shape)
        return SamplerNoise(unchecked: initial, (0..<steps).map { _ in generator.tensor(shape) })
    }

    private init(unchecked initial: Tensor, _ steps: [Tensor]) {
        initialLatent = initial
        stepNoise = steps
        source = "noise"
    }

    /// Throws unless the noise fits a run over latents of `shape` with `steps` outer steps.
    func check(shape: [Int], steps: Int) throws(FCSError) {
        guard initialLatent.shape == shape else {
            throw .invalidArgument("\(source): x_T is \(initialLatent.shape), but this request samples latents of \(shape)")
        }
        guard stepNoise.count >= steps else {
            throw .invalidArgument("\(source): \(stepNoise.count) step noise tensors for \(steps) steps")
        }
    }
}
